package onnxedit

import (
	"bytes"
	"io"
	"os"
	"testing"

	"path/filepath"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

func accuracyInt8(src io.ReaderAt, size int64) (Plan, error) {
	return PlanMatMulNBitsAccuracy(src, size, AccuracyInt8)
}

// TestThen: the last-position rewrite then accuracy_level 4, composed as
// plans over the original, give the bytes of the two rewrites applied one
// after the other, on every fixture decoder; the composed plan holds no
// more new bytes than the two rewrites add.
func TestThen(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{"", "_fp16", "_q4", "_q4f16"} {
		src, err := os.ReadFile(filepath.Join(dir, "onnx", "decoder_model_merged"+variant+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		last, err := LastTokenLogits(src)
		if err != nil {
			t.Fatal(err)
		}
		second, err := accuracyInt8(bytes.NewReader(last), int64(len(last)))
		if err != nil {
			t.Fatal(err)
		}
		want := second.Apply(last)

		first, err := PlanLastTokenLogits(bytes.NewReader(src), int64(len(src)))
		if err != nil {
			t.Fatal(err)
		}
		both, err := first.Then(bytes.NewReader(src), accuracyInt8)
		if err != nil {
			t.Fatal(err)
		}
		if got := both.Apply(src); !bytes.Equal(got, want) {
			t.Errorf("decoder%s: the composed plan's %d bytes differ from the rewrites applied in turn (%d)", variant, len(got), len(want))
		}
		var added int64
		for _, pc := range both.Pieces {
			if pc.Data != nil {
				added += pc.Len
			}
		}
		if limit := int64(64 << 10); added > limit {
			t.Errorf("decoder%s: the composed plan holds %d new bytes, want under %d", variant, added, limit)
		}
		t.Logf("decoder%s: %d pieces, %d new bytes, %+d bytes", variant, len(both.Pieces), added, both.Size-int64(len(src)))
	}
}

// TestAccuracyRuns: a q4 decoder with accuracy_level 4 loads in onnxruntime
// and gives logits near the float32-compute ones. Not equal: the
// activations are quantized to int8, which moves the fixture's random-weight
// logits by up to 6% of their largest magnitude; so the rewrite is opt-in,
// never the default, which must match the reference.
func TestAccuracyRuns(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	src, err := os.ReadFile(filepath.Join(dir, "onnx", "decoder_model_merged_q4.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := accuracyInt8(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Unchanged() {
		t.Fatal("the q4 decoder has no MatMulNBits to change")
	}
	again, err := accuracyInt8(bytes.NewReader(plan.Apply(src)), plan.Size)
	if err != nil || !again.Unchanged() {
		t.Errorf("a second pass changed the file again (%v)", err)
	}
	base := loadBytes(t, e, "q4", src)
	fast := loadBytes(t, e, "q4 accuracy 4", plan.Apply(src))
	in := fixtureInputs(t, e, base, dir)
	want, got := runAll(t, base, in), runAll(t, fast, in)
	diff, scale := maxDiff(want["logits"], got["logits"])
	t.Logf("accuracy_level 4: logits differ by at most %.3g (scale %.3g)", diff, scale)
	if diff > 0.1*scale {
		t.Errorf("accuracy_level 4: logits differ by %.3g, scale %.3g", diff, scale)
	}
}
