// Package regrow turns the weight-stripped SmolVLM-256M skeleton
// (smolvlm-256m-skeleton.tar.xz in the shared fixtures) back into a
// full-size model for benchmarks: the real configs, tokenizer and graphs, and
// in place of each stripped initializer random values of its recorded data
// type, dims, mean and standard deviation. The files reach the sizes that
// stripped.json records, so load times, memory and run times are those of the
// real model; the answers are noise.
//
// ONNX files are edited at the protobuf wire level, as package onnxedit does:
// the graph (ModelProto field 7) gets one initializer (GraphProto field 5) per
// stripped tensor appended, and its length is re-encoded. Every size is
// computed before a byte is written, so the raw data is generated a chunk at
// a time and streamed to disk; a model file is never held in memory.
package regrow

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/x448/float16"
)

// manifestName is the skeleton's record of what was stripped.
const manifestName = "stripped.json"

// fileEntry is one ONNX file of stripped.json.
type fileEntry struct {
	Size     int64    `json:"size"` // bytes of the original file
	Stripped []tensor `json:"stripped"`
}

// tensor is one stripped initializer.
type tensor struct {
	Name     string  `json:"name"`
	DataType int     `json:"data_type"`
	Dims     []int64 `json:"dims"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
}

// Regrow writes skeletonDir's model (config files copied, ONNX files refilled with
// random initializers of each stripped tensor's type, dims, mean and std) into outDir.
// files are ONNX file names under onnx/ ("decoder_model_merged_q4.onnx"); nil means all.
// A file already in outDir with the size stripped.json gives is kept (idempotent).
// Each written file's size must equal stripped.json's size, or Regrow fails.
//
// The values of a tensor depend only on seed, the file name and the tensor
// name, so a file comes out the same whichever others are regrown with it.
// Files are written to a temporary name and renamed into place, so an
// interrupted run leaves no file of the wrong size.
func Regrow(skeletonDir, outDir string, files []string, seed uint64) error {
	manifest, err := readManifest(skeletonDir)
	if err != nil {
		return err
	}
	if files == nil {
		for name := range manifest {
			files = append(files, name)
		}
		slices.Sort(files)
	}
	for _, name := range files {
		if _, ok := manifest[name]; !ok {
			return fmt.Errorf("regrow: %s is not in %s", name, filepath.Join(skeletonDir, manifestName))
		}
	}
	if err := os.MkdirAll(filepath.Join(outDir, "onnx"), 0o755); err != nil {
		return fmt.Errorf("regrow: %w", err)
	}
	if err := copyConfigs(skeletonDir, outDir); err != nil {
		return err
	}
	for _, name := range files {
		entry := manifest[name]
		dst := filepath.Join(outDir, "onnx", name)
		if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && st.Size() == entry.Size {
			continue
		}
		if err := regrowFile(filepath.Join(skeletonDir, "onnx", name), dst, name, entry, seed); err != nil {
			return fmt.Errorf("regrow %s: %w", name, err)
		}
	}
	return nil
}

// readManifest reads and checks skeletonDir/stripped.json.
func readManifest(skeletonDir string) (map[string]fileEntry, error) {
	raw, err := os.ReadFile(filepath.Join(skeletonDir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("regrow: %w", err)
	}
	var manifest map[string]fileEntry
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("regrow: %s: %w", manifestName, err)
	}
	for name, e := range manifest {
		if name != filepath.Base(name) || !strings.HasSuffix(name, ".onnx") || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("regrow: %s: %q is not an ONNX file name", manifestName, name)
		}
		for _, t := range e.Stripped {
			if _, err := elemSize(t.DataType); err != nil {
				return nil, fmt.Errorf("regrow: %s: %s, tensor %q: %w", manifestName, name, t.Name, err)
			}
			if _, err := numElements(t.Dims); err != nil {
				return nil, fmt.Errorf("regrow: %s: %s, tensor %q: %w", manifestName, name, t.Name, err)
			}
		}
	}
	return manifest, nil
}

// copyConfigs copies the skeleton's top-level files (configs, tokenizer,
// stripped.json) into outDir, and marks the copy as random weights
// (modelconfig.RandomWeightsFile), so the app says its answers are noise.
func copyConfigs(skeletonDir, outDir string) error {
	entries, err := os.ReadDir(skeletonDir)
	if err != nil {
		return fmt.Errorf("regrow: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(skeletonDir, e.Name()), filepath.Join(outDir, e.Name())); err != nil {
			return fmt.Errorf("regrow: %w", err)
		}
	}
	marker := filepath.Join(outDir, modelconfig.RandomWeightsFile)
	if err := os.WriteFile(marker, []byte(`{"random_weights": true}`+"\n"), 0o644); err != nil {
		return fmt.Errorf("regrow: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// writeAtomic writes dst through fill into a temporary file in dst's folder
// and renames it into place once complete.
func writeAtomic(dst string, fill func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// regrowFile writes the skeleton file src refilled with entry's tensors to dst.
func regrowFile(src, dst, name string, entry fileEntry, seed uint64) error {
	model, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	p, err := plan(model, entry.Stripped)
	if err != nil {
		return err
	}
	if p.size != entry.Size {
		return fmt.Errorf("refilled size would be %d bytes, %s says %d", p.size, manifestName, entry.Size)
	}
	if err := writeAtomic(dst, func(w io.Writer) error { return p.write(w, name, seed) }); err != nil {
		return err
	}
	st, err := os.Stat(dst)
	if err != nil {
		return err
	}
	if st.Size() != entry.Size {
		os.Remove(dst)
		return fmt.Errorf("wrote %d bytes, %s says %d", st.Size(), manifestName, entry.Size)
	}
	return nil
}

// layout is a refilled model, sized but not yet written: the skeleton
// around its graph, the graph's new length, and each new initializer's
// header (everything up to its raw data).
type layout struct {
	model    []byte
	graph    field // the graph field within model
	graphLen uint64
	tensors  []tensor
	headers  [][]byte
	rawLens  []uint64
	size     int64 // of the whole refilled file
}

// plan sizes the refilled model: the skeleton with one initializer per
// stripped tensor appended to its graph.
func plan(model []byte, tensors []tensor) (*layout, error) {
	p := &layout{model: model, tensors: tensors}
	graphs := 0
	err := eachField(model, func(f field) error {
		if f.num == modelGraph {
			if f.typ != wireBytes {
				return fmt.Errorf("%w: ModelProto.graph is not a message", errWire)
			}
			p.graph = f
			graphs++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if graphs != 1 {
		return nil, fmt.Errorf("%w: %d graphs in the model, want 1", errWire, graphs)
	}
	have := map[string]bool{}
	err = eachField(p.graph.data, func(f field) error {
		if f.num != graphInitializer || f.typ != wireBytes {
			return nil
		}
		return eachField(f.data, func(tf field) error {
			if tf.num == tensorName && tf.typ == wireBytes {
				have[string(tf.data)] = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	p.graphLen = uint64(len(p.graph.data))
	for _, t := range tensors {
		if have[t.Name] {
			return nil, fmt.Errorf("initializer %q is already in the graph", t.Name)
		}
		have[t.Name] = true
		es, err := elemSize(t.DataType)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		n, err := numElements(t.Dims)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		raw := uint64(n) * uint64(es)
		h := tensorHeader(t, raw)
		tlen := uint64(len(h)) + raw
		p.headers = append(p.headers, h)
		p.rawLens = append(p.rawLens, raw)
		p.graphLen += uint64(varintLen(graphInitializer<<3)+varintLen(tlen)) + tlen
	}
	before, after := int64(p.graph.start), int64(len(model)-p.graph.end)
	p.size = before + int64(varintLen(modelGraph<<3)+varintLen(p.graphLen)) + int64(p.graphLen) + after
	return p, nil
}

// tensorHeader encodes a TensorProto's fields up to and including the tag
// and length of raw_data, which follows it. dims are unpacked, one field per
// dimension, as onnx.proto (proto2, no [packed=true]) and the exporter that
// made the original files write them.
func tensorHeader(t tensor, rawLen uint64) []byte {
	var b []byte
	for _, d := range t.Dims {
		b = appendVarint(appendTag(b, tensorDims, wireVarint), uint64(d))
	}
	b = appendVarint(appendTag(b, tensorDataType, wireVarint), uint64(t.DataType))
	b = appendTag(b, tensorName, wireBytes)
	b = appendVarint(b, uint64(len(t.Name)))
	b = append(b, t.Name...)
	b = appendTag(b, tensorRawData, wireBytes)
	return appendVarint(b, rawLen)
}

// write streams the refilled model to w.
func (p *layout) write(w io.Writer, file string, seed uint64) error {
	m := p.model
	var head []byte
	head = appendTag(head, modelGraph, wireBytes)
	head = appendVarint(head, p.graphLen)
	for _, b := range [][]byte{m[:p.graph.start], head, p.graph.data} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	buf := make([]byte, 1<<16)
	for i, t := range p.tensors {
		tlen := uint64(len(p.headers[i])) + p.rawLens[i]
		var th []byte
		th = appendVarint(appendTag(th, graphInitializer, wireBytes), tlen)
		th = append(th, p.headers[i]...)
		if _, err := w.Write(th); err != nil {
			return err
		}
		if err := fill(w, buf, t, p.rawLens[i], tensorRand(seed, file, t.Name)); err != nil {
			return err
		}
	}
	_, err := w.Write(m[p.graph.end:])
	return err
}

// tensorRand is the random source of one tensor of one file.
func tensorRand(seed uint64, file, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// ONNX TensorProto.DataType values.
const (
	typeFloat    = 1
	typeUint8    = 2
	typeInt8     = 3
	typeUint16   = 4
	typeInt16    = 5
	typeInt32    = 6
	typeInt64    = 7
	typeBool     = 9
	typeFloat16  = 10
	typeDouble   = 11
	typeUint32   = 12
	typeUint64   = 13
	typeBfloat16 = 16
)

// elemSize is the raw_data bytes per element of an ONNX data type; types
// without a fixed-size little-endian raw form (strings, complex, float8,
// 4-bit) are refused.
func elemSize(dataType int) (int, error) {
	switch dataType {
	case typeUint8, typeInt8, typeBool:
		return 1, nil
	case typeUint16, typeInt16, typeFloat16, typeBfloat16:
		return 2, nil
	case typeFloat, typeInt32, typeUint32:
		return 4, nil
	case typeInt64, typeUint64, typeDouble:
		return 8, nil
	}
	return 0, fmt.Errorf("ONNX data type %d cannot be regrown (supported: float, float16, bfloat16, double, bool and 8- to 64-bit integers)", dataType)
}

// intRange is an integer data type's smallest and largest value.
func intRange(dataType int) (lo, hi float64) {
	switch dataType {
	case typeBool:
		return 0, 1
	case typeUint8:
		return 0, math.MaxUint8
	case typeInt8:
		return math.MinInt8, math.MaxInt8
	case typeUint16:
		return 0, math.MaxUint16
	case typeInt16:
		return math.MinInt16, math.MaxInt16
	case typeInt32:
		return math.MinInt32, math.MaxInt32
	case typeUint32:
		return 0, math.MaxUint32
	case typeInt64:
		return math.MinInt64, math.MaxInt64
	}
	return 0, math.MaxUint64 // typeUint64
}

// fill writes n bytes of raw data for t: normal(mean, std) values, rounded
// and clamped to the range of an integer type, generated into buf a chunk
// at a time.
func fill(w io.Writer, buf []byte, t tensor, n uint64, rng *rand.Rand) error {
	es, _ := elemSize(t.DataType)
	chunk := len(buf) / es * es
	lo, hi := intRange(t.DataType)
	for n > 0 {
		b := buf[:min(uint64(chunk), n)]
		switch t.DataType {
		case typeFloat:
			for i := 0; i < len(b); i += 4 {
				binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(t.Mean+t.Std*rng.NormFloat64())))
			}
		case typeFloat16:
			for i := 0; i < len(b); i += 2 {
				binary.LittleEndian.PutUint16(b[i:], uint16(float16.Fromfloat32(float32(t.Mean+t.Std*rng.NormFloat64()))))
			}
		case typeBfloat16:
			for i := 0; i < len(b); i += 2 {
				u := math.Float32bits(float32(t.Mean + t.Std*rng.NormFloat64()))
				u += 0x7fff + (u>>16)&1 // round to nearest even
				binary.LittleEndian.PutUint16(b[i:], uint16(u>>16))
			}
		case typeDouble:
			for i := 0; i < len(b); i += 8 {
				binary.LittleEndian.PutUint64(b[i:], math.Float64bits(t.Mean+t.Std*rng.NormFloat64()))
			}
		default:
			for i := 0; i < len(b); i += es {
				v := math.Round(t.Mean + t.Std*rng.NormFloat64())
				v = max(lo, min(hi, v))
				var u uint64
				if lo < 0 {
					// math.MaxInt64 rounds up to 2^63 as a float64.
					u = uint64(int64(min(v, math.MaxInt64-1023)))
				} else {
					u = uint64(min(v, math.MaxUint64-2047))
				}
				switch es {
				case 1:
					b[i] = byte(u)
				case 2:
					binary.LittleEndian.PutUint16(b[i:], uint16(u))
				case 4:
					binary.LittleEndian.PutUint32(b[i:], uint32(u))
				default:
					binary.LittleEndian.PutUint64(b[i:], u)
				}
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		n -= uint64(len(b))
	}
	return nil
}

// numElements is the product of dims, refusing negative dimensions and
// tensors too large to address.
func numElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in dims %v", dims)
		}
		if d != 0 && n > math.MaxInt64/8/d {
			return 0, fmt.Errorf("dims %v are too large", dims)
		}
		n *= d
	}
	return n, nil
}

// Unpack extracts the skeleton .tar.xz into dir and returns the skeleton
// folder path (dir/smolvlm-256m-skeleton for the shared fixture). The archive
// is unpacked into a private folder (with tar -J, which runs xz) and renamed
// into place, so concurrent callers and interrupted runs never see half a
// skeleton; an already unpacked skeleton is reused.
func Unpack(tarXZ, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("unpack: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".unpack-")
	if err != nil {
		return "", fmt.Errorf("unpack: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("tar", "-xJf", tarXZ, "-C", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpack %s: %v: %s", tarXZ, err, strings.TrimSpace(string(out)))
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return "", fmt.Errorf("unpack: %w", err)
	}
	if len(entries) != 1 || !entries[0].IsDir() {
		return "", fmt.Errorf("unpack %s: want one top-level folder, found %d entries", tarXZ, len(entries))
	}
	name := entries[0].Name()
	if _, err := os.Stat(filepath.Join(tmp, name, manifestName)); err != nil {
		return "", fmt.Errorf("unpack %s: not a skeleton: %w", tarXZ, err)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(filepath.Join(tmp, name), final); err != nil {
		// Already unpacked (perhaps by a concurrent caller): use that copy.
		if _, statErr := os.Stat(filepath.Join(final, manifestName)); statErr == nil {
			return final, nil
		}
		return "", fmt.Errorf("unpack: %w", err)
	}
	return final, nil
}

// The protobuf wire format, as far as appending initializers needs it (see
// onnxedit/wire.go, which this mirrors, and
// https://protobuf.dev/programming-guides/encoding/).

type wireType uint8

const (
	wireVarint  wireType = 0
	wireFixed64 wireType = 1
	wireBytes   wireType = 2
	wireFixed32 wireType = 5
)

// Field numbers of onnx.proto.
const (
	modelGraph       = 7 // ModelProto.graph
	graphInitializer = 5 // GraphProto.initializer
	tensorDims       = 1 // TensorProto.dims
	tensorDataType   = 2 // TensorProto.data_type
	tensorName       = 8 // TensorProto.name
	tensorRawData    = 9 // TensorProto.raw_data
)

var errWire = errors.New("malformed protobuf")

// field is one field of a message: its number, wire type, value (varint
// and fixed fields) or payload (length-delimited fields), and where it lies,
// tag included.
type field struct {
	num        int
	typ        wireType
	u          uint64
	data       []byte
	start, end int
}

// eachField calls fn on every field of msg in order.
func eachField(msg []byte, fn func(f field) error) error {
	off := 0
	for off < len(msg) {
		f := field{start: off}
		tag, n := binary.Uvarint(msg[off:])
		if n <= 0 {
			return fmt.Errorf("%w: bad tag at byte %d", errWire, off)
		}
		off += n
		if tag>>3 == 0 || tag>>3 > 1<<29-1 {
			return fmt.Errorf("%w: field number %d at byte %d", errWire, tag>>3, f.start)
		}
		f.num, f.typ = int(tag>>3), wireType(tag&7)
		switch f.typ {
		case wireVarint:
			f.u, n = binary.Uvarint(msg[off:])
			if n <= 0 {
				return fmt.Errorf("%w: bad varint at byte %d", errWire, off)
			}
			off += n
		case wireFixed64, wireFixed32:
			size := 8
			if f.typ == wireFixed32 {
				size = 4
			}
			if len(msg)-off < size {
				return fmt.Errorf("%w: truncated fixed field at byte %d", errWire, off)
			}
			off += size
		case wireBytes:
			l, n := binary.Uvarint(msg[off:])
			if n <= 0 || l > uint64(len(msg)-off-n) {
				return fmt.Errorf("%w: bad length of field %d at byte %d", errWire, f.num, f.start)
			}
			off += n
			f.data = msg[off : off+int(l) : off+int(l)]
			off += int(l)
		default:
			return fmt.Errorf("%w: wire type %d at byte %d", errWire, f.typ, f.start)
		}
		f.end = off
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func appendVarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendTag(dst []byte, num int, t wireType) []byte {
	return appendVarint(dst, uint64(num)<<3|uint64(t))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
