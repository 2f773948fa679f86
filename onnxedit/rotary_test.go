package onnxedit

import (
	"bytes"
	"testing"
)

// rotateHalfModel is a query's rotary embedding as the export spells it,
// y = x·cos + [−x₂, x₁]·sin, for heads of 4 values, with change applied to
// it first.
func rotateHalfModel(change func(m *tmodel)) []byte {
	head := []any{1, 2, "sequence_length", 4}
	m := tmodel{
		opset: 18,
		int64Inits: map[string][]int64{
			"zero": {0}, "two": {2}, "end": {9223372036854775807}, "last": {-1}, "one": {1},
		},
		inputs: []tvalue{{"x", 1, head}, {"angle", 1, []any{1, 1, "sequence_length", 4}}},
		nodes: []tnode{
			{op: "Cos", name: "/Cos", in: []string{"angle"}, out: []string{"cos"}},
			{op: "Sin", name: "/Sin", in: []string{"angle"}, out: []string{"sin"}},
			{op: "Mul", name: "/Mul", in: []string{"x", "cos"}, out: []string{"xcos"}},
			{op: "Slice", name: "/Slice", in: []string{"x", "zero", "two", "last", "one"}, out: []string{"x1"}},
			{op: "Slice", name: "/Slice_1", in: []string{"x", "two", "end", "last", "one"}, out: []string{"x2"}},
			{op: "Neg", name: "/Neg", in: []string{"x2"}, out: []string{"negx2"}},
			{op: "Concat", name: "/Concat", in: []string{"negx2", "x1"}, out: []string{"rot"}, ints: map[string]int64{"axis": -1}},
			{op: "Mul", name: "/Mul_1", in: []string{"rot", "sin"}, out: []string{"rotsin"}},
			{op: "Add", name: "/Add", in: []string{"xcos", "rotsin"}, out: []string{"y"}},
		},
		outputs: []tvalue{{"y", 1, head}},
	}
	if change != nil {
		change(&m)
	}
	return m.encode()
}

// planRotateHalf rewrites model (heads of 4 values) and parses the result.
func planRotateHalf(t *testing.T, model []byte) (out []byte, g *graph, changed bool) {
	t.Helper()
	plan, err := PlanRotateHalf(bytes.NewReader(model), int64(len(model)), 4)
	if err != nil {
		t.Fatal(err)
	}
	out = plan.Apply(model)
	if _, g, err = parseModelGraph(bytes.NewReader(out), int64(len(out))); err != nil {
		t.Fatal(err)
	}
	return out, g, !plan.Unchanged()
}

// TestPlanRotateHalf: the rotation becomes a Gather of x by [2, 3, 0, 1]
// times the sine with its first half negated, and the slices, the Neg and
// the Concat go.
func TestPlanRotateHalf(t *testing.T) {
	out, g, changed := planRotateHalf(t, rotateHalfModel(nil))
	if !changed {
		t.Fatal("nothing rewritten")
	}
	ops := map[string]int{}
	var gather, mul *node
	for i := range g.nodes {
		n := &g.nodes[i]
		ops[n.opType]++
		switch {
		case n.is("Gather"):
			gather = n
		case n.is("Mul") && len(n.outputs) == 1 && n.outputs[0] == "rotsin":
			mul = n
		}
	}
	// Left: Cos, Sin, Mul·cos, Add; added: 5 constants, the sine's two
	// Slices, Neg and Concat, the Gather and its Mul.
	want := map[string]int{"Cos": 1, "Sin": 1, "Mul": 2, "Add": 1, "Constant": 5, "Slice": 2, "Neg": 1, "Concat": 1, "Gather": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d %s, want %d (all: %v)", ops[op], op, n, ops)
		}
	}
	if gather == nil || mul == nil {
		t.Fatalf("no Gather or no Mul making rotsin: %v", ops)
	}
	perm, ok := g.constInt64s(gather.inputs[1])
	if gather.inputs[0] != "x" || !ok || len(perm) != 4 || perm[0] != 2 || perm[1] != 3 || perm[2] != 0 || perm[3] != 1 {
		t.Errorf("Gather(%v), indices %v, want Gather(x, [2 3 0 1])", gather.inputs, perm)
	}
	if !lastAxis(gather) {
		t.Error("the Gather is not along the last axis")
	}
	if mul.inputs[0] != gather.outputs[0] {
		t.Errorf("Mul(%v) does not read the Gather", mul.inputs)
	}
	if _, _, again := planRotateHalf(t, out); again {
		t.Error("a second rewrite changed the rewritten model")
	}
}

// TestPlanRotateHalfLeavesOthers: anything but rotate_half along the last
// axis times a sine is left as it is.
func TestPlanRotateHalfLeavesOthers(t *testing.T) {
	for name, change := range map[string]func(m *tmodel){
		"halves swapped":  func(m *tmodel) { m.nodes[6].in = []string{"x1", "negx2"} },
		"other axis":      func(m *tmodel) { m.nodes[6].ints["axis"] = 2; m.int64Inits["last"] = []int64{2} },
		"not a sine":      func(m *tmodel) { m.nodes[7].in = []string{"rot", "cos"} },
		"other split":     func(m *tmodel) { m.int64Inits["two"] = []int64{1} },
		"every other one": func(m *tmodel) { m.int64Inits["one"] = []int64{2} },
		"negation read elsewhere": func(m *tmodel) {
			m.outputs = append(m.outputs, tvalue{"negx2", 1, []any{1, 2, "sequence_length", 2}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, changed := planRotateHalf(t, rotateHalfModel(change)); changed {
				t.Error("rewritten")
			}
		})
	}
}
