// Package regrow turns the weight-stripped SmolVLM-256M skeleton
// (smolvlm-256m-skeleton.tar.xz in the shared fixtures) back into a
// full-size model for benchmarks: the real configs, tokenizer and graphs, and
// in place of each stripped initializer random values of its recorded data
// type, dims, mean and standard deviation. The files reach the sizes that
// stripped.json records, so load times, memory and run times are those of the
// real model; the answers are noise.
//
// ONNX files are edited by package onnxedit (PlanAddInitializers): the graph
// gets one initializer per stripped tensor appended, encoded as the exporter
// wrote it, and its length is re-encoded. Every size is known before a byte
// is written, so the raw data is generated a chunk at a time and streamed to
// disk; a model file is never held in memory.
package regrow

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/onnxedit"
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
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	inits, err := initializers(name, entry.Stripped, seed)
	if err != nil {
		return err
	}
	plan, err := onnxedit.PlanAddInitializers(f, st.Size(), inits)
	if err != nil {
		return err
	}
	if plan.Size != entry.Size {
		return fmt.Errorf("refilled size would be %d bytes, %s says %d", plan.Size, manifestName, entry.Size)
	}
	if err := writeAtomic(dst, func(w io.Writer) error { return plan.Assemble(w, f) }); err != nil {
		return err
	}
	if st, err = os.Stat(dst); err != nil {
		return err
	}
	if st.Size() != entry.Size {
		os.Remove(dst)
		return fmt.Errorf("wrote %d bytes, %s says %d", st.Size(), manifestName, entry.Size)
	}
	return nil
}

// initializers are file's stripped tensors as onnxedit initializers whose
// raw data is generated as the file is written (fill), from the tensor's
// own random source.
func initializers(file string, tensors []tensor, seed uint64) ([]onnxedit.Initializer, error) {
	buf := make([]byte, 1<<16) // the tensors are written one after the other
	var inits []onnxedit.Initializer
	for _, t := range tensors {
		es, err := elemSize(t.DataType)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		n, err := numElements(t.Dims)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		raw := n * int64(es)
		inits = append(inits, onnxedit.Initializer{Name: t.Name, DataType: t.DataType, Dims: t.Dims, RawLen: raw,
			Fill: func(w io.Writer) error { return fill(w, buf, t, uint64(raw), tensorRand(seed, file, t.Name)) }})
	}
	return inits, nil
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
