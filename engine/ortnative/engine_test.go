//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

func TestNewReportsVersion(t *testing.T) {
	e, _, _ := setup(t)
	if e.Name() != "onnxruntime-cpu" {
		t.Errorf("Name() = %q", e.Name())
	}
	if v := e.Version(); !strings.HasPrefix(v, "1.") {
		t.Errorf("Version() = %q", v)
	}
	t.Logf("onnxruntime %s from %s", e.Version(), e.LibraryPath())
}

func TestNewMissingLibrary(t *testing.T) {
	_, err := New(Options{LibraryPath: "/nonexistent/libonnxruntime.so.1"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so.1") {
		t.Fatalf("New with a missing library: %v", err)
	}
}

// TestLoadSessions loads all twelve fixture files and checks the element
// types of their inputs and outputs against the documented I/O contract.
func TestLoadSessions(t *testing.T) {
	e, dir, cfg := setup(t)
	for _, v := range variants {
		f := floatType(v)
		want := map[string]map[string]engine.DType{
			"vision_encoder": {"pixel_values": f, "pixel_attention_mask": engine.Bool, "image_features": f},
			"embed_tokens":   {"input_ids": engine.Int64, "inputs_embeds": f},
			"decoder_model_merged": {"inputs_embeds": f, "attention_mask": engine.Int64,
				"position_ids": engine.Int64, "logits": f},
		}
		for model, types := range want {
			s := load(t, e, dir, model+v)
			io := append(s.Inputs(), s.Outputs()...)
			for name, dt := range types {
				info, ok := engine.Find(io, name)
				if !ok || info.DType != dt {
					t.Errorf("%s%s: %s is %+v, want %s", model, v, name, info, dt)
				}
			}
			if model == "decoder_model_merged" {
				checkCache(t, model+v, io, f, cfg)
			}
		}
	}
}

// checkCache checks the KV cache inputs and outputs of a decoder: one pair
// per layer, of type f and shape [batch, kv_heads, past, head_dim].
func checkCache(t *testing.T, model string, io []engine.IOInfo, f engine.DType, cfg textConfig) {
	var past, present int
	for _, info := range io {
		isPast := strings.HasPrefix(info.Name, "past_key_values.")
		isPresent := strings.HasPrefix(info.Name, "present.")
		if !isPast && !isPresent {
			continue
		}
		if isPast {
			past++
		} else {
			present++
		}
		s := info.Shape
		if info.DType != f || len(s) != 4 || s[1] != int64(cfg.KVHeads) || s[3] != int64(cfg.HeadDim) {
			t.Errorf("%s: %s is %s %v, want %s [batch %d past %d]", model, info.Name, info.DType, s, f, cfg.KVHeads, cfg.HeadDim)
		}
	}
	if past == 0 || past != present {
		t.Errorf("%s: %d past_key_values inputs, %d present outputs", model, past, present)
	}
}

func TestEmbedTokens(t *testing.T) {
	e, dir, cfg := setup(t)
	ids := []int64{1, 49190, 2, 100, 49279}
	for _, v := range variants {
		s := load(t, e, dir, "embed_tokens"+v)
		out := embed(t, e, s, ids)
		checkShape(t, "inputs_embeds", out, 1, int64(len(ids)), int64(cfg.Hidden))
		if out.DType() != floatType(v) {
			t.Errorf("embed_tokens%s: output is %s", v, out.DType())
		}
		allFloats(t, "inputs_embeds", out)
	}
}

// TestHalfRangeMatchesFloat reads the same embedding rows from the fp32 and
// fp16 tables at an offset: Float32s converts exactly the requested range.
func TestHalfRangeMatchesFloat(t *testing.T) {
	e, dir, cfg := setup(t)
	ids := []int64{5, 6, 7}
	full := embed(t, e, load(t, e, dir, "embed_tokens"), ids)
	half := embed(t, e, load(t, e, dir, "embed_tokens_fp16"), ids)
	off, n := cfg.Hidden+3, cfg.Hidden
	a, err := full.Float32s(off, n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := half.Float32s(off, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); d > 1e-3+1e-3*math.Abs(float64(a[i])) {
			t.Fatalf("element %d: float32 %v, float16 %v", off+i, a[i], b[i])
		}
	}
}

func TestVisionEncoder(t *testing.T) {
	e, dir, cfg := setup(t)
	shape := []int64{1, 1, 3, 512, 512}
	pixels := make([]float32, 3*512*512)
	mask := make([]bool, 512*512)
	for i := range mask {
		mask[i] = true
	}
	for _, v := range variants {
		s := load(t, e, dir, "vision_encoder"+v)
		in := map[string]engine.Tensor{
			"pixel_values":         tensor(t, e, floatType(v), shape, pixels),
			"pixel_attention_mask": tensor(t, e, engine.Bool, []int64{1, 1, 512, 512}, mask),
		}
		out := run(t, s, "1 tile", in)["image_features"]
		checkShape(t, "image_features", out, 1, 64, int64(cfg.Hidden))
		allFloats(t, "image_features", out)
	}
}

// TestDecoderPrefillAndStep runs a prefill with an empty cache, then one
// step that feeds the present.* outputs back as past_key_values.*, and
// checks that the step's logits equal a prefill over all the tokens.
func TestDecoderPrefillAndStep(t *testing.T) {
	e, dir, cfg := setup(t)
	ids := []int64{1, 11, 22, 33, 44, 55}
	seq := int64(len(ids))
	for _, v := range variants {
		emb := load(t, e, dir, "embed_tokens"+v)
		dec := load(t, e, dir, "decoder_model_merged"+v)

		full := run(t, dec, fmt.Sprintf("prefill %d", seq), decoderInputs(t, e, dec, cfg, embed(t, e, emb, ids), nil, 0))
		checkShape(t, "logits", full["logits"], 1, seq, int64(cfg.Vocab))
		checkShape(t, "present.0.key", full["present.0.key"], 1, int64(cfg.KVHeads), seq, int64(cfg.HeadDim))

		pre := run(t, dec, fmt.Sprintf("prefill %d", seq-1), decoderInputs(t, e, dec, cfg, embed(t, e, emb, ids[:seq-1]), nil, 0))
		step := run(t, dec, "step", decoderInputs(t, e, dec, cfg, embed(t, e, emb, ids[seq-1:]), pre, int(seq-1)))
		checkShape(t, "step logits", step["logits"], 1, 1, int64(cfg.Vocab))
		checkShape(t, "step present.0.value", step["present.0.value"], 1, int64(cfg.KVHeads), seq, int64(cfg.HeadDim))

		want, err := full["logits"].Float32s(int(seq-1)*cfg.Vocab, cfg.Vocab)
		if err != nil {
			t.Fatal(err)
		}
		got := allFloats(t, "step logits", step["logits"])
		tol := 1e-3
		if halfIO(v) {
			tol = 5e-3
		}
		d := maxRelDiff(got, want)
		t.Logf("decoder%s: cached step vs full prefill, max logit difference %.2g of the range", v, d)
		if d > tol {
			t.Errorf("decoder%s: cached step logits differ from full prefill by %.3g of their range", v, d)
		}
	}
}

// maxRelDiff is the largest |a-b| relative to the largest |b|.
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		m = max(m, math.Abs(float64(b[i])))
	}
	return d / max(m, 1e-6)
}

// TestFloat16DecoderFromFloat32 feeds the fp16 decoder float16 tensors made
// from float32 host data.
func TestFloat16DecoderFromFloat32(t *testing.T) {
	e, dir, cfg := setup(t)
	dec := load(t, e, dir, "decoder_model_merged_fp16")
	const seq = 3
	data := make([]float32, seq*cfg.Hidden)
	for i := range data {
		data[i] = float32(math.Sin(float64(i))) * 0.05
	}
	embeds := tensor(t, e, engine.Float16, []int64{1, seq, int64(cfg.Hidden)}, data)
	back, err := embeds.Float32s(0, len(data))
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if math.Abs(float64(back[i]-data[i])) > 1e-4 {
			t.Fatalf("element %d: %v became %v", i, data[i], back[i])
		}
	}
	out := run(t, dec, "prefill 3 from float32", decoderInputs(t, e, dec, cfg, embeds, nil, 0))
	if out["logits"].DType() != engine.Float16 {
		t.Fatalf("logits are %s", out["logits"].DType())
	}
	checkShape(t, "logits", out["logits"], 1, seq, int64(cfg.Vocab))
	allFloats(t, "logits", out["logits"])
}

func TestTensorReads(t *testing.T) {
	e, _, _ := setup(t)
	h := tensor(t, e, engine.Float16, []int64{2, 2}, []float32{0.5, -2, 1e-3, 65504}).(*Tensor)
	bits, err := h.Halfs(0, 4)
	if err != nil || bits[0] != 0x3800 || bits[1] != 0xc000 || bits[3] != 0x7bff {
		t.Errorf("Halfs = %#x, %v", bits, err)
	}
	if v, err := h.Float32s(1, 2); err != nil || v[0] != -2 || math.Abs(float64(v[1])-1e-3) > 1e-6 {
		t.Errorf("Float32s(1, 2) = %v, %v", v, err)
	}
	for _, r := range [][2]int{{-1, 1}, {0, 5}, {4, 1}, {2, -1}} {
		if _, err := h.Float32s(r[0], r[1]); err == nil {
			t.Errorf("Float32s(%d, %d) gave no error", r[0], r[1])
		}
	}
	if _, err := h.Int64s(0, 1); !errors.Is(err, engine.ErrUnsupportedDType) {
		t.Errorf("Int64s of float16: %v", err)
	}
	i := tensor(t, e, engine.Int64, []int64{3}, []int64{7, -8, 9}).(*Tensor)
	if v, err := i.Int64s(1, 2); err != nil || v[0] != -8 || v[1] != 9 {
		t.Errorf("Int64s = %v, %v", v, err)
	}
	b := tensor(t, e, engine.Bool, []int64{2}, []bool{true, false}).(*Tensor)
	if v, err := b.Bools(0, 2); err != nil || !v[0] || v[1] {
		t.Errorf("Bools = %v, %v", v, err)
	}
	if _, err := e.NewTensor(engine.Float32, []int64{2}, []float32{1}); err == nil {
		t.Error("NewTensor with too little data gave no error")
	}
	i.Release()
	i.Release()
	if _, err := i.Int64s(0, 1); !errors.Is(err, errReleased) {
		t.Errorf("read after Release: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	e, dir, _ := setup(t)
	s := load(t, e, dir, "embed_tokens")
	ids := tensor(t, e, engine.Int64, []int64{1, 2}, []int64{1, 2})
	wrong := tensor(t, e, engine.Float32, []int64{1, 2}, []float32{1, 2})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		in      map[string]engine.Tensor
		outputs []string
		want    string
	}{
		{"missing input", context.Background(), nil, nil, `missing input "input_ids"`},
		{"wrong type", context.Background(), map[string]engine.Tensor{"input_ids": wrong}, nil, "is float32, the model wants int64"},
		{"unknown input", context.Background(), map[string]engine.Tensor{"input_ids": ids, "x": ids}, nil, `unknown input "x"`},
		{"unknown output", context.Background(), map[string]engine.Tensor{"input_ids": ids}, []string{"logits"}, `unknown output "logits"`},
		{"canceled", canceled, map[string]engine.Tensor{"input_ids": ids}, nil, context.Canceled.Error()},
	}
	for _, c := range cases {
		out, err := s.Run(c.ctx, c.in, c.outputs)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != nil {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
	if _, err := s.Run(canceled, map[string]engine.Tensor{"input_ids": ids}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled run: %v is not context.Canceled", err)
	}
	if _, err := e.LoadSession(context.Background(), dir+"/onnx/missing.onnx"); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("loading a missing file: %v", err)
	}
}

// TestCancelDuringRun cancels a long vision run: either the run finished
// first, or it stops with the context's error.
func TestCancelDuringRun(t *testing.T) {
	e, dir, _ := setup(t)
	s := load(t, e, dir, "vision_encoder")
	const tiles = 8
	pixels := tensor(t, e, engine.Float32, []int64{1, tiles, 3, 512, 512}, make([]float32, tiles*3*512*512))
	mask := make([]bool, tiles*512*512)
	for i := range mask {
		mask[i] = true
	}
	in := map[string]engine.Tensor{"pixel_values": pixels, "pixel_attention_mask": tensor(t, e, engine.Bool, []int64{1, tiles, 512, 512}, mask)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := s.Run(ctx, in, nil)
	t.Logf("run with a 5ms deadline returned after %v: %v", time.Since(start).Round(time.Microsecond), err)
	if err == nil {
		for _, o := range out {
			o.Release()
		}
		return
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("canceled run: %v is not context.DeadlineExceeded", err)
	}
}

func TestReleaseAndClose(t *testing.T) {
	e, dir, _ := setup(t)
	s := load(t, e, dir, "embed_tokens")
	kept := load(t, e, dir, "vision_encoder")
	ids := tensor(t, e, engine.Int64, []int64{1, 1}, []int64{1})
	s.Release()
	s.Release()
	if _, err := s.Run(context.Background(), map[string]engine.Tensor{"input_ids": ids}, nil); err == nil {
		t.Error("Run after Release gave no error")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if kept.h != nil {
		t.Error("Close left a session open")
	}
	if _, err := e.LoadSession(context.Background(), dir+"/onnx/embed_tokens.onnx"); !errors.Is(err, errClosed) {
		t.Errorf("LoadSession after Close: %v", err)
	}
	if _, err := e.NewTensor(engine.Int64, []int64{1}, []int64{1}); !errors.Is(err, errClosed) {
		t.Errorf("NewTensor after Close: %v", err)
	}
	if v, err := ids.(*Tensor).Int64s(0, 1); err != nil || v[0] != 1 {
		t.Errorf("tensor after Close: %v, %v", v, err)
	}
}

// TestConcurrentRuns runs one session from several goroutines, as a server
// would; run it with -race.
func TestConcurrentRuns(t *testing.T) {
	e, dir, cfg := setup(t)
	s := load(t, e, dir, "embed_tokens_fp16")
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			ids, err := e.NewTensor(engine.Int64, []int64{1, 2}, []int64{int64(g), int64(g + 1)})
			if err != nil {
				errs <- err
				return
			}
			defer ids.Release()
			out, err := s.Run(context.Background(), map[string]engine.Tensor{"input_ids": ids}, []string{"inputs_embeds"})
			if err == nil {
				_, err = out["inputs_embeds"].Float32s(cfg.Hidden, cfg.Hidden)
				out["inputs_embeds"].Release()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestNewUnknownDevice(t *testing.T) {
	_, err := New(Options{Device: "cuda"})
	if err == nil || !strings.Contains(err.Error(), `device "cuda"`) {
		t.Fatalf("New with device cuda: %v", err)
	}
}

// TestOptimizedGraphs loads the fixture's decoders with OptimizedGraphs set:
// each writes the graph onnxruntime runs, which parses, under its file's
// name, and onnxruntime's fusions leave fewer nodes than the export has.
func TestOptimizedGraphs(t *testing.T) {
	_, dir, _ := setup(t)
	out := t.TempDir()
	e, err := New(Options{OptimizedGraphs: out})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, v := range []string{"", "_q4"} {
		name := "decoder_model_merged" + v + ".onnx"
		load(t, e, dir, strings.TrimSuffix(name, ".onnx"))
		before, after := opCounts(t, filepath.Join(dir, "onnx", name)), opCounts(t, filepath.Join(out, name))
		if after.Total() == 0 || after.Total() >= before.Total() {
			t.Errorf("%s: %d nodes exported, %d after onnxruntime's optimizations; want fewer, not none", name, before.Total(), after.Total())
		}
		t.Logf("%s: %d → %d nodes; after: %v", name, before.Total(), after.Total(), after)
	}
}

func opCounts(t *testing.T, path string) onnxedit.Ops {
	t.Helper()
	counts, err := onnxedit.OpCountsFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return counts
}
