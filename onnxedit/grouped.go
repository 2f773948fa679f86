package onnxedit

import (
	"encoding/binary"
	"io"
	"maps"
	"math"
	"slices"
)

// More field numbers and types (onnx/onnx.proto).
const (
	attrInts = 8 // AttributeProto.ints
	// attrTypeInts is AttributeProto.AttributeType.INTS.
	attrTypeInts = 7
)

// PlanGroupedAttention plans the decoder's attention reading the shared
// key/value heads where they are, instead of repeating them.
//
// Why: with grouped-query attention (SmolVLM-256M: 9 query heads, 3
// key/value heads) the export repeats each key/value head for its query
// heads before the two attention MatMuls (Hugging Face's repeat_kv:
// Unsqueeze, Tile, Reshape), so every step copies the whole cache three
// times over, twice per layer: at a 1,141-token prompt that is 157 MB of
// copies a step. Reading the cache in place needs only reshapes of the
// queries, which onnxruntime does without copying. Query heads
// g·r … g·r+r−1 (r = heads / kvHeads) share key/value head g, so, with B
// the batch, S the new positions, T all positions and D the head size:
//
//	Q [B, heads, S, D] → [B, kvHeads, r·S, D]; × Kᵀ [B, kvHeads, D, T]
//	→ [B, kvHeads, r·S, T] → scores [B, heads, S, T]
//	probabilities [B, heads, S, T] → [B, kvHeads, r·S, T]; × V [B, kvHeads, T, D]
//	→ [B, kvHeads, r·S, D] → [B, heads, S, D]
//
// are the same dot products as before, and the scale, mask and softmax
// between them are left as they are. heads and kvHeads are the model's
// (text_config's num_attention_heads and num_key_value_heads).
//
// A MatMul is rewritten when its second input is a repeat of one value
// (the cache, present.*) along a new axis 2 by Tile repeats [1, 1, r, 1,
// 1], reshaped (and for the keys transposed, perm [0, 1, 3, 2]); the
// repeat's nodes that nothing else reads go. A model without such MatMuls
// gives an unchanged plan. Errors wrap ErrNotONNX or
// ErrUnexpectedStructure, or are src's own.
func PlanGroupedAttention(src io.ReaderAt, size int64, heads, kvHeads int) (Plan, error) {
	if kvHeads <= 0 || heads <= kvHeads || heads%kvHeads != 0 {
		return AsIs(size), nil // nothing grouped to share
	}
	m, g, outer, err := parseForRewrite(src, size)
	if err != nil {
		return Plan{}, err
	}
	fresh := unusedNamer(g.usedNames(outer))
	rep := int64(heads / kvHeads)
	consumers := maps.Clone(g.consumers)
	var (
		edits  []edit
		gone   = map[int]bool{}
		shapes struct{ groups, heads string }
	)
	for i := range g.nodes {
		n := &g.nodes[i]
		if !n.is("MatMul") || len(n.inputs) != 2 || len(n.outputs) != 1 {
			continue
		}
		cache, transposed, ok := g.repeatedHeads(n.inputs[1], rep)
		if !ok {
			continue
		}
		if shapes.groups == "" {
			shapes.groups, shapes.heads = fresh(groupedPrefix+"/to_groups"), fresh(groupedPrefix+"/to_heads")
		}
		prefix := groupedPrefix + "/" + n.name
		var dst []byte
		if len(edits) == 0 {
			dst = appendInt64sConstant(dst, shapes.groups, 0, int64(kvHeads), -1, 0)
			dst = appendInt64sConstant(dst, shapes.heads, 0, int64(heads), -1, 0)
		}
		grouped, product := fresh(prefix+"/grouped"), fresh(prefix+"/product")
		dst = appendNode(dst, "Reshape", prefix+"/Reshape", []string{n.inputs[0], shapes.groups}, grouped)
		second := cache
		if transposed {
			second = fresh(prefix + "/transposed")
			dst = appendNode(dst, "Transpose", prefix+"/Transpose", []string{cache}, second, encodeIntsAttr("perm", 0, 1, 3, 2))
		}
		dst = appendNode(dst, "MatMul", n.name, []string{grouped, second}, product)
		dst = appendNode(dst, "Reshape", prefix+"/Reshape_heads", []string{product, shapes.heads}, n.outputs[0])
		edits = append(edits, edit{n.at.start, n.at.end, []Piece{literal(dst)}})
		consumers[cache]++ // read directly now, and through the repeat no more
		consumers[n.inputs[1]]--
		g.dropDead(n.inputs[1], consumers, outer, gone)
	}
	return m.planRemoving(size, g, edits, gone)
}

// groupedPrefix starts the names of the values and nodes
// PlanGroupedAttention adds.
const groupedPrefix = "onnxedit/grouped"

// repeatedHeads recognises value as repeat_kv of a cache tensor: Reshape
// of Tile (repeats [1, 1, rep, 1, 1]) of Unsqueeze (axes [2]) of cache, or
// that transposed by perm [0, 1, 3, 2] (transposed).
func (g *graph) repeatedHeads(value string, rep int64) (cache string, transposed, ok bool) {
	n, ok := g.producerOf(value, "Transpose")
	if ok {
		perm, err := intsAttr(n, "perm")
		if err != nil || !slices.Equal(perm, []int64{0, 1, 3, 2}) {
			return "", false, false
		}
		value, transposed = n.inputs[0], true
	}
	reshape, ok := g.producerOf(value, "Reshape")
	if !ok || len(reshape.inputs) != 2 {
		return "", false, false
	}
	tile, ok := g.producerOf(reshape.inputs[0], "Tile")
	if !ok || len(tile.inputs) != 2 {
		return "", false, false
	}
	if repeats, ok := g.constInt64s(tile.inputs[1]); !ok || !slices.Equal(repeats, []int64{1, 1, rep, 1, 1}) {
		return "", false, false
	}
	unsqueeze, ok := g.producerOf(tile.inputs[0], "Unsqueeze")
	if !ok || len(unsqueeze.inputs) != 2 {
		return "", false, false
	}
	if axes, ok := g.constInt64s(unsqueeze.inputs[1]); !ok || !slices.Equal(axes, []int64{2}) {
		return "", false, false
	}
	return unsqueeze.inputs[0], transposed, true
}

// parseForRewrite parses the model's main graph for a rewrite, with the
// names its subgraphs read (graph.subgraphRefs), which must stay.
func parseForRewrite(src io.ReaderAt, size int64) (*model, *graph, map[string]int, error) {
	m, g, err := parseModelGraph(src, size)
	if err != nil {
		return nil, nil, nil, err
	}
	outer, err := g.subgraphRefs()
	return m, g, outer, err
}

// planRemoving is the plan of edits with the nodes in gone removed too;
// without edits, the file of size bytes as it is.
func (m *model) planRemoving(size int64, g *graph, edits []edit, gone map[int]bool) (Plan, error) {
	if len(edits) == 0 {
		return AsIs(size), nil
	}
	for i := range gone {
		edits = append(edits, edit{g.nodes[i].at.start, g.nodes[i].at.end, nil})
	}
	return m.plan(edits)
}

// producerOf is the node of type op (default domain) that makes value.
func (g *graph) producerOf(value, op string) (*node, bool) {
	i, ok := g.producer[value]
	if !ok || !g.nodes[i].is(op) || len(g.nodes[i].outputs) != 1 {
		return nil, false
	}
	return &g.nodes[i], true
}

// dropDead marks for removal the node making value, once nothing reads
// value (consumers, as the rewrite leaves them) and it is no graph output
// nor read by a subgraph, and so on up its inputs.
func (g *graph) dropDead(value string, consumers, outer map[string]int, gone map[int]bool) {
	i, ok := g.producer[value]
	if !ok || gone[i] {
		return
	}
	for _, out := range g.nodes[i].outputs {
		if _, isOutput := g.outputs[out]; consumers[out] > 0 || isOutput || outer[out] > 0 {
			return
		}
	}
	gone[i] = true
	for _, in := range g.nodes[i].inputs {
		if in != "" {
			consumers[in]--
			g.dropDead(in, consumers, outer, gone)
		}
	}
}

// intsAttr reads a node's ints attribute called name (nil when absent).
func intsAttr(n *node, name string) ([]int64, error) {
	var out []int64
	err := eachAttr(n, func(attrName string, attr []byte) error {
		if attrName != name {
			return nil
		}
		return eachField(attr, func(f field) error {
			if f.num != attrInts {
				return nil
			}
			var err error
			out, err = f.int64s(out)
			return err
		})
	})
	return out, err
}

// appendNode appends a node of the default domain with the encoded
// attributes attrs (AttributeProto messages: encodeIntAttr, encodeIntsAttr,
// encodeFloatAttr).
func appendNode(dst []byte, op, name string, inputs []string, output string, attrs ...[]byte) []byte {
	var n []byte
	for _, in := range inputs {
		n = appendStringField(n, nodeInput, in)
	}
	n = appendStringField(n, nodeOutput, output)
	n = appendStringField(n, nodeName, name)
	n = appendStringField(n, nodeOpType, op)
	for _, a := range attrs {
		n = appendBytesField(n, nodeAttribute, a)
	}
	return appendBytesField(dst, graphNode, n)
}

// encodeIntAttr is an INT AttributeProto.
func encodeIntAttr(name string, v int64) []byte {
	a := appendStringField(nil, attrName, name)
	a = appendVarintField(a, attrInt, uint64(v))
	return appendVarintField(a, attrType, attrTypeInt)
}

// encodeIntsAttr is an INTS AttributeProto.
func encodeIntsAttr(name string, v ...int64) []byte {
	a := appendStringField(nil, attrName, name)
	for _, x := range v {
		a = appendVarintField(a, attrInts, uint64(x))
	}
	return appendVarintField(a, attrType, attrTypeInts)
}

// encodeFloatAttr is a FLOAT AttributeProto.
func encodeFloatAttr(name string, v float32) []byte {
	a := appendStringField(nil, attrName, name)
	a = appendTag(a, attrFloat, wireFixed32)
	a = binary.LittleEndian.AppendUint32(a, math.Float32bits(v))
	return appendVarintField(a, attrType, attrTypeFloat)
}

// appendInt64sConstant appends a Constant node whose value is the int64
// tensor v (dims [len(v)]), output as value.
func appendInt64sConstant(dst []byte, value string, v ...int64) []byte {
	var raw []byte
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	return appendConstantNode(dst, value, dataTypeInt64, len(v), raw)
}

// appendConstantNode appends a Constant node whose value is a tensor of
// dataType with dims [n] and raw data raw, output as value.
func appendConstantNode(dst []byte, value string, dataType, n int, raw []byte) []byte {
	var t []byte
	t = appendBytesField(t, tensorDims, appendVarint(nil, uint64(n))) // packed dims
	t = appendVarintField(t, tensorDataType, uint64(dataType))
	t = appendBytesField(t, tensorRawData, raw)
	var attr []byte
	attr = appendStringField(attr, attrName, "value")
	attr = appendBytesField(attr, attrTensor, t)
	attr = appendVarintField(attr, attrType, attrTypeTensor)
	var node []byte
	node = appendStringField(node, nodeOutput, value)
	node = appendStringField(node, nodeName, value+"/Constant")
	node = appendStringField(node, nodeOpType, "Constant")
	node = appendBytesField(node, nodeAttribute, attr)
	return appendBytesField(dst, graphNode, node)
}
