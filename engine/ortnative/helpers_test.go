//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// variants are the fixture's four exports of each model.
var variants = []string{"", "_fp16", "_q4", "_q4f16"}

// halfIO says whether a variant's float inputs and outputs are float16.
func halfIO(variant string) bool { return strings.HasSuffix(variant, "16") }

// floatType is a variant's float I/O element type.
func floatType(variant string) engine.DType {
	if halfIO(variant) {
		return engine.Float16
	}
	return engine.Float32
}

// textConfig holds the fixture decoder's sizes (model/config.json).
type textConfig struct {
	Hidden  int `json:"hidden_size"`
	Heads   int `json:"num_attention_heads"`
	KVHeads int `json:"num_key_value_heads"`
	HeadDim int `json:"head_dim"`
	Vocab   int `json:"vocab_size"`
}

// setup opens an engine (failing, not skipping, when the library is missing:
// New's error says to run npm ci) and the fixture model.
func setup(tb testing.TB) (*Engine, string, textConfig) {
	tb.Helper()
	e, err := New(Options{})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	dir, err := fixture.ModelDir()
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
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
	return e, dir, cfg.Text
}

// load loads model+variant from the fixture, released at the end of the test.
func load(tb testing.TB, e *Engine, dir, model string) *Session {
	tb.Helper()
	start := time.Now()
	s, err := e.LoadSession(context.Background(), filepath.Join(dir, "onnx", model+".onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	if t, ok := tb.(*testing.T); ok {
		t.Logf("load %s: %v", model, time.Since(start).Round(time.Microsecond))
	}
	tb.Cleanup(s.Release)
	return s.(*Session)
}

// tensor makes a host tensor, released at the end of the test.
func tensor(tb testing.TB, e *Engine, dtype engine.DType, shape []int64, data any) engine.Tensor {
	tb.Helper()
	t, err := e.NewTensor(dtype, shape, data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(t.Release)
	return t
}

// run runs s, logs the time it took, and releases the outputs at the end
// of the test.
func run(tb testing.TB, s *Session, label string, in map[string]engine.Tensor, outputs ...string) map[string]engine.Tensor {
	tb.Helper()
	start := time.Now()
	out, err := s.Run(context.Background(), in, outputs)
	if err != nil {
		tb.Fatal(err)
	}
	if t, ok := tb.(*testing.T); ok {
		t.Logf("%s: %v", strings.TrimSpace("run "+s.name+" "+label), time.Since(start).Round(time.Microsecond))
	}
	tb.Cleanup(func() {
		for _, t := range out {
			t.Release()
		}
	})
	return out
}

// checkShape fails unless t has shape want.
func checkShape(tb testing.TB, what string, t engine.Tensor, want ...int64) {
	tb.Helper()
	got := t.Shape()
	if len(got) != len(want) {
		tb.Fatalf("%s shape %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("%s shape %v, want %v", what, got, want)
		}
	}
}

// allFloats reads every element of t as float32 and fails on NaN or Inf.
func allFloats(tb testing.TB, what string, t engine.Tensor) []float32 {
	tb.Helper()
	n, _ := engine.NumElements(t.Shape())
	v, err := t.Float32s(0, n)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			tb.Fatalf("%s[%d] = %v", what, i, x)
		}
	}
	return v
}

// ones, iota and zeros build host data.
func ones(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func iota64(from, n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(from + i)
	}
	return v
}

// decoderInputs builds one decoder step: embeds for seq tokens after past
// cached positions, and the cache itself (nil past means empty).
func decoderInputs(tb testing.TB, e *Engine, s *Session, cfg textConfig, embeds engine.Tensor, past map[string]engine.Tensor, pastLen int) map[string]engine.Tensor {
	tb.Helper()
	seq := int(embeds.Shape()[1])
	in := map[string]engine.Tensor{
		"inputs_embeds":  embeds,
		"attention_mask": tensor(tb, e, engine.Int64, []int64{1, int64(pastLen + seq)}, ones(pastLen+seq)),
		"position_ids":   tensor(tb, e, engine.Int64, []int64{1, int64(seq)}, iota64(pastLen, seq)),
	}
	for _, info := range s.Inputs() {
		name, ok := strings.CutPrefix(info.Name, "past_key_values.")
		if !ok {
			continue
		}
		if past != nil {
			in[info.Name] = past["present."+name]
			continue
		}
		shape := []int64{1, int64(cfg.KVHeads), 0, int64(cfg.HeadDim)}
		in[info.Name] = tensor(tb, e, info.DType, shape, []float32{})
	}
	return in
}

// embed runs embed_tokens on ids.
func embed(tb testing.TB, e *Engine, s *Session, ids []int64) engine.Tensor {
	tb.Helper()
	in := tensor(tb, e, engine.Int64, []int64{1, int64(len(ids))}, ids)
	return run(tb, s, "", map[string]engine.Tensor{"input_ids": in})["inputs_embeds"]
}
