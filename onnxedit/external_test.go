//go:build cgo && !js && !windows

package onnxedit

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// The fixture's files, their large weights moved out as external data that
// is the file itself, must give onnxruntime the original's outputs bit for
// bit (those fixtureInputs can feed: float32 inputs), and the small model
// must be what is left.
func TestExternalDataFixture(t *testing.T) {
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	e := newEngine(t)
	run := map[string]bool{"vision_encoder": true, "vision_encoder_q4": true, "decoder_model_merged": true, "decoder_model_merged_q4": true}
	for _, name := range []string{
		"vision_encoder", "vision_encoder_q4", "vision_encoder_fp16", "embed_tokens", "embed_tokens_fp16",
		"decoder_model_merged", "decoder_model_merged_q4", "decoder_model_merged_fp16", "decoder_model_merged_q4f16",
	} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join(dir, "onnx", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			const location, minBytes = "weights.bin", 1024
			plan, err := PlanExternalData(bytes.NewReader(orig), int64(len(orig)), location, minBytes)
			if err != nil {
				t.Fatal(err)
			}
			small := plan.Apply(orig)
			moved := checkExternal(t, orig, small, location, minBytes)
			t.Logf("%d bytes → %d, %d initializers moved out", len(orig), len(small), moved)
			if moved == 0 || len(small) >= len(orig)/2 {
				t.Fatalf("%d initializers moved, %d of %d bytes left", moved, len(small), len(orig))
			}
			again, err := PlanExternalData(bytes.NewReader(small), int64(len(small)), location, minBytes)
			if err != nil || !again.Unchanged() {
				t.Errorf("a second plan: err %v, unchanged %v", err, again.Unchanged())
			}
			if !run[name] {
				return
			}

			tmp := t.TempDir()
			path := filepath.Join(tmp, "model.onnx")
			if err := os.WriteFile(path, small, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, location), orig, 0o644); err != nil {
				t.Fatal(err)
			}
			se, err := e.LoadSession(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(se.Release)
			so := loadBytes(t, e, "original", orig)
			in := fixtureInputs(t, e, so, dir)
			want, got := runAll(t, so, in), runAll(t, se, in)
			for out, w := range want {
				g := got[out]
				if len(g) != len(w) {
					t.Fatalf("%s: %d values, want %d", out, len(g), len(w))
				}
				for i := range w {
					if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
						t.Fatalf("%s[%d] = %v, want %v", out, i, g[i], w[i])
					}
				}
			}
		})
	}
}

// checkExternal checks that every initializer of small's main graph keeps
// raw_data under minBytes, and that each external one points at its bytes
// in orig (location, offset, length); it returns how many are external.
func checkExternal(t *testing.T, orig, small []byte, location string, minBytes int) int {
	t.Helper()
	_, g, err := parseModelGraph(bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	_, origGraph, err := parseModelGraph(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.inits) != len(origGraph.inits) {
		t.Fatalf("%d initializers, want %d", len(g.inits), len(origGraph.inits))
	}
	moved := 0
	for name := range g.inits {
		msg, _, err := g.tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		entries := map[string]string{}
		external := false
		err = eachField(msg, func(f field) error {
			switch f.num {
			case tensorRawData:
				if len(f.data) >= minBytes {
					t.Errorf("%s keeps %d bytes of raw_data", name, len(f.data))
				}
			case tensorDataLocation:
				external = f.u == dataLocationExternal
			case tensorExternalData:
				k, _ := stringField(f.data, entryKey)
				v, _ := stringField(f.data, entryValue)
				entries[k] = v
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !external {
			continue
		}
		moved++
		origMsg, _, err := origGraph.tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		var raw []byte
		eachField(origMsg, func(f field) error {
			if f.num == tensorRawData {
				raw = f.data
			}
			return nil
		})
		off, err1 := strconv.Atoi(entries["offset"])
		n, err2 := strconv.Atoi(entries["length"])
		if entries["location"] != location || errors.Join(err1, err2) != nil || off+n > len(orig) || !bytes.Equal(orig[off:off+n], raw) {
			t.Fatalf("%s: external data %v does not point at its %d bytes", name, entries, len(raw))
		}
	}
	return moved
}

func TestExternalDataErrors(t *testing.T) {
	if _, err := PlanExternalData(bytes.NewReader([]byte("not a model")), 11, "w", 1); !errors.Is(err, ErrNotONNX) {
		t.Errorf("garbage: %v, want ErrNotONNX", err)
	}
}
