//go:build cgo && !js && !windows

package onnxedit_test

import (
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
	r := rewriteDecoder(t, path, onnxedit.PlanRMSNorm)
	if !r.changed {
		if info, _ := engine.Find(load(t, e, path).Outputs(), "logits"); info.DType == engine.Float32 {
			t.Error("a float32 decoder left as it is")
		}
		return
	}
	t.Logf("nodes %d → %d; SimplifiedLayerNormalization %d, Pow %d → %d", r.before.Total(), r.after.Total(),
		r.after["SimplifiedLayerNormalization"], r.before["Pow"], r.after["Pow"])
	if norms := 2*cfg.Layers + 1; r.after["SimplifiedLayerNormalization"] != norms || r.after["Pow"] != 0 || r.after["Sqrt"] != 0 {
		t.Errorf("SimplifiedLayerNormalization %d (want %d), Pow %d, Sqrt %d left", r.after["SimplifiedLayerNormalization"], norms, r.after["Pow"], r.after["Sqrt"])
	}
	if logits := compareRuns(t, e, cfg, path, r.path, 0, 0); logits != engine.Float32 {
		t.Error("a float16 decoder rewritten")
	}
}
