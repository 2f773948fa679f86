package onnxedit

import (
	"bytes"
	"math"
	"testing"
)

// rmsNormModel is Llama's RMSNorm as the export spells it, y = w ·
// (x · 1/√(mean(x²) + ε)), with change applied to it first.
func rmsNormModel(change func(m *tmodel)) []byte {
	m := tmodel{
		opset: 18,
		floatInits: map[string][]float32{
			"two": {2}, "eps": {1e-5}, "one": {1}, "w": {0.5, 1, 1.5, 2},
		},
		int64Inits: map[string][]int64{"axes": {-1}},
		inputs:     []tvalue{{"x", 1, []any{1, "sequence_length", 4}}},
		nodes: []tnode{
			{op: "Pow", name: "/Pow", in: []string{"x", "two"}, out: []string{"sq"}},
			{op: "ReduceMean", name: "/ReduceMean", in: []string{"sq", "axes"}, out: []string{"ms"}},
			{op: "Add", name: "/Add", in: []string{"ms", "eps"}, out: []string{"mse"}},
			{op: "Sqrt", name: "/Sqrt", in: []string{"mse"}, out: []string{"rt"}},
			{op: "Div", name: "/Div", in: []string{"one", "rt"}, out: []string{"inv"}},
			{op: "Mul", name: "/Mul", in: []string{"x", "inv"}, out: []string{"xn"}},
			{op: "Mul", name: "/Mul_1", in: []string{"w", "xn"}, out: []string{"y"}},
		},
		outputs: []tvalue{{"y", 1, []any{1, "sequence_length", 4}}},
	}
	if change != nil {
		change(&m)
	}
	return m.encode()
}

func planRMSNorm(t *testing.T, model []byte) ([]byte, bool) {
	t.Helper()
	plan, err := PlanRMSNorm(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		t.Fatal(err)
	}
	return plan.Apply(model), !plan.Unchanged()
}

// TestPlanRMSNorm: the seven nodes become one SimplifiedLayerNormalization
// with the export's ε and axis, and nothing else of the graph is left.
func TestPlanRMSNorm(t *testing.T) {
	out, changed := planRMSNorm(t, rmsNormModel(nil))
	if !changed {
		t.Fatal("nothing rewritten")
	}
	_, g, err := parseModelGraph(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.nodes) != 1 || !g.nodes[0].is("SimplifiedLayerNormalization") {
		t.Fatalf("nodes %v, want one SimplifiedLayerNormalization", g.nodes)
	}
	n := &g.nodes[0]
	if want := []string{"x", "w"}; len(n.inputs) != 2 || n.inputs[0] != want[0] || n.inputs[1] != want[1] ||
		len(n.outputs) != 1 || n.outputs[0] != "y" {
		t.Errorf("inputs %v outputs %v, want [x w] → [y]", n.inputs, n.outputs)
	}
	ints, err := intAttrs(n)
	if err != nil || ints["axis"] != -1 {
		t.Errorf("axis %d (%v), want -1", ints["axis"], err)
	}
	var eps float32
	if err := eachAttr(n, func(name string, attr []byte) error {
		return eachField(attr, func(f field) error {
			if name == "epsilon" && f.num == attrFloat && f.typ == wireFixed32 {
				eps = math.Float32frombits(uint32(f.u))
			}
			return nil
		})
	}); err != nil || eps != 1e-5 {
		t.Errorf("epsilon %g (%v), want 1e-5", eps, err)
	}
	if _, again := planRMSNorm(t, out); again {
		t.Error("a second rewrite changed the rewritten model")
	}
}

// TestPlanRMSNormLeavesOthers: anything but the exact normalization is
// left as it is.
func TestPlanRMSNormLeavesOthers(t *testing.T) {
	for name, change := range map[string]func(m *tmodel){
		"cube": func(m *tmodel) { m.floatInits["two"] = []float32{3} },
		"mean read elsewhere": func(m *tmodel) {
			m.outputs = append(m.outputs, tvalue{"ms", 1, []any{1, "sequence_length", 1}})
		},
		"weight an input": func(m *tmodel) {
			delete(m.floatInits, "w")
			m.inputs = append(m.inputs, tvalue{"w", 1, []any{4}})
		},
		"scaled by another value": func(m *tmodel) {
			m.inputs = append(m.inputs, tvalue{"z", 1, []any{1, "sequence_length", 4}})
			m.nodes[5].in = []string{"z", "inv"}
		},
		"two axes":              func(m *tmodel) { m.int64Inits["axes"] = []int64{-2, -1} },
		"divided the other way": func(m *tmodel) { m.nodes[4].in = []string{"rt", "one"} },
		"epsilon not constant": func(m *tmodel) {
			delete(m.floatInits, "eps")
			m.inputs = append(m.inputs, tvalue{"eps", 1, []any{1}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, changed := planRMSNorm(t, rmsNormModel(change)); changed {
				t.Error("rewritten")
			}
		})
	}
}
