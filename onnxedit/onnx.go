package onnxedit

import (
	"fmt"
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

// model is a ModelProto, read only as far as the rewrite needs.
type model struct {
	buf   []byte
	graph field // ModelProto.graph, positions within buf
	// opset is the version of the default ("" or "ai.onnx") operator set.
	opset int64
}

// node is one NodeProto of the main graph.
type node struct {
	f       field // GraphProto.node, positions within the graph's bytes
	inputs  []string
	outputs []string
	name    string
	opType  string
	domain  string
}

// graph is the model's GraphProto: its nodes and the names it defines.
type graph struct {
	data  []byte
	nodes []node
	// outputs and valueInfos are the GraphProto.output and value_info
	// fields, by value name.
	outputs    map[string]field
	valueInfos map[string]field
	// inputNames and initNames are the names of graph inputs and
	// initializers; inits maps an initializer's name to its TensorProto.
	inputNames map[string]bool
	inits      map[string][]byte
	producer   map[string]int // value name → index of the node making it
	consumers  map[string]int // value name → how many node inputs read it
}

// parseModel reads the top level of a ModelProto. Anything that does not
// parse, or lacks an IR version or a graph, is not an ONNX model.
func parseModel(buf []byte) (*model, error) {
	m := &model{buf: buf, opset: -1}
	graphs, haveIR := 0, false
	err := eachField(buf, func(f field) error {
		switch f.num {
		case modelIRVersion:
			haveIR = f.typ == wireVarint
		case modelGraph:
			graphs++
			m.graph = f
			_, err := f.message()
			return err
		case modelOpsetImport:
			return m.readOpset(f)
		}
		return nil
	})
	switch {
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

func (m *model) readOpset(f field) error {
	msg, err := f.message()
	if err != nil {
		return err
	}
	domain, version := "", int64(-1)
	err = eachField(msg, func(f field) error {
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

// parseGraph reads the model's graph: every node's header and the names of
// inputs, initializers, outputs and value infos. Initializer data is not
// read, only skipped.
func (m *model) parseGraph() (*graph, error) {
	g := &graph{
		data:       m.graph.data,
		outputs:    map[string]field{},
		valueInfos: map[string]field{},
		inputNames: map[string]bool{},
		inits:      map[string][]byte{},
		producer:   map[string]int{},
		consumers:  map[string]int{},
	}
	err := eachField(g.data, func(f field) error {
		switch f.num {
		case graphNode:
			n, err := parseNode(f)
			if err != nil {
				return err
			}
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
			msg, err := f.message()
			if err != nil {
				return err
			}
			name, err := stringField(msg, tensorName)
			if err != nil {
				return err
			}
			g.inits[name] = msg
		case graphInput, graphOutput, graphValueInfo:
			msg, err := f.message()
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
				g.outputs[name] = f
			default:
				g.valueInfos[name] = f
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: its graph does not parse (%w)", ErrUnexpectedStructure, err)
	}
	return g, nil
}

func parseNode(f field) (node, error) {
	n := node{f: f}
	msg, err := f.message()
	if err != nil {
		return n, err
	}
	err = eachField(msg, func(f field) error {
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

// constInt64s reads an int64 constant: an initializer or a Constant node's
// value attribute. ok is false for anything else.
func (g *graph) constInt64s(value string) (v []int64, ok bool) {
	if t, isInit := g.inits[value]; isInit && !g.inputNames[value] {
		v, err := tensorInt64s(t)
		return v, err == nil
	}
	i, isNode := g.producer[value]
	if !isNode || !g.nodes[i].is("Constant") {
		return nil, false
	}
	msg, err := g.nodes[i].f.message()
	if err != nil {
		return nil, false
	}
	var t []byte
	err = eachField(msg, func(f field) error {
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
	if err != nil || t == nil {
		return nil, false
	}
	v, err = tensorInt64s(t)
	return v, err == nil
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
