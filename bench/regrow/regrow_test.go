package regrow

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/x448/float16"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// A synthetic skeleton: a small ModelProto with fields before and after its
// graph and one initializer left in it.

func bytesField(dst []byte, num int, b []byte) []byte {
	dst = appendTag(dst, num, wireBytes)
	dst = appendVarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func varintField(dst []byte, num int, v uint64) []byte {
	return appendVarint(appendTag(dst, num, wireVarint), v)
}

func synthModel() []byte {
	var kept []byte // TensorProto "kept": float [2]
	kept = varintField(kept, tensorDims, 2)
	kept = varintField(kept, tensorDataType, typeFloat)
	kept = bytesField(kept, tensorName, []byte("kept"))
	kept = bytesField(kept, tensorRawData, make([]byte, 8))
	var graph []byte
	graph = bytesField(graph, 2, []byte("g")) // GraphProto.name
	graph = bytesField(graph, graphInitializer, kept)
	var opset []byte
	opset = varintField(opset, 2, 17) // OperatorSetIdProto.version
	var m []byte
	m = varintField(m, 1, 8)                   // ir_version
	m = bytesField(m, 2, []byte("regrow"))     // producer_name
	m = bytesField(m, modelGraph, graph)       // graph
	m = bytesField(m, 8, opset)                // opset_import
	m = bytesField(m, 14, []byte("\x0a\x01k")) // metadata_props
	return m
}

var synthTensors = []tensor{
	{Name: "w.float", DataType: typeFloat, Dims: []int64{64, 128}, Mean: 0.5, Std: 0.1},
	{Name: "w.half", DataType: typeFloat16, Dims: []int64{4096}, Mean: -0.02, Std: 0.05},
	{Name: "w.q4", DataType: typeUint8, Dims: []int64{32, 16, 16}, Mean: 132, Std: 40},
	{Name: "w.int64", DataType: typeInt64, Dims: []int64{2048}, Mean: -7, Std: 1000},
	{Name: "w.int8", DataType: typeInt8, Dims: []int64{4096}, Mean: 3, Std: 20},
	{Name: "w.bf16", DataType: typeBfloat16, Dims: []int64{2048}, Mean: 1, Std: 0.25},
	{Name: "w.double", DataType: typeDouble, Dims: []int64{8, 1, 256}, Mean: 1e3, Std: 5},
}

// writeSkeleton writes a skeleton folder holding model as onnx/m.onnx and
// returns it; size 0 means the size plan computes.
func writeSkeleton(t *testing.T, model []byte, tensors []tensor, size int64) string {
	t.Helper()
	if size == 0 {
		size = refilledSize(t, model, tensors)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "onnx", "m.onnx"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]fileEntry{"m.onnx": {Size: size, Stripped: tensors}})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{manifestName: raw, "config.json": []byte(`{"x":1}`)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// refilledSize is the size of model refilled with tensors.
func refilledSize(t *testing.T, model []byte, tensors []tensor) int64 {
	t.Helper()
	inits, err := initializers("m.onnx", tensors, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnxedit.PlanAddInitializers(bytes.NewReader(model), int64(len(model)), inits)
	if err != nil {
		t.Fatal(err)
	}
	return p.Size
}

// decoded is an initializer read back from a refilled model.
type decoded struct {
	name     string
	dataType int
	dims     []int64
	values   []float64
}

// readModel splits model into the bytes around its graph, the graph and its
// initializers.
func readModel(t *testing.T, model []byte) (before, after []byte, graph field, inits []decoded) {
	t.Helper()
	err := eachField(model, func(f field) error {
		if f.num == modelGraph {
			graph = f
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = eachField(graph.data, func(f field) error {
		if f.num != graphInitializer {
			return nil
		}
		var d decoded
		var raw []byte
		err := eachField(f.data, func(tf field) error {
			switch tf.num {
			case tensorDims:
				if tf.typ != wireVarint {
					return errors.New("packed dims")
				}
				d.dims = append(d.dims, int64(tf.u))
			case tensorDataType:
				d.dataType = int(tf.u)
			case tensorName:
				d.name = string(tf.data)
			case tensorRawData:
				raw = tf.data
			}
			return nil
		})
		d.values = decodeRaw(t, d.dataType, raw)
		inits = append(inits, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return model[:graph.start], model[graph.end:], graph, inits
}

func decodeRaw(t *testing.T, dataType int, raw []byte) []float64 {
	t.Helper()
	es, err := elemSize(dataType)
	if err != nil || len(raw)%es != 0 {
		t.Fatalf("data type %d, %d raw bytes: %v", dataType, len(raw), err)
	}
	v := make([]float64, len(raw)/es)
	le := binary.LittleEndian
	for i := range v {
		b := raw[i*es:]
		switch dataType {
		case typeFloat:
			v[i] = float64(math.Float32frombits(le.Uint32(b)))
		case typeFloat16:
			v[i] = float64(float16.Frombits(le.Uint16(b)).Float32())
		case typeBfloat16:
			v[i] = float64(math.Float32frombits(uint32(le.Uint16(b)) << 16))
		case typeDouble:
			v[i] = math.Float64frombits(le.Uint64(b))
		case typeUint8:
			v[i] = float64(b[0])
		case typeInt8:
			v[i] = float64(int8(b[0]))
		case typeInt64:
			v[i] = float64(int64(le.Uint64(b)))
		default:
			t.Fatalf("test cannot decode data type %d", dataType)
		}
	}
	return v
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

func TestRegrowSynthetic(t *testing.T) {
	model := synthModel()
	skel := writeSkeleton(t, model, synthTensors, 0)
	out := t.TempDir()
	if err := Regrow(skel, out, nil, 42); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "onnx", "m.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := os.ReadFile(filepath.Join(out, "config.json")); err != nil || string(cfg) != `{"x":1}` {
		t.Errorf("config.json = %q, %v", cfg, err)
	}
	if want := refilledSize(t, model, synthTensors); int64(len(got)) != want {
		t.Fatalf("size %d, want %d", len(got), want)
	}

	before, after, graph, inits := readModel(t, got)
	origBefore, origAfter, origGraph, _ := readModel(t, model)
	if !bytes.Equal(before, origBefore) || !bytes.Equal(after, origAfter) {
		t.Error("the fields around the graph changed")
	}
	if !bytes.HasPrefix(graph.data, origGraph.data) {
		t.Error("the graph's own fields changed")
	}
	if len(inits) != 1+len(synthTensors) || inits[0].name != "kept" {
		t.Fatalf("%d initializers, first %q; want kept and the %d stripped", len(inits), inits[0].name, len(synthTensors))
	}
	for i, want := range synthTensors {
		d := inits[i+1]
		if d.name != want.Name || d.dataType != want.DataType || !slices.Equal(d.dims, want.Dims) {
			t.Errorf("initializer %d: %q type %d dims %v, want %q type %d dims %v",
				i+1, d.name, d.dataType, d.dims, want.Name, want.DataType, want.Dims)
			continue
		}
		n, _ := numElements(want.Dims)
		if int64(len(d.values)) != n {
			t.Errorf("%s: %d values, want %d", want.Name, len(d.values), n)
			continue
		}
		mean, std := meanStd(d.values)
		// Five standard errors for the mean, 5% for the std (rounding and
		// clamping to an integer type's range shift them a little).
		if math.Abs(mean-want.Mean) > 5*want.Std/math.Sqrt(float64(n)) ||
			math.Abs(std-want.Std) > 0.05*want.Std {
			t.Errorf("%s: mean %.5g std %.5g, want %.5g and %.5g", want.Name, mean, std, want.Mean, want.Std)
		}
		if isInt(want.DataType) {
			for _, x := range d.values {
				if x != math.Round(x) {
					t.Errorf("%s: non-integer value %v", want.Name, x)
					break
				}
			}
		}
	}

	// The same seed gives the same bytes; another seed other values.
	again, other := t.TempDir(), t.TempDir()
	if err := Regrow(skel, again, []string{"m.onnx"}, 42); err != nil {
		t.Fatal(err)
	}
	if err := Regrow(skel, other, []string{"m.onnx"}, 43); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(again, "onnx", "m.onnx"))
	b2, _ := os.ReadFile(filepath.Join(other, "onnx", "m.onnx"))
	if !bytes.Equal(b1, got) {
		t.Error("seed 42 twice gave different files")
	}
	if len(b2) != len(got) || bytes.Equal(b2, got) {
		t.Error("seed 43 gave the same file as seed 42")
	}

	// A file of the right size is kept; one of another size regrown.
	path := filepath.Join(out, "onnx", "m.onnx")
	zeros := make([]byte, len(got))
	if err := os.WriteFile(path, zeros, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Regrow(skel, out, nil, 42); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, zeros) {
		t.Error("a file of the right size was rewritten")
	}
	if err := os.WriteFile(path, zeros[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Regrow(skel, out, nil, 42); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, got) {
		t.Error("a file of the wrong size was not regrown")
	}
}

func isInt(dataType int) bool {
	switch dataType {
	case typeFloat, typeFloat16, typeBfloat16, typeDouble:
		return false
	}
	return true
}

func TestRegrowErrors(t *testing.T) {
	model := synthModel()
	one := synthTensors[:1]
	size := refilledSize(t, model, one)
	for _, tc := range []struct {
		name    string
		tensors []tensor
		size    int64
		files   []string
		want    string
	}{
		{"wrong size", one, size + 1, nil, "refilled size would be"},
		{"string tensor", []tensor{{Name: "s", DataType: 8, Dims: []int64{4}}}, 1, nil, "data type 8"},
		{"already there", []tensor{{Name: "kept", DataType: typeFloat, Dims: []int64{2048}}}, 1, nil, `"kept" is already`},
		{"negative dims", []tensor{{Name: "n", DataType: typeFloat, Dims: []int64{-1}}}, 1, nil, "negative dimension"},
		{"unknown file", one, size, []string{"other.onnx"}, "other.onnx is not in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skel := writeSkeleton(t, model, tc.tensors, tc.size)
			out := t.TempDir()
			err := Regrow(skel, out, tc.files, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			// Nothing half-written is left behind.
			if entries, _ := os.ReadDir(filepath.Join(out, "onnx")); len(entries) != 0 {
				t.Errorf("left %v in onnx/", entries)
			}
		})
	}
}

// skeletonArchive is the shared fixture, next to the repository
// (../shared/fixtures); its absence is a failure, not a skip.
func skeletonArchive(t *testing.T) string {
	t.Helper()
	path := filepath.Join(fixture.Root(), "..", "shared", "fixtures", "smolvlm-256m-skeleton.tar.xz")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the shared skeleton fixture is missing: %v", err)
	}
	return path
}

// TestRegrowSkeleton unpacks the real skeleton, regrows its two smallest
// files to the sizes of the real export, and runs both with the native
// engine: the refilled graphs are valid ONNX that onnxruntime accepts.
func TestRegrowSkeleton(t *testing.T) {
	start := time.Now()
	skel, err := Unpack(skeletonArchive(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unpack: %v", time.Since(start).Round(time.Millisecond))
	manifest, err := readManifest(skel)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"embed_tokens_fp16.onnx", "vision_encoder_q4f16.onnx"}
	out := t.TempDir()
	start = time.Now()
	if err := Regrow(skel, out, files, 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("regrow %v: %v", files, time.Since(start).Round(time.Millisecond))
	for _, name := range files {
		st, err := os.Stat(filepath.Join(out, "onnx", name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != manifest[name].Size {
			t.Errorf("%s: %d bytes, stripped.json says %d", name, st.Size(), manifest[name].Size)
		}
	}
	if cfg, err := modelconfig.Load(modelconfig.Dir(out)); err != nil || !cfg.RandomWeights {
		t.Errorf("the regrown folder should load as random weights: %v", err)
	}
	for _, name := range []string{"config.json", "tokenizer.json", "preprocessor_config.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	start = time.Now()
	if err := Regrow(skel, out, files, 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("regrowing existing files took %v; they should be kept", d)
	}

	e, err := ortnative.New(ortnative.Options{})
	if err != nil {
		t.Fatalf("native engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	load := func(name string) engine.Session {
		t.Helper()
		start := time.Now()
		s, err := e.LoadSession(ctx, filepath.Join(out, "onnx", name))
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		t.Logf("load %s: %v", name, time.Since(start).Round(time.Millisecond))
		t.Cleanup(s.Release)
		return s
	}
	newTensor := func(dt engine.DType, shape []int64, data any) engine.Tensor {
		t.Helper()
		x, err := e.NewTensor(dt, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(x.Release)
		return x
	}
	check := func(what string, x engine.Tensor, shape ...int64) []float32 {
		t.Helper()
		if !slices.Equal(x.Shape(), shape) {
			t.Fatalf("%s shape %v, want %v", what, x.Shape(), shape)
		}
		n, _ := engine.NumElements(shape)
		v, err := x.Float32s(0, n)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				t.Fatalf("%s[%d] = %v", what, i, f)
			}
		}
		return v
	}

	// embed_tokens looks rows up in the regrown table: they have its mean and std.
	embed := load("embed_tokens_fp16.onnx")
	ids := []int64{1, 49190, 2, 100, 31000}
	res, err := embed.Run(ctx, map[string]engine.Tensor{"input_ids": newTensor(engine.Int64, []int64{1, 5}, ids)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := check("inputs_embeds", res["inputs_embeds"], 1, 5, 576)
	for _, x := range res {
		x.Release()
	}
	vals := make([]float64, len(rows))
	for i, f := range rows {
		vals[i] = float64(f)
	}
	want := manifest["embed_tokens_fp16.onnx"].Stripped[0]
	if mean, std := meanStd(vals); math.Abs(mean-want.Mean) > 0.1*want.Std || math.Abs(std-want.Std) > 0.1*want.Std {
		t.Errorf("embedding rows: mean %.4g std %.4g, want %.4g and %.4g", mean, std, want.Mean, want.Std)
	}

	// The vision encoder runs one 512×512 tile.
	vision := load("vision_encoder_q4f16.onnx")
	pixels := make([]float32, 3*512*512)
	for i := range pixels {
		pixels[i] = float32(i%255)/127.5 - 1
	}
	mask := make([]bool, 512*512)
	for i := range mask {
		mask[i] = true
	}
	start = time.Now()
	res, err = vision.Run(ctx, map[string]engine.Tensor{
		"pixel_values":         newTensor(engine.Float16, []int64{1, 1, 3, 512, 512}, pixels),
		"pixel_attention_mask": newTensor(engine.Bool, []int64{1, 1, 512, 512}, mask),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run vision_encoder_q4f16: %v", time.Since(start).Round(time.Millisecond))
	check("image_features", res["image_features"], 1, 64, 576)
	for _, x := range res {
		x.Release()
	}
}

// The protobuf wire format, as far as building a skeleton and reading the
// regrown initializers back need it: the test's own reader and writer
// (https://protobuf.dev/programming-guides/encoding/), independent of
// package onnxedit, which writes the files under test.

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
