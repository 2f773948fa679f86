package onnxedit

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/pocketvlm/smolvlm/engine"
)

// StrippedTensor is one entry of the full-size skeleton's stripped.json: an
// initializer removed from the file, to be refilled for measurements.
type StrippedTensor struct {
	Name     string  `json:"name"`
	DataType int     `json:"data_type"`
	Dims     []int64 `json:"dims"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
}

// dataTypeFloat16 is ONNX TensorProto's float16, which the skeleton strips
// too (dataTypeFloat and dataTypeUint8 are in dequant.go).
const dataTypeFloat16 = 10

// Refill returns model with an initializer added for each stripped tensor
// (PlanAddInitializers), uniform random values of its mean and standard
// deviation (random bytes for uint8): real shapes and sizes, no real
// weights.
func Refill(model []byte, tensors []StrippedTensor, seed uint64) ([]byte, error) {
	rng := rand.New(rand.NewPCG(seed, seed))
	var inits []Initializer
	for _, st := range tensors {
		n, err := engine.NumElements(st.Dims)
		if err != nil {
			return nil, err
		}
		var raw []byte
		switch st.DataType {
		case dataTypeUint8:
			raw = make([]byte, n)
			for i := range raw {
				raw[i] = byte(rng.Uint32())
			}
		case dataTypeFloat, dataTypeFloat16:
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(st.Mean + st.Std*math.Sqrt(3)*(2*rng.Float64()-1))
			}
			raw = floatBytes(st.DataType, v)
		default:
			return nil, fmt.Errorf("%s: data type %d", st.Name, st.DataType)
		}
		inits = append(inits, Initializer{Name: st.Name, DataType: st.DataType, Dims: st.Dims, RawLen: int64(len(raw)),
			Fill: func(w io.Writer) error { _, err := w.Write(raw); return err }})
	}
	p, err := PlanAddInitializers(bytes.NewReader(model), int64(len(model)), inits)
	if err != nil {
		return nil, err
	}
	return p.Apply(model), nil
}

// withEdits returns model with edits applied to its graph, for tests that
// build models from others.
func withEdits(model []byte, edits ...edit) ([]byte, error) {
	m, err := parseModel(memSource(model))
	if err != nil {
		return nil, err
	}
	p, err := m.plan(edits)
	if err != nil {
		return nil, err
	}
	return p.Apply(model), nil
}

// floatBytes encodes v little-endian as float32 or float16.
func floatBytes(dataType int, v []float32) []byte {
	if dataType == dataTypeFloat16 {
		h := make([]uint16, len(v))
		engine.ToHalf(h, v)
		b := make([]byte, 0, 2*len(h))
		for _, x := range h {
			b = append(b, byte(x), byte(x>>8))
		}
		return b
	}
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}
