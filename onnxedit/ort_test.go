//go:build cgo && !js && !windows

package onnxedit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// The rewritten decoder must give the original's last logits row, and the
// same KV cache, on onnxruntime. Tolerances: the lm_head multiplies one row
// instead of many, which may take another kernel path; fp32 results must
// agree to tolRelFloat32 of the largest logit, float16 outputs to
// tolAbsFloat16 (a few half-precision ulps at the logits' magnitude).
const (
	tolRelFloat32 = 1e-5
	tolAbsFloat16 = 2e-3
	// prefillLen is the prompt of the comparison test; benchPrefillLen is
	// a real one (a 4×4-split image and a question).
	prefillLen      = 37
	benchPrefillLen = 1141
)

// textConfig holds the decoder's sizes from model/config.json.
type textConfig struct {
	Hidden  int `json:"hidden_size"`
	Heads   int `json:"num_attention_heads"`
	KVHeads int `json:"num_key_value_heads"`
	HeadDim int `json:"head_dim"`
	Vocab   int `json:"vocab_size"`
	Layers  int `json:"num_hidden_layers"`
}

func setup(tb testing.TB) (*ortnative.Engine, string, textConfig) {
	tb.Helper()
	e, err := ortnative.New(ortnative.Options{})
	if err != nil {
		tb.Fatalf("ortnative.New: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	dir, err := fixture.ModelDir()
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return e, dir, readConfig(tb, dir)
}

// readConfig reads text_config from dir/config.json.
func readConfig(tb testing.TB, dir string) textConfig {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cfg struct {
		Text textConfig `json:"text_config"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		tb.Fatal(err)
	}
	if cfg.Text.HeadDim == 0 {
		cfg.Text.HeadDim = cfg.Text.Hidden / cfg.Text.Heads
	}
	return cfg.Text
}

// decoderPath is a decoder variant's file in a model folder.
func decoderPath(dir, variant string) string {
	return filepath.Join(dir, "onnx", "decoder_model_merged"+variant+".onnx")
}

// skeletonEnv names the unpacked smolvlm-256m-skeleton folder (from
// smolvlm-256m-skeleton.tar.xz in the shared fixtures) that the full-size
// test and benchmarks refill with random weights; they skip without it.
const skeletonEnv = "SMOLVLM_SKELETON"

// fullSizeDecoder writes a skeleton decoder refilled to its real size into
// a temporary folder and returns its path and the model's text config.
func fullSizeDecoder(tb testing.TB, variant string) (string, textConfig) {
	tb.Helper()
	dir := os.Getenv(skeletonEnv)
	if dir == "" {
		tb.Skipf("set %s to an unpacked smolvlm-256m-skeleton folder", skeletonEnv)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "stripped.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var stripped map[string]struct {
		Stripped []onnxedit.StrippedTensor `json:"stripped"`
	}
	if err := json.Unmarshal(raw, &stripped); err != nil {
		tb.Fatal(err)
	}
	path := decoderPath(dir, variant)
	model, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	full, err := onnxedit.Refill(model, stripped[filepath.Base(path)].Stripped, 1)
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, full, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out, readConfig(tb, dir)
}

// loadPair loads the decoder at path and its rewrite.
func loadPair(tb testing.TB, e *ortnative.Engine, path string) (orig, rewritten engine.Session) {
	tb.Helper()
	model, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := onnxedit.LastTokenLogits(model)
	if err != nil {
		tb.Fatal(err)
	}
	outPath := filepath.Join(tb.TempDir(), filepath.Base(path))
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return load(tb, e, path), load(tb, e, outPath)
}

func load(tb testing.TB, e *ortnative.Engine, path string) engine.Session {
	tb.Helper()
	s, err := e.LoadSession(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Release)
	return s
}

// newTensor makes a host tensor released at the end of the test.
func newTensor(tb testing.TB, e *ortnative.Engine, dt engine.DType, shape []int64, data any) engine.Tensor {
	tb.Helper()
	t, err := e.NewTensor(dt, shape, data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(t.Release)
	return t
}

// decoderInputs builds one step, as package generate does: seq random
// embeddings after past cached positions, attention_mask all ones,
// position_ids counting on from past, and the cache (empty when past is
// nil), in each input's own element type.
func decoderInputs(tb testing.TB, e *ortnative.Engine, s engine.Session, cfg textConfig, rng *rand.Rand,
	seq int, past map[string]engine.Tensor, pastLen int) map[string]engine.Tensor {
	tb.Helper()
	embeds := make([]float32, seq*cfg.Hidden)
	for i := range embeds {
		embeds[i] = float32(rng.NormFloat64())
	}
	mask := make([]int64, pastLen+seq)
	positions := make([]int64, seq)
	for i := range mask {
		mask[i] = 1
	}
	for i := range positions {
		positions[i] = int64(pastLen + i)
	}
	in := map[string]engine.Tensor{}
	for _, info := range s.Inputs() {
		switch name, isPast := strings.CutPrefix(info.Name, "past_key_values."); {
		case info.Name == "inputs_embeds":
			in[info.Name] = newTensor(tb, e, info.DType, []int64{1, int64(seq), int64(cfg.Hidden)}, embeds)
		case info.Name == "attention_mask":
			in[info.Name] = newTensor(tb, e, engine.Int64, []int64{1, int64(pastLen + seq)}, mask)
		case info.Name == "position_ids":
			in[info.Name] = newTensor(tb, e, engine.Int64, []int64{1, int64(seq)}, positions)
		case isPast && past != nil:
			in[info.Name] = past["present."+name]
		case isPast:
			shape := []int64{1, int64(cfg.KVHeads), 0, int64(cfg.HeadDim)}
			in[info.Name] = newTensor(tb, e, info.DType, shape, []float32{})
		default:
			tb.Fatalf("unexpected decoder input %q", info.Name)
		}
	}
	return in
}

func run(tb testing.TB, s engine.Session, in map[string]engine.Tensor) map[string]engine.Tensor {
	tb.Helper()
	out, err := s.Run(context.Background(), in, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, t := range out {
			t.Release()
		}
	})
	return out
}

func floats(tb testing.TB, t engine.Tensor, off, n int) []float32 {
	tb.Helper()
	v, err := t.Float32s(off, n)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// maxAbsDiff is the largest |a[i]-b[i]| and the largest |a[i]|.
func maxAbsDiff(a, b []float32) (diff, scale float64) {
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(a[i])))
	}
	return diff, scale
}

// checkLogits compares the rewritten model's only logits row with the
// original's last row, within the variant's tolerance.
func checkLogits(t *testing.T, what string, dt engine.DType, want, got []float32) {
	t.Helper()
	diff, scale := maxAbsDiff(want, got)
	tol := tolAbsFloat16
	if dt == engine.Float32 {
		tol = tolRelFloat32 * scale
	}
	t.Logf("%s: max abs diff %.3g (largest logit %.3g, tolerance %.3g)", what, diff, scale, tol)
	if diff > tol {
		t.Errorf("%s: logits differ by up to %.3g, tolerance %.3g", what, diff, tol)
	}
}

// checkCacheEqual requires every present.* output to be identical.
func checkCacheEqual(t *testing.T, want, got map[string]engine.Tensor) {
	t.Helper()
	n := 0
	for name, w := range want {
		if !strings.HasPrefix(name, "present.") {
			continue
		}
		g := got[name]
		if fmt.Sprint(g.Shape()) != fmt.Sprint(w.Shape()) {
			t.Fatalf("%s shape %v, want %v", name, g.Shape(), w.Shape())
		}
		size, _ := engine.NumElements(w.Shape())
		if diff, _ := maxAbsDiff(floats(t, w, 0, size), floats(t, g, 0, size)); diff != 0 {
			t.Errorf("%s differs by up to %g", name, diff)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no present.* outputs")
	}
}

// variants are the four exports of each model.
var variants = []string{"", "_fp16", "_q4", "_q4f16"}

// eachDecoder runs check on each variant's decoder: the fixture's, or with
// fullSize the real SmolVLM-256M graph refilled with random weights (see
// skeletonEnv), with its model's text config.
func eachDecoder(t *testing.T, fullSize bool, check func(t *testing.T, e *ortnative.Engine, cfg textConfig, path string)) {
	e, dir, fixtureCfg := setup(t)
	for _, variant := range variants {
		t.Run("decoder"+variant, func(t *testing.T) {
			path, cfg := decoderPath(dir, variant), fixtureCfg
			if fullSize {
				path, cfg = fullSizeDecoder(t, variant)
			}
			check(t, e, cfg, path)
		})
	}
}

// TestRewrittenDecoder runs a prefill and one cached step on each fixture
// decoder and on its rewrite.
func TestRewrittenDecoder(t *testing.T) { eachDecoder(t, false, compareDecoders) }

// TestRewrittenDecoderFullSize does the same on the full-size graphs.
func TestRewrittenDecoderFullSize(t *testing.T) { eachDecoder(t, true, compareDecoders) }

// compareDecoders checks the rewrite of the decoder at path: declared and
// actual logits shape [1, 1, vocab], the original's last row, the same
// cache, and the same logits on a cached step.
func compareDecoders(t *testing.T, e *ortnative.Engine, cfg textConfig, path string) {
	orig, rew := loadPair(t, e, path)
	info, _ := engine.Find(rew.Outputs(), "logits")
	if fmt.Sprint(info.Shape) != fmt.Sprint([]int64{-1, 1, int64(cfg.Vocab)}) {
		t.Errorf("rewritten logits declared %v, want [-1 1 %d]", info.Shape, cfg.Vocab)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	in := decoderInputs(t, e, orig, cfg, rng, prefillLen, nil, 0)
	want, got := run(t, orig, in), run(t, rew, in)
	if s := got["logits"].Shape(); fmt.Sprint(s) != fmt.Sprint([]int64{1, 1, int64(cfg.Vocab)}) {
		t.Fatalf("rewritten logits shape %v, want [1 1 %d]", s, cfg.Vocab)
	}
	checkLogits(t, "prefill", info.DType, floats(t, want["logits"], (prefillLen-1)*cfg.Vocab, cfg.Vocab),
		floats(t, got["logits"], 0, cfg.Vocab))
	checkCacheEqual(t, want, got)

	// One cached step: each model gets its own cache back.
	inOrig := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(3, 4)), 1, want, prefillLen)
	inRew := decoderInputs(t, e, rew, cfg, rand.New(rand.NewPCG(3, 4)), 1, got, prefillLen)
	want2, got2 := run(t, orig, inOrig), run(t, rew, inRew)
	checkLogits(t, "step", info.DType, floats(t, want2["logits"], 0, cfg.Vocab), floats(t, got2["logits"], 0, cfg.Vocab))
	checkCacheEqual(t, want2, got2)
}

// BenchmarkPrefill runs a 1,141-token prefill on the fp32 fixture decoder
// and on its rewrite in turn, reading the last logits row as generation
// does, and reports each one's time and the speed-up.
func BenchmarkPrefill(b *testing.B) {
	e, dir, cfg := setup(b)
	benchPrefill(b, e, cfg, decoderPath(dir, ""))
}

// BenchmarkPrefillFullSize does the same on the real-size fp32 decoder
// (see skeletonEnv), where the lm_head is a smaller share of the work.
func BenchmarkPrefillFullSize(b *testing.B) {
	e, _, _ := setup(b)
	path, cfg := fullSizeDecoder(b, "")
	benchPrefill(b, e, cfg, path)
}

func benchPrefill(b *testing.B, e *ortnative.Engine, cfg textConfig, path string) {
	orig, rew := loadPair(b, e, path)
	rng := rand.New(rand.NewPCG(1, 2))
	in := decoderInputs(b, e, orig, cfg, rng, benchPrefillLen, nil, 0)
	ctx := context.Background()
	prefill := func(s engine.Session, row int) time.Duration {
		start := time.Now()
		out, err := s.Run(ctx, in, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := out["logits"].Float32s(row*cfg.Vocab, cfg.Vocab); err != nil {
			b.Fatal(err)
		}
		for _, t := range out {
			t.Release()
		}
		return time.Since(start)
	}
	var tOrig, tRew time.Duration
	n := 0
	for b.Loop() {
		tOrig += prefill(orig, benchPrefillLen-1)
		tRew += prefill(rew, 0)
		n++
	}
	perRun := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	b.ReportMetric(perRun(tOrig), "original-ms")
	b.ReportMetric(perRun(tRew), "rewritten-ms")
	b.ReportMetric(float64(tOrig)/float64(tRew), "speedup")
	b.ReportMetric(float64(benchPrefillLen*cfg.Vocab*4)/1e6, "original-logits-MB")
}

// BenchmarkRewriteFullSize rewrites the real-size fp32 decoder, 539 MB.
func BenchmarkRewriteFullSize(b *testing.B) {
	path, _ := fullSizeDecoder(b, "")
	model, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(model)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := onnxedit.LastTokenLogits(model); err != nil {
			b.Fatal(err)
		}
	}
}
