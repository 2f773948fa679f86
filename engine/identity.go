package engine

// Element types (TensorProto.DataType) for IdentityModel.
const (
	ONNXFloat32 = 1 // TensorProto.FLOAT
	ONNXInt32   = 6 // TensorProto.INT32
)

// IdentityModel encodes the smallest model onnxruntime accepts: an ONNX
// ModelProto (IR version 8, operator set 13) for y = Identity(x), x and y of
// element type elemType and shape [1]. Engines create a session of it to
// start their runtime, or to probe an execution provider, before the real
// model arrives.
func IdentityModel(elemType uint64) []byte {
	valueInfo := func(name string) []byte {
		dim := pbBytes(1, pbVarint(1, 1))                           // Dimension.dim_value
		tensor := append(pbVarint(1, elemType), pbBytes(2, dim)...) // TypeProto.Tensor
		return append(pbString(1, name), pbBytes(2, pbBytes(1, tensor))...)
	}
	node := append(append(pbString(1, "x"), pbString(2, "y")...), pbString(4, "Identity")...)
	graph := append(pbBytes(1, node), pbString(2, "g")...)
	graph = append(graph, pbBytes(11, valueInfo("x"))...)
	graph = append(graph, pbBytes(12, valueInfo("y"))...)
	opset := pbVarint(2, 13)
	model := append(pbVarint(1, 8), pbBytes(7, graph)...) // ir_version 8
	return append(model, pbBytes(8, opset)...)
}

// Protocol buffer wire encoding, just enough for IdentityModel.
func pbKey(field, wire uint64) []byte { return uvarint(field<<3 | wire) }

func pbVarint(field, v uint64) []byte { return append(pbKey(field, 0), uvarint(v)...) }

func pbString(field uint64, s string) []byte { return pbBytes(field, []byte(s)) }

func pbBytes(field uint64, b []byte) []byte {
	return append(append(pbKey(field, 2), uvarint(uint64(len(b)))...), b...)
}

func uvarint(v uint64) []byte {
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}
