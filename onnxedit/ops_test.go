package onnxedit

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

func TestOpCounts(t *testing.T) {
	m := lmModel("Add", "Tanh", "Mul")
	m.nodes = append(m.nodes[:1], append([]tnode{
		{op: "MatMulNBits", domain: "com.microsoft", name: "/q", in: []string{"normed"}, out: []string{"q"}},
		{op: "Relu", domain: "ai.onnx", name: "/r", in: []string{"q"}, out: []string{"r"}},
	}, m.nodes[1:]...)...)
	model := m.encode()
	got, err := OpCounts(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	want := Ops{"Mul": 2, "MatMul": 1, "Add": 1, "Tanh": 1, "com.microsoft.MatMulNBits": 1, "Relu": 1}
	if !maps.Equal(got, want) || got.Total() != 7 {
		t.Errorf("OpCounts = %v (%d nodes), want %v (7)", got, got.Total(), want)
	}
	if _, err := OpCounts(bytes.NewReader([]byte("not a model")), 11); !errors.Is(err, ErrNotONNX) {
		t.Errorf("OpCounts of garbage: %v, want ErrNotONNX", err)
	}
}
