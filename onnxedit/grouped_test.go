//go:build cgo && !js && !windows

package onnxedit_test

import (
	"bytes"
	"fmt"
	"io"
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
	r := rewriteDecoder(t, path, func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
		return onnxedit.PlanGroupedAttention(src, size, cfg.Heads, cfg.KVHeads)
	})
	if !r.changed {
		t.Fatal("nothing rewritten")
	}
	t.Logf("nodes %d → %d; Tile %d → %d, MatMul %d → %d, Reshape %d → %d", r.before.Total(), r.after.Total(),
		r.before["Tile"], r.after["Tile"], r.before["MatMul"], r.after["MatMul"], r.before["Reshape"], r.after["Reshape"])
	if r.after["Tile"] != 0 || r.after["MatMul"] != r.before["MatMul"] || r.before["Tile"] != 2*cfg.Layers {
		t.Errorf("Tile %d → %d (want %d → 0), MatMul %d → %d", r.before["Tile"], r.after["Tile"], 2*cfg.Layers, r.before["MatMul"], r.after["MatMul"])
	}
	compareRuns(t, e, cfg, path, r.path, tolGroupedFloat32, tolGroupedFloat16)
}

// rewritten is a decoder rewritten by a plan: its path, and the operator
// counts of the original and of the rewrite.
type rewritten struct {
	path          string
	before, after onnxedit.Ops
	changed       bool
}

// rewriteDecoder plans a rewrite of the decoder at path, writes it to a
// temporary folder, and counts both files' operators. A second plan over
// the rewrite must change nothing.
func rewriteDecoder(t *testing.T, path string, planner func(io.ReaderAt, int64) (onnxedit.Plan, error)) rewritten {
	t.Helper()
	model, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	out := plan.Apply(model)
	r := rewritten{path: filepath.Join(t.TempDir(), filepath.Base(path)), changed: !plan.Unchanged()}
	if r.before, err = onnxedit.OpCounts(bytes.NewReader(model), int64(len(model))); err != nil {
		t.Fatal(err)
	}
	if r.after, err = onnxedit.OpCounts(bytes.NewReader(out), int64(len(out))); err != nil {
		t.Fatal(err)
	}
	if again, err := planner(bytes.NewReader(out), int64(len(out))); err != nil || !again.Unchanged() {
		t.Errorf("second rewrite: %v, unchanged %v", err, again.Unchanged())
	}
	if err := os.WriteFile(r.path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// compareRuns runs a prefill and a cached step on the decoder at path and
// on its rewrite, each with its own cache, and requires every output to
// agree within tolFloat32 of its largest |value| (0: the same bits), or
// tolFloat16 for a decoder with float16 logits. It returns the logits'
// type.
func compareRuns(t *testing.T, e *ortnative.Engine, cfg textConfig, path, rewrite string, tolFloat32, tolFloat16 float64) (logits engine.DType) {
	t.Helper()
	orig, rew := load(t, e, path), load(t, e, rewrite)
	info, _ := engine.Find(orig.Outputs(), "logits")
	tol := tolFloat32
	if info.DType != engine.Float32 {
		tol = tolFloat16
	}
	in := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(1, 2)), prefillLen, nil, 0)
	want, got := run(t, orig, in), run(t, rew, in)
	checkOutputsClose(t, "prefill", tol, want, got)
	inOrig := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(3, 4)), 1, want, prefillLen)
	inRew := decoderInputs(t, e, rew, cfg, rand.New(rand.NewPCG(3, 4)), 1, got, prefillLen)
	checkOutputsClose(t, "step", tol, run(t, orig, inOrig), run(t, rew, inRew))
	return info.DType
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
