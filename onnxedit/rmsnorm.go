package onnxedit

import (
	"io"
	"maps"
)

// More field numbers and types (onnx/onnx.proto).
const (
	attrFloat = 2 // AttributeProto.f
	// attrTypeFloat is AttributeProto.AttributeType.FLOAT.
	attrTypeFloat = 1
)

// PlanRMSNorm plans each RMS normalization the export spells out in seven
// nodes as one SimplifiedLayerNormalization node, onnxruntime's own.
//
// Why: the export writes Llama's RMSNorm, x · 1/√(mean(x²) + ε) · w, as
// Pow, ReduceMean, Add, Sqrt, Div, Mul, Mul (SmolVLM-256M's decoder: 61 of
// them, two a layer and the last). onnxruntime's optimizer makes the same
// node for its CPU execution provider (SimplifiedLayerNormFusion), so there
// nothing changes, but not for WebGPU, whose sessions run every step's
// seven kernels. Given the node, onnxruntime's WebGPU optimizer goes on to
// fuse each layer's normalizations into the 4-bit MatMuls that read them
// (the query, key and value projections into one MatMulNBitsQkv; the MLP's
// gate and up projections with its SiLU into one MatMulNBitsMlp).
//
// A normalization is rewritten when Pow(x, 2) reaches, through nodes that
// nothing else reads, ReduceMean over one axis (keepdims), Add of a float
// constant ε, Sqrt, Div(1, ·), Mul by x, and Mul by an initializer w; the
// node is SimplifiedLayerNormalization(x, w) with attributes epsilon ε and
// axis, as onnxruntime's fusion writes it. A model without such nodes
// gives an unchanged plan. Errors wrap ErrNotONNX or
// ErrUnexpectedStructure, or are src's own.
func PlanRMSNorm(src io.ReaderAt, size int64) (Plan, error) {
	m, g, outer, err := parseForRewrite(src, size)
	if err != nil {
		return Plan{}, err
	}
	readers := g.readers()
	consumers := maps.Clone(g.consumers)
	var (
		edits []edit
		gone  = map[int]bool{}
	)
	for i := range g.nodes {
		norm, ok := g.rmsNorm(i, readers, outer)
		if !ok {
			continue
		}
		last := &g.nodes[norm.nodes[len(norm.nodes)-1]]
		dst := appendNode(nil, "SimplifiedLayerNormalization", rmsNormPrefix+"/"+last.name, []string{norm.x, norm.weight},
			last.outputs[0], encodeFloatAttr("epsilon", norm.epsilon), encodeIntAttr("axis", norm.axis))
		edits = append(edits, edit{last.at.start, last.at.end, []Piece{literal(dst)}})
		for _, n := range norm.nodes[:len(norm.nodes)-1] {
			gone[n] = true
		}
		// The constants only the removed nodes read (2, ε, 1) go too.
		for _, n := range norm.nodes {
			for _, in := range g.nodes[n].inputs {
				if in != norm.x && in != norm.weight && g.isConstant(in) {
					consumers[in]--
					g.dropDead(in, consumers, outer, gone)
				}
			}
		}
	}
	return m.planRemoving(size, g, edits, gone)
}

// rmsNormPrefix starts the names of the nodes PlanRMSNorm adds.
const rmsNormPrefix = "onnxedit/rmsnorm"

// rmsNorm is one normalization PlanRMSNorm rewrites, as
// SimplifiedLayerNormalization(x, weight).
type rmsNorm struct {
	x, weight string
	epsilon   float32
	axis      int64
	nodes     []int // Pow, ReduceMean, Add, Sqrt, Div, Mul, Mul
}

// rmsNorm recognises the normalization that starts at node i, a Pow.
// readers maps a value to the nodes that read it; outer counts the values
// subgraphs read.
func (g *graph) rmsNorm(i int, readers map[string][]int, outer map[string]int) (norm rmsNorm, ok bool) {
	pow := &g.nodes[i]
	if !pow.is("Pow") || len(pow.inputs) != 2 || len(pow.outputs) != 1 {
		return rmsNorm{}, false
	}
	if two, ok := g.constFloat32(pow.inputs[1]); !ok || two != 2 {
		return rmsNorm{}, false
	}
	norm = rmsNorm{x: pow.inputs[0], nodes: []int{i}}
	// follow steps to the only reader of the last node's output, when it
	// is op; other is that reader's other input.
	follow := func(op string) (n *node, other string, ok bool) {
		value := g.nodes[norm.nodes[len(norm.nodes)-1]].outputs[0]
		j, ok := g.soleReader(value, readers, outer)
		if !ok {
			return nil, "", false
		}
		n = &g.nodes[j]
		if !n.is(op) || len(n.outputs) != 1 || len(n.inputs) > 2 {
			return nil, "", false
		}
		norm.nodes = append(norm.nodes, j)
		if len(n.inputs) == 2 {
			other = n.inputs[0]
			if other == value {
				other = n.inputs[1]
			}
		}
		return n, other, true
	}
	mean, _, ok := follow("ReduceMean")
	if !ok || mean.inputs[0] != pow.outputs[0] {
		return rmsNorm{}, false
	}
	if norm.axis, ok = g.meanAxis(mean); !ok {
		return rmsNorm{}, false
	}
	_, eps, ok := follow("Add")
	if !ok {
		return rmsNorm{}, false
	}
	if norm.epsilon, ok = g.constFloat32(eps); !ok {
		return rmsNorm{}, false
	}
	sqrt, _, ok := follow("Sqrt")
	if !ok || len(sqrt.inputs) != 1 {
		return rmsNorm{}, false
	}
	div, one, ok := follow("Div")
	if !ok || div.inputs[1] != sqrt.outputs[0] {
		return rmsNorm{}, false
	}
	if v, ok := g.constFloat32(one); !ok || v != 1 {
		return rmsNorm{}, false
	}
	if _, x, ok := follow("Mul"); !ok || x != norm.x {
		return rmsNorm{}, false
	}
	_, w, ok := follow("Mul")
	if _, isInit := g.inits[w]; !ok || !isInit || g.inputNames[w] {
		return rmsNorm{}, false
	}
	norm.weight = w
	return norm, true
}

// meanAxis is the one axis a ReduceMean with keepdims reduces: its axes
// attribute (before opset 18) or its constant second input.
func (g *graph) meanAxis(n *node) (int64, bool) {
	ints, err := intAttrs(n)
	if keep, has := ints["keepdims"]; err != nil || has && keep == 0 || ints["noop_with_empty_axes"] != 0 {
		return 0, false
	}
	axes, err := intsAttr(n, "axes")
	if err != nil {
		return 0, false
	}
	if len(n.inputs) == 2 {
		var ok bool
		if axes, ok = g.constInt64s(n.inputs[1]); !ok {
			return 0, false
		}
	}
	if len(axes) != 1 {
		return 0, false
	}
	return axes[0], true
}

// soleReader is the node that alone reads value, when value is neither a
// graph output nor read by a subgraph; readers is g.readers(), outer
// g.subgraphRefs().
func (g *graph) soleReader(value string, readers map[string][]int, outer map[string]int) (int, bool) {
	if _, isOutput := g.outputs[value]; isOutput || outer[value] > 0 || len(readers[value]) != 1 {
		return 0, false
	}
	return readers[value][0], true
}

// readers maps each value to the nodes of the main graph that read it, in
// node order.
func (g *graph) readers() map[string][]int {
	r := map[string][]int{}
	for i, n := range g.nodes {
		for _, in := range n.inputs {
			if in != "" {
				r[in] = append(r[in], i)
			}
		}
	}
	return r
}
