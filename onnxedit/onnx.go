package onnxedit

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Field numbers of the ONNX messages this package reads or writes
// (onnx/onnx.proto3 in github.com/onnx/onnx).
const (
	modelIRVersion   = 1 // ModelProto.ir_version
	modelGraph       = 7 // ModelProto.graph
	modelOpsetImport = 8 // ModelProto.opset_import

	opsetDomain  = 1 // OperatorSetIdProto.domain
	opsetVersion = 2 // OperatorSetIdProto.version

	graphNode        = 1  // GraphProto.node
	graphInitializer = 5  // GraphProto.initializer
	graphInput       = 11 // GraphProto.input
	graphOutput      = 12 // GraphProto.output
	graphValueInfo   = 13 // GraphProto.value_info

	nodeInput     = 1 // NodeProto.input
	nodeOutput    = 2 // NodeProto.output
	nodeName      = 3 // NodeProto.name
	nodeOpType    = 4 // NodeProto.op_type
	nodeAttribute = 5 // NodeProto.attribute
	nodeDomain    = 7 // NodeProto.domain

	attrName   = 1  // AttributeProto.name
	attrTensor = 5  // AttributeProto.t
	attrType   = 20 // AttributeProto.type

	tensorDims     = 1 // TensorProto.dims
	tensorDataType = 2 // TensorProto.data_type
	tensorInt64    = 7 // TensorProto.int64_data
	tensorName     = 8 // TensorProto.name
	tensorRawData  = 9 // TensorProto.raw_data

	valueInfoName = 1 // ValueInfoProto.name
	valueInfoType = 2 // ValueInfoProto.type

	typeTensor  = 1 // TypeProto.tensor_type
	tensorShape = 2 // TypeProto.Tensor.shape
	shapeDim    = 1 // TensorShapeProto.dim
	dimValue    = 1 // TensorShapeProto.Dimension.dim_value
	dimDenote   = 3 // TensorShapeProto.Dimension.denotation

	// attrTypeTensor is AttributeProto.AttributeType.TENSOR.
	attrTypeTensor = 4
	// dataTypeInt64 is TensorProto.DataType.INT64.
	dataTypeInt64 = 7
)

// maxSmallTensor is the largest initializer (TensorProto) the parser reads
// whole; of larger ones it reads only the name. The constants the rewrites
// look for (a Slice's starts, ends, axes and steps) are a few dozen bytes.
const maxSmallTensor = 4 << 10

// model is a ModelProto, read only as far as the rewrite needs.
type model struct {
	src   *source
	graph fileField // ModelProto.graph
	// opset is the version of the default ("" or "ai.onnx") operator set.
	opset int64
}

// part is a field of the graph: where it lies in the file and, when read,
// its payload.
type part struct {
	at  fileField
	msg []byte
}

// node is one NodeProto of the main graph.
type node struct {
	part
	inputs  []string
	outputs []string
	name    string
	opType  string
	domain  string
}

// graph is the model's GraphProto: its nodes and the names it defines.
type graph struct {
	src   *source
	nodes []node
	// outputs and valueInfos are the GraphProto.output and value_info
	// fields, by value name.
	outputs    map[string]part
	valueInfos map[string]part
	// inputNames are the names of graph inputs; inits maps an
	// initializer's name to its field, whose TensorProto is read only when
	// it is small (see tensor).
	inputNames map[string]bool
	inits      map[string]part
	producer   map[string]int // value name → index of the node making it
	consumers  map[string]int // value name → how many node inputs read it
}

// parseModel reads the top level of a ModelProto. Anything that does not
// parse, or lacks an IR version or a graph, is not an ONNX model; a failure
// to read src is returned as it is.
func parseModel(src *source) (*model, error) {
	m := &model{src: src, opset: -1}
	graphs, haveIR := 0, false
	err := src.eachField(0, src.size, func(f fileField) error {
		switch f.num {
		case modelIRVersion:
			haveIR = f.typ == wireVarint
		case modelGraph:
			graphs++
			m.graph = f
			if f.typ != wireBytes {
				return fmt.Errorf("%w: field %d is not a message", errWire, f.num)
			}
		case modelOpsetImport:
			msg, err := src.message(f)
			if err != nil {
				return err
			}
			return m.readOpset(msg)
		}
		return nil
	})
	switch {
	case isReadError(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w (%w)", ErrNotONNX, err)
	case !haveIR || graphs == 0:
		return nil, fmt.Errorf("%w (no IR version or no graph)", ErrNotONNX)
	case graphs > 1:
		// Protobuf would merge them; no exporter writes that.
		return nil, fmt.Errorf("%w: the model holds %d graphs", ErrUnexpectedStructure, graphs)
	}
	return m, nil
}

func (m *model) readOpset(msg []byte) error {
	domain, version := "", int64(-1)
	err := eachField(msg, func(f field) error {
		var err error
		switch f.num {
		case opsetDomain:
			domain, err = f.str()
		case opsetVersion:
			if f.typ != wireVarint {
				return fmt.Errorf("%w: opset version is not a varint", errWire)
			}
			version = int64(f.u)
		}
		return err
	})
	if err == nil && (domain == "" || domain == "ai.onnx") {
		m.opset = version
	}
	return err
}

// parseModelGraph parses the model of size bytes that src reads, and its
// main graph.
func parseModelGraph(src io.ReaderAt, size int64) (*model, *graph, error) {
	m, err := parseModel(newSource(src, size))
	if err != nil {
		return nil, nil, err
	}
	g, err := m.parseGraph()
	if err != nil {
		return nil, nil, err
	}
	return m, g, nil
}

// parseGraph reads the model's graph: every node and the names of inputs,
// initializers, outputs and value infos. Of an initializer larger than
// maxSmallTensor only the name is read, its data skipped.
func (m *model) parseGraph() (*graph, error) {
	g := &graph{
		src:        m.src,
		outputs:    map[string]part{},
		valueInfos: map[string]part{},
		inputNames: map[string]bool{},
		inits:      map[string]part{},
		producer:   map[string]int{},
		consumers:  map[string]int{},
	}
	err := m.src.eachField(m.graph.payload, m.graph.end, func(f fileField) error {
		switch f.num {
		case graphNode:
			msg, err := m.src.message(f)
			if err != nil {
				return err
			}
			n, err := parseNode(msg)
			if err != nil {
				return err
			}
			n.at = f
			for _, out := range n.outputs {
				if out != "" {
					g.producer[out] = len(g.nodes)
				}
			}
			for _, in := range n.inputs {
				g.consumers[in]++
			}
			g.nodes = append(g.nodes, n)
		case graphInitializer:
			name, t, err := m.src.initializer(f)
			if err != nil {
				return err
			}
			g.inits[name] = t
		case graphInput, graphOutput, graphValueInfo:
			msg, err := m.src.message(f)
			if err != nil {
				return err
			}
			name, err := stringField(msg, valueInfoName)
			if err != nil {
				return err
			}
			switch f.num {
			case graphInput:
				g.inputNames[name] = true
			case graphOutput:
				g.outputs[name] = part{f, msg}
			default:
				g.valueInfos[name] = part{f, msg}
			}
		}
		return nil
	})
	switch {
	case isReadError(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: its graph does not parse (%w)", ErrUnexpectedStructure, err)
	}
	return g, nil
}

// initializer reads the name of the TensorProto in f, and the whole
// TensorProto when it holds at most maxSmallTensor bytes; of a larger one
// it reads the tags and lengths of its fields and the name only.
func (s *source) initializer(f fileField) (name string, t part, err error) {
	if f.typ != wireBytes {
		return "", part{}, fmt.Errorf("%w: field %d is not a message", errWire, f.num)
	}
	if f.end-f.payload <= maxSmallTensor {
		msg, err := s.message(f)
		if err != nil {
			return "", part{}, err
		}
		name, err = stringField(msg, tensorName)
		return name, part{f, msg}, err
	}
	err = s.eachField(f.payload, f.end, func(tf fileField) error {
		if tf.num != tensorName {
			return nil
		}
		nf, err := s.read(tf)
		if err == nil {
			name, err = nf.str()
		}
		return err
	})
	return name, part{at: f}, err
}

// tensor returns the TensorProto of the initializer called name, reading
// it if the parse did not (from memory that costs nothing). ok is false for
// a name that is no initializer or also a graph input, which a caller could
// override.
func (g *graph) tensor(name string) (t []byte, ok bool, err error) {
	p, isInit := g.inits[name]
	if !isInit || g.inputNames[name] {
		return nil, false, nil
	}
	if p.msg != nil {
		return p.msg, true, nil
	}
	t, err = g.src.message(p.at)
	return t, err == nil, err
}

// parseNode reads a NodeProto's inputs, outputs, name, operator and domain;
// the caller sets where it lies (n.at).
func parseNode(msg []byte) (node, error) {
	n := node{part: part{msg: msg}}
	err := eachField(msg, func(f field) error {
		var (
			s   string
			err error
		)
		switch f.num {
		case nodeInput, nodeOutput, nodeName, nodeOpType, nodeDomain:
			if s, err = f.str(); err != nil {
				return err
			}
		}
		switch f.num {
		case nodeInput:
			n.inputs = append(n.inputs, s)
		case nodeOutput:
			n.outputs = append(n.outputs, s)
		case nodeName:
			n.name = s
		case nodeOpType:
			n.opType = s
		case nodeDomain:
			n.domain = s
		}
		return nil
	})
	return n, err
}

// stringField is the last value of string field num in msg ("" if absent),
// as protobuf reads a repeated singular field.
func stringField(msg []byte, num int) (string, error) {
	var s string
	err := eachField(msg, func(f field) error {
		if f.num != num {
			return nil
		}
		var err error
		s, err = f.str()
		return err
	})
	return s, err
}

// is reports whether n is the operator op of the default domain, or of
// domain when one is given.
func (n *node) is(op string, domain ...string) bool {
	if n.opType != op {
		return false
	}
	if len(domain) == 0 {
		return n.domain == "" || n.domain == "ai.onnx"
	}
	for _, d := range domain {
		if n.domain == d {
			return true
		}
	}
	return false
}

// isConstant reports whether value is an initializer or the output of a
// Constant node: something without a sequence dimension to slice.
func (g *graph) isConstant(value string) bool {
	if _, ok := g.inits[value]; ok && !g.inputNames[value] {
		return true
	}
	i, ok := g.producer[value]
	return ok && g.nodes[i].is("Constant")
}

// constInt64s reads a small int64 constant: an initializer of at most
// maxSmallTensor bytes (the parse read it) or a Constant node's value
// attribute. ok is false for anything else.
func (g *graph) constInt64s(value string) (v []int64, ok bool) {
	t, ok := g.constTensor(value)
	if !ok {
		return nil, false
	}
	v, err := tensorInt64s(t)
	return v, err == nil
}

// constFloat32 reads a small float32 constant of one value (a scalar, or
// any shape of one element), held as constInt64s's are.
func (g *graph) constFloat32(value string) (v float32, ok bool) {
	t, ok := g.constTensor(value)
	if !ok {
		return 0, false
	}
	v, err := tensorFloat32(t)
	return v, err == nil
}

// constTensor is the TensorProto of a small constant: an initializer of at
// most maxSmallTensor bytes (the parse read it) or a Constant node's value
// attribute.
func (g *graph) constTensor(value string) (t []byte, ok bool) {
	if init, isInit := g.inits[value]; isInit && !g.inputNames[value] {
		return init.msg, init.msg != nil
	}
	i, isNode := g.producer[value]
	if !isNode || !g.nodes[i].is("Constant") {
		return nil, false
	}
	err := eachField(g.nodes[i].msg, func(f field) error {
		if f.num != nodeAttribute {
			return nil
		}
		attr, err := f.message()
		if err != nil {
			return err
		}
		name, err := stringField(attr, attrName)
		if err != nil || name != "value" {
			return err
		}
		return eachField(attr, func(f field) error {
			if f.num == attrTensor {
				t, err = f.message()
			}
			return err
		})
	})
	return t, err == nil && t != nil
}

// tensorFloat32 reads the one value of a FLOAT TensorProto held in
// raw_data or float_data.
func tensorFloat32(t []byte) (float32, error) {
	var (
		data     []byte
		dataType uint64
		values   int
	)
	err := eachField(t, func(f field) error {
		switch {
		case f.num == tensorDataType:
			dataType = f.u
		case f.num == tensorRawData:
			data, values = f.data, len(f.data)/4
		case f.num == tensorFloatData && f.typ == wireBytes: // packed
			data, values = f.data, len(f.data)/4
		case f.num == tensorFloatData && f.typ == wireFixed32:
			data, values = binary.LittleEndian.AppendUint32(nil, uint32(f.u)), values+1
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if dataType != dataTypeFloat || values != 1 || len(data) != 4 {
		return 0, fmt.Errorf("not one FLOAT value (data type %d, %d values)", dataType, values)
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(data)), nil
}

// tensorInt64s reads the values of an INT64 TensorProto held in raw_data or
// int64_data.
func tensorInt64s(t []byte) ([]int64, error) {
	var (
		v        []int64
		raw      []byte
		dataType uint64
	)
	err := eachField(t, func(f field) error {
		var err error
		switch f.num {
		case tensorDataType:
			dataType = f.u
		case tensorInt64:
			v, err = f.int64s(v)
		case tensorRawData:
			raw, err = f.message()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if dataType != dataTypeInt64 {
		return nil, fmt.Errorf("tensor data type %d is not INT64", dataType)
	}
	if raw != nil {
		if len(raw)%8 != 0 {
			return nil, fmt.Errorf("INT64 raw data of %d bytes", len(raw))
		}
		v = v[:0]
		for i := 0; i < len(raw); i += 8 {
			var x uint64
			for j := range 8 {
				x |= uint64(raw[i+j]) << (8 * j)
			}
			v = append(v, int64(x))
		}
	}
	return v, nil
}
