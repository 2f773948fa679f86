package engine_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// assembleOverOriginal assembles plan over src's own bytes, as the browser
// engine does in the file's buffer, with Go's copy (a memmove, like
// copyWithin).
func assembleOverOriginal(plan *engine.Plan, src []byte) []byte {
	buf := make([]byte, max(int64(len(src)), plan.Size))
	copy(buf, src)
	plan.Each(true, func(pc engine.Piece, at int64) {
		if pc.Data != nil {
			copy(buf[at:], pc.Data)
		} else {
			copy(buf[at:at+pc.Len], buf[pc.Off:pc.Off+pc.Len])
		}
	})
	return buf[:plan.Size]
}

// enginePlan converts onnxedit's plan.
func enginePlan(p onnxedit.Plan) *engine.Plan {
	out := &engine.Plan{Size: p.Size}
	for _, pc := range p.Pieces {
		out.Pieces = append(out.Pieces, engine.Piece{Off: pc.Off, Len: pc.Len, Data: pc.Data})
	}
	return out
}

// TestPlanOverOriginal: the last-position rewrite of every fixture decoder
// can be assembled over the original file, and that gives the bytes
// onnxedit.LastTokenLogits gives.
func TestPlanOverOriginal(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"decoder_model_merged.onnx", "decoder_model_merged_fp16.onnx", "decoder_model_merged_q4.onnx", "decoder_model_merged_q4f16.onnx"} {
		src, err := os.ReadFile(filepath.Join(dir, "onnx", name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := onnxedit.PlanLastTokenLogits(bytes.NewReader(src), int64(len(src)))
		if err != nil {
			t.Fatal(err)
		}
		want, err := onnxedit.LastTokenLogits(src)
		if err != nil {
			t.Fatal(err)
		}
		plan := enginePlan(p)
		if !plan.InPlace() {
			t.Errorf("%s: the plan cannot be assembled over the original", name)
			continue
		}
		if got := assembleOverOriginal(plan, src); !bytes.Equal(got, want) {
			t.Errorf("%s: assembled over the original, %d bytes differ from LastTokenLogits' %d", name, len(got), len(want))
		}
		var forward []byte
		plan.Each(false, func(pc engine.Piece, at int64) {
			if int64(len(forward)) != at {
				t.Fatalf("%s: piece at %d after %d bytes", name, at, len(forward))
			}
			if pc.Data != nil {
				forward = append(forward, pc.Data...)
			} else {
				forward = append(forward, src[pc.Off:pc.Off+pc.Len]...)
			}
		})
		if !bytes.Equal(forward, want) {
			t.Errorf("%s: assembled from the first piece, the bytes differ from LastTokenLogits'", name)
		}
	}
}

// TestPlanInPlace: plans that move a piece of the original backwards, or
// take the original out of order, are not assembled over it.
func TestPlanInPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan engine.Plan
		want bool
	}{
		{"insert", engine.Plan{Size: 12, Pieces: []engine.Piece{{Off: 0, Len: 4}, {Len: 2, Data: []byte{1, 2}}, {Off: 4, Len: 6}}}, true},
		{"drop then keep", engine.Plan{Size: 6, Pieces: []engine.Piece{{Off: 0, Len: 2}, {Off: 4, Len: 4}}}, false},
		{"swap", engine.Plan{Size: 8, Pieces: []engine.Piece{{Off: 4, Len: 4}, {Off: 0, Len: 4}}}, false},
		{"shrink a literal after growth", engine.Plan{Size: 10, Pieces: []engine.Piece{{Len: 3, Data: []byte{1, 2, 3}}, {Off: 0, Len: 4}, {Off: 5, Len: 3}}}, true},
	} {
		if got := tc.plan.InPlace(); got != tc.want {
			t.Errorf("%s: InPlace %v, want %v", tc.name, got, tc.want)
		}
		if tc.want {
			src := []byte{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
			var want []byte
			for _, pc := range tc.plan.Pieces {
				if pc.Data != nil {
					want = append(want, pc.Data...)
				} else {
					want = append(want, src[pc.Off:pc.Off+pc.Len]...)
				}
			}
			tc.plan.Size = int64(len(want))
			if got := assembleOverOriginal(&tc.plan, src); !bytes.Equal(got, want) {
				t.Errorf("%s: over the original %v, want %v", tc.name, got, want)
			}
		}
	}
}

// TestPieceFillAt: a computed piece hands its chunks on with their
// offsets, fails when it writes other than its Len bytes, and keeps a plan
// from being assembled over the original.
func TestPieceFillAt(t *testing.T) {
	chunks := func(parts ...string) func(io.Writer) error {
		return func(w io.Writer) error {
			for _, p := range parts {
				if _, err := w.Write([]byte(p)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	got := make([]byte, 6)
	pc := engine.Piece{Len: 6, Fill: chunks("ab", "cde", "f")}
	if err := pc.FillAt(func(c []byte, off int64) { copy(got[off:], c) }); err != nil || string(got) != "abcdef" {
		t.Errorf("FillAt: %q, %v; want \"abcdef\"", got, err)
	}
	for _, bad := range []engine.Piece{{Len: 6, Fill: chunks("abc")}, {Len: 2, Fill: chunks("ab", "c")}} {
		if err := bad.FillAt(func([]byte, int64) {}); err == nil {
			t.Errorf("a %d-byte piece that writes other than that: no error", bad.Len)
		}
	}
	plan := engine.Plan{Size: 10, Pieces: []engine.Piece{{Off: 0, Len: 4}, pc}}
	if plan.InPlace() {
		t.Error("a plan with a computed piece is assembled over the original")
	}
}
