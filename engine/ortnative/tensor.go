//go:build cgo && !js && !windows

package ortnative

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/pocketvlm/smolvlm/engine"
)

// Tensor is an engine.Tensor held in onnxruntime's memory: host tensors made
// by NewTensor and outputs of Run alike, so either can be a Run input without
// a copy. On WebGPU the decoder's present.* outputs stay in GPU buffers: they
// can only be fed back to a session, not read. Reads may run concurrently;
// Release must not race with them.
type Tensor struct {
	v        valueHandle
	dtype    engine.DType
	shape    []int64
	n        int
	data     unsafe.Pointer // onnxruntime's host buffer, valid until Release; nil on the device
	onDevice bool
}

// errOnDevice reports a read of a tensor kept in device memory.
var errOnDevice = errors.New("tensor is in GPU memory, where only a session can read it")

var _ engine.Tensor = (*Tensor)(nil)

// errReleased reports use of a released tensor.
var errReleased = errors.New("tensor already released")

// DType is the element type.
func (t *Tensor) DType() engine.DType { return t.dtype }

// Shape returns a copy of the dimensions.
func (t *Tensor) Shape() []int64 { return slices.Clone(t.shape) }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.n }

// Float32s copies elements [off, off+n) of a Float32 or Float16 tensor,
// converting only that range from half precision.
func (t *Tensor) Float32s(off, n int) ([]float32, error) {
	if err := t.span(off, n); err != nil {
		return nil, err
	}
	switch t.dtype {
	case engine.Float32:
		return slices.Clone(elems[float32](t)[off : off+n]), nil
	case engine.Float16:
		dst := make([]float32, n)
		engine.FromHalf(dst, elems[uint16](t)[off:off+n])
		return dst, nil
	}
	return nil, fmt.Errorf("%w: Float32s of a %s tensor", engine.ErrUnsupportedDType, t.dtype)
}

// Halfs copies elements [off, off+n) of a Float16 tensor as raw half bits.
func (t *Tensor) Halfs(off, n int) ([]uint16, error) {
	return read[uint16](t, engine.Float16, off, n)
}

// Int64s copies elements [off, off+n) of an Int64 tensor.
func (t *Tensor) Int64s(off, n int) ([]int64, error) {
	return read[int64](t, engine.Int64, off, n)
}

// Bools copies elements [off, off+n) of a Bool tensor.
func (t *Tensor) Bools(off, n int) ([]bool, error) {
	return read[bool](t, engine.Bool, off, n)
}

// Release frees the tensor's memory; later calls do nothing.
func (t *Tensor) Release() {
	if t.v != nil {
		releaseValue(t.v)
	}
	t.v, t.data = nil, nil
}

// span checks that the tensor is live and [off, off+n) lies inside it.
func (t *Tensor) span(off, n int) error {
	if t.v == nil {
		return errReleased
	}
	if t.onDevice {
		return errOnDevice
	}
	if off < 0 || n < 0 || off > t.n || n > t.n-off {
		return fmt.Errorf("range [%d, %d+%d) outside a tensor of %d elements", off, off, n, t.n)
	}
	return nil
}

// read copies a range of a tensor whose element type must be want.
func read[T any](t *Tensor, want engine.DType, off, n int) ([]T, error) {
	if t.dtype != want {
		return nil, fmt.Errorf("%w: reading %s elements of a %s tensor", engine.ErrUnsupportedDType, want, t.dtype)
	}
	if err := t.span(off, n); err != nil {
		return nil, err
	}
	return slices.Clone(elems[T](t)[off : off+n]), nil
}

// elems views the tensor's buffer as n values of T; T must match the dtype.
func elems[T any](t *Tensor) []T {
	if t.data == nil {
		return nil
	}
	return unsafe.Slice((*T)(t.data), t.n)
}

// elemOf maps an engine DType to onnxruntime's element type.
func elemOf(d engine.DType) (int, bool) {
	switch d {
	case engine.Float32:
		return elemFloat, true
	case engine.Float16:
		return elemFloat16, true
	case engine.Int64:
		return elemInt64, true
	case engine.Bool:
		return elemBool, true
	}
	return 0, false
}

// dtypeOf maps onnxruntime's element type to an engine DType.
func dtypeOf(elem int) (engine.DType, bool) {
	switch elem {
	case elemFloat:
		return engine.Float32, true
	case elemFloat16:
		return engine.Float16, true
	case elemInt64:
		return engine.Int64, true
	case elemBool:
		return engine.Bool, true
	}
	return 0, false
}

// elemName names an ONNX element type for errors (TensorProto.DataType).
func elemName(elem int) string {
	names := []string{"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
		"string", "bool", "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16"}
	if elem >= 0 && elem < len(names) {
		return names[elem]
	}
	return fmt.Sprintf("onnx type %d", elem)
}

// newHostTensor allocates a tensor in onnxruntime's memory and copies data
// (accepted as engine.HostData documents) into it.
func newHostTensor(dtype engine.DType, shape []int64, data any) (*Tensor, error) {
	elem, ok := elemOf(dtype)
	if !ok {
		return nil, fmt.Errorf("%w: %s", engine.ErrUnsupportedDType, dtype)
	}
	host, err := engine.HostData(dtype, shape, data)
	if err != nil {
		return nil, err
	}
	n, _ := engine.NumElements(shape) // checked by HostData
	v, ptr, err := createTensor(elem, shape)
	if err != nil {
		return nil, fmt.Errorf("new %s tensor %v: %w", dtype, shape, err)
	}
	t := &Tensor{v: v, dtype: dtype, shape: slices.Clone(shape), n: n, data: ptr}
	switch d := host.(type) {
	case []float32:
		copy(elems[float32](t), d)
	case []uint16:
		copy(elems[uint16](t), d)
	case []int64:
		copy(elems[int64](t), d)
	case []bool:
		copy(elems[bool](t), d)
	}
	return t, nil
}

// wrapValue wraps a value onnxruntime allocated, in device memory if
// onDevice; on error it releases v.
func wrapValue(v valueHandle, onDevice bool) (*Tensor, error) {
	elem, shape, data, err := valueInfo(v)
	if err == nil {
		t := &Tensor{v: v, shape: shape, data: data, onDevice: onDevice}
		if onDevice {
			t.data = nil // a GPU buffer's handle, not host memory
		}
		var ok bool
		if t.dtype, ok = dtypeOf(elem); !ok {
			err = fmt.Errorf("%w: %s", engine.ErrUnsupportedDType, elemName(elem))
		} else if t.n, err = engine.NumElements(shape); err == nil {
			return t, nil
		}
	}
	releaseValue(v)
	return nil, err
}
