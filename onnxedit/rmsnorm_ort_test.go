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

// TestRMSNormDecoder rewrites each fixture decoder's RMS normalizations
// into SimplifiedLayerNormalization nodes and runs a prefill and a cached
// step on both. onnxruntime's CPU optimizer fuses the export's nodes into
// the same node, so every output must be the same bits. The float16
// decoders compute their normalizations in float32 between casts, a shape
// the rewrite leaves alone.
func TestRMSNormDecoder(t *testing.T) { eachDecoder(t, false, compareRMSNorm) }

// TestRMSNormDecoderFullSize does the same on the full-size graphs.
func TestRMSNormDecoderFullSize(t *testing.T) { eachDecoder(t, true, compareRMSNorm) }

func compareRMSNorm(t *testing.T, e *ortnative.Engine, cfg textConfig, path string) {
	model, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := onnxedit.PlanRMSNorm(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	orig := load(t, e, path)
	if info, _ := engine.Find(orig.Outputs(), "logits"); info.DType != engine.Float32 {
		if !plan.Unchanged() {
			t.Error("a float16 decoder rewritten")
		}
		return
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
	t.Logf("nodes %d → %d; SimplifiedLayerNormalization %d, Pow %d → %d", before.Total(), after.Total(),
		after["SimplifiedLayerNormalization"], before["Pow"], after["Pow"])
	if norms := 2*cfg.Layers + 1; after["SimplifiedLayerNormalization"] != norms || after["Pow"] != 0 || after["Sqrt"] != 0 {
		t.Errorf("SimplifiedLayerNormalization %d (want %d), Pow %d, Sqrt %d left", after["SimplifiedLayerNormalization"], norms, after["Pow"], after["Sqrt"])
	}
	outPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(outPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	rew := load(t, e, outPath)
	in := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(1, 2)), prefillLen, nil, 0)
	want, got := run(t, orig, in), run(t, rew, in)
	checkOutputsClose(t, "prefill", 0, want, got)
	inOrig := decoderInputs(t, e, orig, cfg, rand.New(rand.NewPCG(3, 4)), 1, want, prefillLen)
	inRew := decoderInputs(t, e, rew, cfg, rand.New(rand.NewPCG(3, 4)), 1, got, prefillLen)
	checkOutputsClose(t, "step", 0, run(t, orig, inOrig), run(t, rew, inRew))
}
