package onnxedit

import "io"

// MatMulNBits' accuracy_level attribute: the least precision its input A may
// be computed in. onnxruntime's CPU kernel reads 4 as "quantize A to int8 and
// use integer dot products" (its fast path on CPUs with int8 SIMD), 0 or no
// attribute as "compute in float32". The public SmolVLM q4 export sets none.
const (
	accuracyLevelAttr = "accuracy_level"
	// AccuracyInt8 is accuracy_level 4: A in int8.
	AccuracyInt8 = 4
	// attrTypeInt is AttributeProto.AttributeType.INT.
	attrTypeInt = 2
)

// PlanMatMulNBitsAccuracy plans model (read through src, size bytes) with
// accuracy_level set to level on every MatMulNBits node of its main graph
// that has none; nodes that have one keep theirs. Only the nodes are read
// and rewritten: each gains one small attribute, the rest of the file is
// kept byte for byte. A model without such nodes gives an unchanged plan.
//
// Errors wrap ErrNotONNX or ErrUnexpectedStructure, or are src's own.
func PlanMatMulNBitsAccuracy(src io.ReaderAt, size int64, level int64) (Plan, error) {
	m, g, err := parseModelGraph(src, size)
	if err != nil {
		return Plan{}, err
	}
	field := appendBytesField(nil, nodeAttribute, encodeIntAttr(accuracyLevelAttr, level))
	var edits []edit
	for i := range g.nodes {
		n := &g.nodes[i]
		if !n.is("MatMulNBits", "com.microsoft") {
			continue
		}
		attrs, err := intAttrs(n)
		if err != nil {
			return Plan{}, err
		}
		if _, ok := attrs[accuracyLevelAttr]; ok {
			continue
		}
		payload := n.at.end - n.at.payload
		header := appendVarint(appendTag(nil, graphNode, wireBytes), uint64(payload)+uint64(len(field)))
		edits = append(edits, edit{n.at.start, n.at.end, []Piece{literal(header), original(n.at.payload, n.at.end), literal(field)}})
	}
	if len(edits) == 0 {
		return AsIs(size), nil
	}
	return m.plan(edits)
}
