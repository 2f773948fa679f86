package onnxedit

import (
	"encoding/binary"
	"maps"
	"math"
	"slices"
)

// A tiny ONNX writer for tests: enough to build graphs of the shapes the
// rewrite must accept or refuse.

// tnode is a NodeProto to encode.
type tnode struct {
	op, domain, name string
	in, out          []string
	ints             map[string]int64 // INT attributes
}

// tvalue is a ValueInfoProto of a tensor; each dim is an int (dim_value)
// or a string (dim_param).
type tvalue struct {
	name string
	elem int
	dims []any
}

// tmodel is a ModelProto to encode.
type tmodel struct {
	opset      int64
	nodes      []tnode
	inits      []string // float scalars [1] of these names
	floatInits map[string][]float32
	int64Inits map[string][]int64
	inputs     []tvalue
	outputs    []tvalue
	valueInfos []tvalue
}

func (m tmodel) encode() []byte {
	var g []byte
	for _, n := range m.nodes {
		g = appendBytesField(g, graphNode, n.encode())
	}
	g = appendStringField(g, 2, "test") // GraphProto.name
	for _, name := range m.inits {
		var t []byte
		t = appendBytesField(t, tensorDims, appendVarint(nil, 1))
		t = appendVarintField(t, tensorDataType, 1)
		t = appendStringField(t, tensorName, name)
		t = appendBytesField(t, tensorRawData, binary.LittleEndian.AppendUint32(nil, 0x3f800000))
		g = appendBytesField(g, graphInitializer, t)
	}
	for _, name := range slices.Sorted(maps.Keys(m.floatInits)) {
		vals := m.floatInits[name]
		var raw []byte
		for _, v := range vals {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		var t []byte
		t = appendBytesField(t, tensorDims, appendVarint(nil, uint64(len(vals))))
		t = appendVarintField(t, tensorDataType, dataTypeFloat)
		t = appendStringField(t, tensorName, name)
		t = appendBytesField(t, tensorRawData, raw)
		g = appendBytesField(g, graphInitializer, t)
	}
	for _, name := range slices.Sorted(maps.Keys(m.int64Inits)) {
		vals := m.int64Inits[name]
		var data []byte
		for _, v := range vals {
			data = appendVarint(data, uint64(v))
		}
		var t []byte
		t = appendBytesField(t, tensorDims, appendVarint(nil, uint64(len(vals))))
		t = appendVarintField(t, tensorDataType, dataTypeInt64)
		t = appendBytesField(t, tensorInt64, data) // packed int64_data
		t = appendStringField(t, tensorName, name)
		g = appendBytesField(g, graphInitializer, t)
	}
	for _, v := range m.inputs {
		g = appendBytesField(g, graphInput, v.encode())
	}
	for _, v := range m.outputs {
		g = appendBytesField(g, graphOutput, v.encode())
	}
	for _, v := range m.valueInfos {
		g = appendBytesField(g, graphValueInfo, v.encode())
	}
	var b []byte
	b = appendVarintField(b, modelIRVersion, 8)
	b = appendStringField(b, 2, "onnxedit-test") // producer_name
	b = appendBytesField(b, modelGraph, g)
	var opset []byte
	opset = appendStringField(opset, opsetDomain, "")
	opset = appendVarintField(opset, opsetVersion, uint64(m.opset))
	b = appendBytesField(b, modelOpsetImport, opset)
	return b
}

func (n tnode) encode() []byte {
	var b []byte
	for _, in := range n.in {
		b = appendStringField(b, nodeInput, in)
	}
	for _, out := range n.out {
		b = appendStringField(b, nodeOutput, out)
	}
	b = appendStringField(b, nodeName, n.name)
	b = appendStringField(b, nodeOpType, n.op)
	if n.domain != "" {
		b = appendStringField(b, nodeDomain, n.domain)
	}
	for _, name := range slices.Sorted(maps.Keys(n.ints)) {
		var attr []byte
		attr = appendStringField(attr, attrName, name)
		attr = appendVarintField(attr, attrInt, uint64(n.ints[name]))
		attr = appendVarintField(attr, attrType, attrTypeInt)
		b = appendBytesField(b, nodeAttribute, attr)
	}
	return b
}

func (v tvalue) encode() []byte {
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		switch d := d.(type) {
		case int:
			dim = appendVarintField(dim, dimValue, uint64(d))
		case string:
			dim = appendStringField(dim, 2, d) // dim_param
		}
		shape = appendBytesField(shape, shapeDim, dim)
	}
	var tensor []byte
	tensor = appendVarintField(tensor, 1, uint64(v.elem)) // elem_type
	tensor = appendBytesField(tensor, tensorShape, shape)
	var b []byte
	b = appendStringField(b, valueInfoName, v.name)
	return appendBytesField(b, valueInfoType, appendBytesField(nil, typeTensor, tensor))
}

// logitsShape is how Hugging Face exports declare logits.
var logitsShape = []any{"batch_size", "sequence_length", 49280}

// lmModel is the end of a decoder: a norm Mul, the lm_head MatMul, then
// between the MatMul and logits the element-wise nodes in tail (each taking
// the previous value and, for binary ones, the initializer "c").
func lmModel(tail ...string) tmodel {
	m := tmodel{
		opset:  17,
		inits:  []string{"norm.weight", "lm_head.weight", "c"},
		inputs: []tvalue{{"hidden", 1, []any{"batch_size", "sequence_length", 96}}},
		nodes: []tnode{
			{op: "Mul", name: "/norm/Mul", in: []string{"norm.weight", "hidden"}, out: []string{"normed"}},
			{op: "MatMul", name: "/head/MatMul", in: []string{"normed", "lm_head.weight"}, out: []string{"head_out"}},
		},
		outputs: []tvalue{{LogitsOutput, 1, logitsShape}},
	}
	value := "head_out"
	for _, op := range tail {
		out := value + "/" + op
		in := []string{value}
		switch op {
		case "Add", "Sub", "Mul", "Div":
			in = append(in, "c")
		}
		m.nodes = append(m.nodes, tnode{op: op, name: "/tail/" + op, in: in, out: []string{out}})
		m.valueInfos = append(m.valueInfos, tvalue{value, 1, logitsShape})
		value = out
	}
	last := &m.nodes[len(m.nodes)-1]
	last.out = []string{LogitsOutput}
	return m
}
