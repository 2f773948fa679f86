package onnxedit

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestPlanAddInitializers appends two initializers to a fixture decoder,
// one with its data computed in several writes, and reads them back from
// the file Assemble streams (equal to Apply's).
func TestPlanAddInitializers(t *testing.T) {
	model := readDecoder(t, "")
	counting := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	inits := []Initializer{
		{Name: "added/ones", DataType: dataTypeFloat, Dims: []int64{2, 1}, RawLen: 8,
			Fill: func(w io.Writer) error { _, err := w.Write([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f}); return err }},
		{Name: "added/bytes", DataType: dataTypeUint8, Dims: []int64{3, 4}, RawLen: int64(len(counting)),
			Fill: func(w io.Writer) error {
				for i := 0; i < len(counting); i += 5 {
					if _, err := w.Write(counting[i:min(i+5, len(counting))]); err != nil {
						return err
					}
				}
				return nil
			}},
	}
	p, err := PlanAddInitializers(bytes.NewReader(model), int64(len(model)), inits)
	if err != nil {
		t.Fatal(err)
	}
	var streamed bytes.Buffer
	if err := p.Assemble(&streamed, bytes.NewReader(model)); err != nil {
		t.Fatal(err)
	}
	out := p.Apply(model)
	if !bytes.Equal(streamed.Bytes(), out) || int64(len(out)) != p.Size {
		t.Fatalf("Assemble wrote %d bytes, Apply %d, the plan says %d", streamed.Len(), len(out), p.Size)
	}
	_, g, err := parseModelGraph(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	before, err := OpCounts(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := OpCounts(bytes.NewReader(out), int64(len(out)))
	if err != nil || after.Total() != before.Total() {
		t.Errorf("nodes %d → %d (%v)", before.Total(), after.Total(), err)
	}
	for _, want := range []struct {
		name     string
		dataType int
		data     []byte
	}{{"added/ones", dataTypeFloat, []byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f}}, {"added/bytes", dataTypeUint8, counting}} {
		data, dataType, ok := g.initData(want.name)
		if !ok || dataType != want.dataType || !bytes.Equal(data, want.data) {
			t.Errorf("%s: %v type %d, ok %v; want %v type %d", want.name, data, dataType, ok, want.data, want.dataType)
		}
	}
}

func TestPlanAddInitializersErrors(t *testing.T) {
	model := readDecoder(t, "")
	src := bytes.NewReader(model)
	_, g, err := parseModelGraph(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	var existing string
	for name := range g.inits {
		existing = name
		break
	}
	empty := func(io.Writer) error { return nil }
	for _, tc := range []struct {
		what  string
		inits []Initializer
		want  string
	}{
		{"a name the graph has", []Initializer{{Name: existing, DataType: dataTypeFloat, Fill: empty}}, "already in the graph"},
		{"a name twice", []Initializer{{Name: "x", DataType: dataTypeFloat, Fill: empty}, {Name: "x", DataType: dataTypeFloat, Fill: empty}}, "already in the graph"},
		{"a negative dimension", []Initializer{{Name: "x", DataType: dataTypeFloat, Dims: []int64{-1}, Fill: empty}}, "negative dimension"},
		{"a negative length", []Initializer{{Name: "x", DataType: dataTypeFloat, RawLen: -4, Fill: empty}}, "-4 bytes"},
	} {
		_, err := PlanAddInitializers(src, int64(len(model)), tc.inits)
		if !errors.Is(err, ErrUnexpectedStructure) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrUnexpectedStructure saying %q", tc.what, err, tc.want)
		}
	}
	if _, err := PlanAddInitializers(bytes.NewReader([]byte("not onnx")), 8, nil); !errors.Is(err, ErrNotONNX) {
		t.Errorf("not ONNX: %v", err)
	}

	// Assemble refuses a Fill that writes other than its length, and an
	// original shorter than the plan.
	short := []Initializer{{Name: "x", DataType: dataTypeUint8, Dims: []int64{4}, RawLen: 4,
		Fill: func(w io.Writer) error { _, err := w.Write([]byte{1, 2, 3}); return err }}}
	p, err := PlanAddInitializers(src, int64(len(model)), short)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Assemble(io.Discard, src); err == nil || !strings.Contains(err.Error(), "wrote 3") {
		t.Errorf("a Fill of 3 bytes for 4: %v", err)
	}
	for i := range p.Pieces {
		if p.Pieces[i].Fill != nil {
			p.Pieces[i].Fill = func(w io.Writer) error { _, err := w.Write([]byte{1, 2, 3, 4}); return err }
		}
	}
	if err := p.Assemble(io.Discard, bytes.NewReader(model[:len(model)/2])); err == nil || !strings.Contains(err.Error(), "original ends") {
		t.Errorf("a truncated original: %v", err)
	}
}
