// Package onnxedit rewrites ONNX models at the protobuf wire level, keeping
// every byte it does not need to change.
//
// LastTokenLogits makes a decoder compute logits for the last position only.
// A causal language model's export computes logits [batch, seq, vocab] for
// every position of its input, but generation reads only the last row: for a
// 1,141-token SmolVLM prefill that is 1141 × 49280 floats (225 MB in fp32)
// and the whole lm_head matmul 1141 times over. The rewrite slices the
// hidden states to their last position before the lm_head, so logits become
// [batch, 1, vocab]; everything before the lm_head (and so the KV cache) is
// computed exactly as before.
//
// Measured on onnxruntime CPU (2 cores, BenchmarkPrefill): a 1,141-token
// prefill of the fixture's fp32 decoder, whose lm_head is most of its work,
// runs 2.3-2.8 times faster; on the real-size 256M graphs
// (BenchmarkPrefillFullSize) only 1.04 times, since there the lm_head is
// the CPU's most efficient GEMM. What the rewrite always saves is the
// logits buffer: 225 MB of fp32 for that prefill, 197 kB after.
//
// The model is not decoded into Go structs: the graph is scanned field by
// field and initializers are skipped by their length prefix, so
// PlanLastTokenLogits plans the rewrite of a decoder from an io.ReaderAt by
// reading under a megabyte of it (0.6 MB of the 540 MB fp32 one, 0.7 MB of
// the 85 MB q4 one). The plan is the new
// file as ranges of the original and a few kilobytes of new bytes; the
// caller assembles it wherever the original lives (in the browser, in
// JavaScript memory), or Plan.Apply does in one allocation, so a 540 MB
// file in memory costs one 540 MB copy and no more.
package onnxedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// The errors LastTokenLogits wraps; test with errors.Is.
var (
	ErrNotONNX             = errors.New("not an ONNX model")
	ErrNoLogits            = errors.New("the model has no logits output")
	ErrUnexpectedStructure = errors.New("unexpected model structure")
)

// LogitsOutput is the graph output the rewrite targets, as Hugging Face
// exports name it.
const LogitsOutput = "logits"

const (
	// namePrefix starts every name the rewrite adds.
	namePrefix = "onnxedit/last_token"
	// maxHops bounds the walk back from logits to the lm_head through
	// element-wise nodes (a Cast, a bias Add, a soft-capping Div/Tanh/Mul).
	maxHops = 8
	// minSliceOpset is the first default opset whose Slice takes starts,
	// ends and axes as inputs.
	minSliceOpset = 10
	// seqAxis is the sequence axis of hidden states [batch, seq, hidden].
	seqAxis = 1
)

// LastTokenLogits returns a copy of model (a serialized ONNX ModelProto) in
// which the graph output logits is computed for the last sequence position
// only: the lm_head — the MatMul or MatMulNBits that logits come from,
// directly or through element-wise nodes — reads Slice(hidden, starts=[-1],
// ends=[INT64_MAX], axes=[1]) instead of the hidden states, and the logits
// output is declared with a sequence dimension of 1. Every other output, the
// KV cache included, is unchanged.
//
// The Slice and its three Constant inputs are inserted just before the
// lm_head node, named under "onnxedit/last_token". The rest of the file is
// copied byte for byte. A model that is already rewritten (see
// IsLastTokenLogits) is returned as it is, not copied.
//
// LastTokenLogits is PlanLastTokenLogits followed by Plan.Apply. Errors
// wrap ErrNotONNX, ErrNoLogits or ErrUnexpectedStructure. Hostile input
// makes an error, never a panic.
func LastTokenLogits(model []byte) ([]byte, error) {
	p, err := PlanLastTokenLogits(bytes.NewReader(model), int64(len(model)))
	if err != nil {
		return nil, err
	}
	if p.Unchanged() {
		return model, nil
	}
	return p.Apply(model), nil
}

// PlanLastTokenLogits plans LastTokenLogits for the model of size bytes
// that src reads, reading only its small parts: the top level of the
// ModelProto, the graph's nodes, inputs, outputs, value infos and opset
// imports, and of each initializer its name (all of it when it holds at
// most 4 KiB), skipping tensor data by its length prefix. Reads go in
// windows of 256 bytes to 64 KiB: a few hundred ReadAt calls for a
// full-size decoder (229 for the fp32 SmolVLM-256M one, 441 for the q4).
//
// The plan is the rewritten file: ranges of src and the new bytes. A model
// that is already rewritten gives the plan of src as it is (see
// Plan.Unchanged).
//
// Errors wrap ErrNotONNX, ErrNoLogits or ErrUnexpectedStructure, or are
// src's own errors when a read fails (a size past the end of src makes
// io.ErrUnexpectedEOF). Hostile input makes an error, never a panic.
func PlanLastTokenLogits(src io.ReaderAt, size int64) (Plan, error) {
	m, g, head, err := locate(newSource(src, size))
	if err != nil {
		return Plan{}, err
	}
	if g.isLastTokenSlice(head.hidden()) {
		return AsIs(size), nil
	}
	if m.opset < minSliceOpset {
		return Plan{}, fmt.Errorf("%w: the model's default opset %d predates Slice with tensor inputs (opset %d)",
			ErrUnexpectedStructure, m.opset, minSliceOpset)
	}
	edits, err := rewriteEdits(g, head)
	if err != nil {
		return Plan{}, err
	}
	return m.plan(edits)
}

// IsLastTokenLogits reports whether model's lm_head already reads the last
// position only, through a Slice of the sequence axis from -1 to the end:
// LastTokenLogits has rewritten it, or the export did it itself.
func IsLastTokenLogits(model []byte) bool {
	_, g, head, err := locate(memSource(model))
	return err == nil && g.isLastTokenSlice(head.hidden())
}

// lmHead is where logits come from.
type lmHead struct {
	node *node
	// chain are the values from the lm_head's output to logits, both
	// included; each has the sequence dimension the rewrite shortens.
	chain []string
}

// hidden is the value the lm_head multiplies: the hidden states.
func (h lmHead) hidden() string { return h.node.inputs[0] }

// locate parses the model in src and finds its lm_head.
func locate(src *source) (*model, *graph, lmHead, error) {
	m, err := parseModel(src)
	if err != nil {
		return nil, nil, lmHead{}, err
	}
	g, err := m.parseGraph()
	if err != nil {
		return nil, nil, lmHead{}, err
	}
	head, err := g.findLMHead()
	return m, g, head, err
}

// findLMHead walks back from the logits output to the matmul that makes
// it. Each value passed on the way must feed nothing else, since its shape
// changes.
func (g *graph) findLMHead() (lmHead, error) {
	if _, ok := g.outputs[LogitsOutput]; !ok {
		return lmHead{}, ErrNoLogits
	}
	if g.consumers[LogitsOutput] > 0 {
		return lmHead{}, fmt.Errorf("%w: %s also feeds other nodes", ErrUnexpectedStructure, LogitsOutput)
	}
	value := LogitsOutput
	var chain []string
	for range maxHops {
		chain = append(chain, value)
		i, ok := g.producer[value]
		if !ok {
			return lmHead{}, fmt.Errorf("%w: %q is not computed by a node", ErrUnexpectedStructure, value)
		}
		n := &g.nodes[i]
		if isMatMul(n) {
			if len(n.inputs) < 2 || n.inputs[0] == "" {
				return lmHead{}, fmt.Errorf("%w: %s node %q has no hidden-state input", ErrUnexpectedStructure, n.opType, n.name)
			}
			return lmHead{node: n, chain: chain}, nil
		}
		next, err := g.passThrough(n)
		if err != nil {
			return lmHead{}, err
		}
		if _, isOutput := g.outputs[next]; isOutput || g.consumers[next] != 1 {
			return lmHead{}, fmt.Errorf("%w: %q, on the way to %s, is also used elsewhere", ErrUnexpectedStructure, next, LogitsOutput)
		}
		value = next
	}
	return lmHead{}, fmt.Errorf("%w: no MatMul within %d nodes of %s", ErrUnexpectedStructure, maxHops, LogitsOutput)
}

// isMatMul reports whether n can be the lm_head.
func isMatMul(n *node) bool {
	return n.is("MatMul") || n.is("MatMulNBits", "com.microsoft")
}

// elementWise are the operators that may sit between the lm_head and logits:
// slicing their input slices their output the same way.
var elementWise = []string{"Cast", "Identity", "Tanh", "Add", "Sub", "Mul", "Div"}

// passThrough returns the one non-constant input of an element-wise node.
func (g *graph) passThrough(n *node) (string, error) {
	if !slices.ContainsFunc(elementWise, func(op string) bool { return n.is(op) }) {
		return "", fmt.Errorf("%w: %s comes from a %s node (%q), not a MatMul", ErrUnexpectedStructure, LogitsOutput, n.opType, n.name)
	}
	var varying []string
	for _, in := range n.inputs {
		if in != "" && !g.isConstant(in) {
			varying = append(varying, in)
		}
	}
	if len(varying) != 1 {
		return "", fmt.Errorf("%w: %s node %q before %s has %d non-constant inputs", ErrUnexpectedStructure, n.opType, n.name, LogitsOutput, len(varying))
	}
	return varying[0], nil
}

// isLastTokenSlice reports whether value is Slice(x, starts=[-1],
// ends=[to the end], axes=[1]).
func (g *graph) isLastTokenSlice(value string) bool {
	i, ok := g.producer[value]
	if !ok || !g.nodes[i].is("Slice") || len(g.nodes[i].inputs) < 4 {
		return false
	}
	in := g.nodes[i].inputs
	starts, ok1 := g.constInt64s(in[1])
	ends, ok2 := g.constInt64s(in[2])
	axes, ok3 := g.constInt64s(in[3])
	if len(in) > 4 && in[4] != "" {
		if steps, ok := g.constInt64s(in[4]); !ok || !slices.Equal(steps, []int64{1}) {
			return false
		}
	}
	// Any end at or past INT32_MAX means "to the end" in practice.
	return ok1 && ok2 && ok3 && slices.Equal(starts, []int64{-1}) &&
		len(ends) == 1 && ends[0] >= math.MaxInt32 && slices.Equal(axes, []int64{seqAxis})
}

// rewriteEdits builds the graph edits: the Slice inserted before the
// lm_head, the lm_head reading it, and the declared shapes of logits and of
// the values between the lm_head and logits.
func rewriteEdits(g *graph, head lmHead) ([]edit, error) {
	names := g.freshNames()
	nodes := appendSliceNodes(nil, head.hidden(), names)
	lmMsg, _, err := replaceNth(head.node.msg, nodeInput, 0, func([]byte) ([]byte, error) {
		return []byte(names.sliced), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: lm_head node %q does not parse (%w)", ErrUnexpectedStructure, head.node.name, err)
	}
	nodes = appendBytesField(nodes, graphNode, lmMsg)
	edits := []edit{{head.node.at.start, head.node.at.end, []Piece{literal(nodes)}}}

	for _, value := range head.chain {
		for num, infos := range map[int]map[string]part{graphOutput: g.outputs, graphValueInfo: g.valueInfos} {
			p, ok := infos[value]
			if !ok {
				continue
			}
			vi, err := seqDimOne(p.msg)
			if err != nil {
				return nil, fmt.Errorf("%w: the value info of %q does not parse (%w)", ErrUnexpectedStructure, value, err)
			}
			edits = append(edits, edit{p.at.start, p.at.end, []Piece{literal(appendBytesField(nil, num, vi))}})
		}
	}
	return edits, nil
}

// sliceNames are the names of what the rewrite adds.
type sliceNames struct {
	starts, ends, axes, sliced string // values
	prefix                     string // of node names
}

// freshNames picks names under namePrefix that no value, node, input or
// initializer of g uses yet.
func (g *graph) freshNames() sliceNames {
	used := map[string]bool{}
	for _, n := range g.nodes {
		used[n.name] = true
	}
	for k := range g.inputNames {
		used[k] = true
	}
	for k := range g.inits {
		used[k] = true
	}
	for k := range g.producer {
		used[k] = true
	}
	for i := 1; ; i++ {
		p := namePrefix
		if i > 1 {
			p = fmt.Sprintf("%s_%d", namePrefix, i)
		}
		s := sliceNames{starts: p + "/starts", ends: p + "/ends", axes: p + "/axes", sliced: p + "/hidden", prefix: p}
		if !slices.ContainsFunc([]string{s.starts, s.ends, s.axes, s.sliced, s.prefix + "/Slice",
			s.starts + "/Constant", s.ends + "/Constant", s.axes + "/Constant"}, func(n string) bool { return used[n] }) {
			return s
		}
	}
}

// appendSliceNodes appends, as GraphProto.node fields, three Constant nodes
// and Slice(hidden, starts, ends, axes) → names.sliced.
func appendSliceNodes(dst []byte, hidden string, names sliceNames) []byte {
	dst = appendInt64sConstant(dst, names.starts, -1)
	dst = appendInt64sConstant(dst, names.ends, math.MaxInt64)
	dst = appendInt64sConstant(dst, names.axes, seqAxis)
	var n []byte
	for _, in := range []string{hidden, names.starts, names.ends, names.axes} {
		n = appendStringField(n, nodeInput, in)
	}
	n = appendStringField(n, nodeOutput, names.sliced)
	n = appendStringField(n, nodeName, names.prefix+"/Slice")
	n = appendStringField(n, nodeOpType, "Slice")
	return appendBytesField(dst, graphNode, n)
}

// seqDimOne re-encodes a ValueInfoProto of a rank-3 tensor with its second
// dimension set to 1 (dim_value, keeping any denotation). A value info of
// another rank, or without a shape, is returned as it is.
func seqDimOne(vi []byte) ([]byte, error) {
	return editNested(vi, []int{valueInfoType, typeTensor, tensorShape}, func(shape []byte) ([]byte, error) {
		rank := 0
		if err := eachField(shape, func(f field) error {
			if f.num == shapeDim {
				rank++
			}
			return nil
		}); err != nil || rank != 3 {
			return shape, err
		}
		out, _, err := replaceNth(shape, shapeDim, seqAxis, func(dim []byte) ([]byte, error) {
			out := appendVarintField(nil, dimValue, 1)
			err := eachField(dim, func(f field) error {
				if f.num == dimDenote {
					out = append(out, dim[f.start:f.end]...)
				}
				return nil
			})
			return out, err
		})
		return out, err
	})
}

// editNested applies edit to the message reached through the first
// occurrence of each field in path, re-encoding the messages on the way.
func editNested(msg []byte, path []int, edit func([]byte) ([]byte, error)) ([]byte, error) {
	if len(path) == 0 {
		return edit(msg)
	}
	out, _, err := replaceNth(msg, path[0], 0, func(sub []byte) ([]byte, error) {
		return editNested(sub, path[1:], edit)
	})
	return out, err
}
