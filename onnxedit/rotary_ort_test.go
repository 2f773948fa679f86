//go:build cgo && !js && !windows

package onnxedit_test

import (
	"io"
	"testing"

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
	r := rewriteDecoder(t, path, func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
		return onnxedit.PlanRotateHalf(src, size, cfg.HeadDim)
	})
	t.Logf("nodes %d → %d; Neg %d → %d, Gather %d → %d", r.before.Total(), r.after.Total(),
		r.before["Neg"], r.after["Neg"], r.before["Gather"], r.after["Gather"])
	// Every rotation's Neg goes, and the sine's one comes.
	if rotations := 2 * cfg.Layers; r.after["Neg"] != r.before["Neg"]-rotations+1 || r.after["Gather"] != r.before["Gather"]+rotations {
		t.Errorf("Neg %d → %d, Gather %d → %d: want %d rotations rewritten", r.before["Neg"], r.after["Neg"], r.before["Gather"], r.after["Gather"], rotations)
	}
	compareRuns(t, e, cfg, path, r.path, 0, tolGroupedFloat16)
}
