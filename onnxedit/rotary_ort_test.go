//go:build cgo && !js && !windows

package onnxedit_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// TestRotateHalfDecoder rewrites each fixture decoder's rotate_half into
// Gathers and runs a prefill and a cached step on both: a Gather moves the
// same values and the negation moves into the sine exactly, so every
// float32 output must be the same bits. In the float16 decoders
// onnxruntime's CPU computes in float32 between casts it places by the
// graph, so theirs agree to tolGroupedFloat16 of each output's largest
// value (measured: 1.9e-3); the pipeline leaves them as exported.
func TestRotateHalfDecoder(t *testing.T) { eachDecoder(t, false, compareRotateHalf) }

// TestRotateHalfDecoderFullSize does the same on the full-size graphs.
func TestRotateHalfDecoderFullSize(t *testing.T) { eachDecoder(t, true, compareRotateHalf) }

func compareRotateHalf(t *testing.T, e *ortnative.Engine, cfg textConfig, path string) {
	model, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := onnxedit.PlanRotateHalf(bytes.NewReader(model), int64(len(model)), cfg.HeadDim)
	if err != nil {
		t.Fatal(err)
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
	t.Logf("nodes %d → %d; Neg %d → %d, Gather %d → %d", before.Total(), after.Total(),
		before["Neg"], after["Neg"], before["Gather"], after["Gather"])
	// Every rotation's Neg goes, and the sine's one comes.
	if rotations := 2 * cfg.Layers; after["Neg"] != before["Neg"]-rotations+1 || after["Gather"] != before["Gather"]+rotations {
		t.Errorf("Neg %d → %d, Gather %d → %d: want %d rotations rewritten", before["Neg"], after["Neg"], before["Gather"], after["Gather"], rotations)
	}
	if again, err := onnxedit.PlanRotateHalf(bytes.NewReader(out), int64(len(out)), cfg.HeadDim); err != nil || !again.Unchanged() {
		t.Errorf("second rewrite: %v, unchanged %v", err, again.Unchanged())
	}
	outPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	orig, rew := load(t, e, path), load(t, e, outPath)
	tol := 0.0
	if info, _ := engine.Find(orig.Outputs(), "logits"); info.DType != engine.Float32 {
		tol = tolGroupedFloat16
	}
	in := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(1, 2)), prefillLen, nil, 0)
	want, got := run(t, orig, in), run(t, rew, in)
	checkOutputsClose(t, "prefill", tol, want, got)
	inOrig := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(3, 4)), 1, want, prefillLen)
	inRew := decoderInputs(t, e, rew, cfg, rand.New(rand.NewPCG(3, 4)), 1, got, prefillLen)
	checkOutputsClose(t, "step", tol, run(t, orig, inOrig), run(t, rew, inRew))
}
