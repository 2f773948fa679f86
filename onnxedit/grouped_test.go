//go:build cgo && !js && !windows

package onnxedit_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// TestGroupedAttention rewrites each fixture decoder to read its shared
// key/value heads in place and runs a prefill and a cached step on both.
// The dot products are the same but summed by MatMuls of another shape,
// and onnxruntime places float16 casts differently in another graph, so
// the outputs agree to rounding: float32 ones to tolGroupedFloat32 of each
// output's largest value, float16 ones to tolGroupedFloat16 (four
// half-precision ulps at the largest value; measured: up to 2.8e-3).
func TestGroupedAttention(t *testing.T) { eachDecoder(t, false, compareGrouped) }

// TestGroupedAttentionFullSize does the same on the full-size graphs.
func TestGroupedAttentionFullSize(t *testing.T) { eachDecoder(t, true, compareGrouped) }

func compareGrouped(t *testing.T, e *ortnative.Engine, cfg textConfig, path string) {
	model, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := onnxedit.PlanGroupedAttention(bytes.NewReader(model), int64(len(model)), cfg.Heads, cfg.KVHeads)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Unchanged() {
		t.Fatal("nothing rewritten")
	}
	out := plan.Apply(model)
	before, err := onnxedit.OpCounts(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := onnxedit.OpCounts(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nodes %d → %d; Tile %d → %d, MatMul %d → %d, Reshape %d → %d", before.Total(), after.Total(),
		before["Tile"], after["Tile"], before["MatMul"], after["MatMul"], before["Reshape"], after["Reshape"])
	if after["Tile"] != 0 || after["MatMul"] != before["MatMul"] || before["Tile"] != 2*cfg.Layers {
		t.Errorf("Tile %d → %d (want %d → 0), MatMul %d → %d", before["Tile"], after["Tile"], 2*cfg.Layers, before["MatMul"], after["MatMul"])
	}
	again, err := onnxedit.PlanGroupedAttention(bytes.NewReader(out), int64(len(out)), cfg.Heads, cfg.KVHeads)
	if err != nil || !again.Unchanged() {
		t.Errorf("second rewrite: %v, unchanged %v", err, again.Unchanged())
	}
	outPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	orig, rew := load(t, e, path), load(t, e, outPath)
	info, _ := engine.Find(orig.Outputs(), "logits")
	tol := tolGroupedFloat32
	if info.DType != engine.Float32 {
		tol = tolGroupedFloat16
	}
	in := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(1, 2)), prefillLen, nil, 0)
	want, got := run(t, orig, in), run(t, rew, in)
	checkOutputsClose(t, "prefill", tol, want, got)
	inOrig := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(3, 4)), 1, want, prefillLen)
	inRew := decoderInputs(t, e, rew, cfg, rand.New(rand.NewPCG(3, 4)), 1, got, prefillLen)
	checkOutputsClose(t, "step", tol, run(t, orig, inOrig), run(t, rew, inRew))
}

const (
	tolGroupedFloat32 = 1e-5
	tolGroupedFloat16 = 4e-3
)

// checkOutputsClose compares every output of two runs within tol of each
// output's largest |value|.
func checkOutputsClose(t *testing.T, what string, tol float64, want, got map[string]engine.Tensor) {
	t.Helper()
	worst, worstName := 0.0, ""
	for name, w := range want {
		g, ok := got[name]
		if !ok || fmt.Sprint(g.Shape()) != fmt.Sprint(w.Shape()) {
			t.Fatalf("%s: %s missing or of shape %v, want %v", what, name, g.Shape(), w.Shape())
		}
		size, _ := engine.NumElements(w.Shape())
		diff, scale := maxAbsDiff(floats(t, w, 0, size), floats(t, g, 0, size))
		if scale > 0 && diff/scale > worst {
			worst, worstName = diff/scale, name
		}
		if diff > tol*scale {
			t.Errorf("%s: %s differs by up to %.3g (largest %.3g, tolerance %.3g)", what, name, diff, scale, tol*scale)
		}
	}
	t.Logf("%s: %d outputs, worst %s at %.2g of its largest value", what, len(want), worstName, worst)
}
