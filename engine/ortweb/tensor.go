//go:build js && wasm

package ortweb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
)

// Tensor is an onnxruntime-web tensor: host data made by NewTensor, or a run
// output in CPU memory or in a GPU buffer. Either kind can be a Run input
// without a copy through Go.
type Tensor struct {
	eng   *Engine
	v     js.Value // ort.Tensor; undefined once released
	dtype engine.DType
	shape []int64
	n     int
	onGPU bool
}

var _ engine.Tensor = (*Tensor)(nil)

var errReleased = errors.New("tensor already released")

// ortTypes maps engine element types to onnxruntime-web's type names.
var ortTypes = map[engine.DType]string{
	engine.Float32: "float32",
	engine.Float16: "float16",
	engine.Int64:   "int64",
	engine.Bool:    "bool",
}

// dtypeOf maps an onnxruntime-web type name to an engine element type.
func dtypeOf(name string) (engine.DType, bool) {
	for d, n := range ortTypes {
		if n == name {
			return d, true
		}
	}
	return 0, false
}

// elemSize is the bytes per element of the types Float32s reads.
func elemSize(d engine.DType) int {
	switch d {
	case engine.Float16:
		return 2
	case engine.Int64:
		return 8
	case engine.Bool:
		return 1
	}
	return 4
}

// newHostTensor copies data into a typed array with one bulk copy and wraps
// it in an ort.Tensor: Float32Array, Uint16Array of half bits (onnxruntime-web
// accepts it for float16 and views it as Float16Array where that exists),
// BigInt64Array, or Uint8Array of 0/1 for bool.
func newHostTensor(e *Engine, dtype engine.DType, shape []int64, data any) (*Tensor, error) {
	host, err := engine.HostData(dtype, shape, data)
	if err != nil {
		return nil, err
	}
	var arr js.Value
	switch d := host.(type) {
	case []float32:
		arr = jsutil.TypedArray(d)
	case []uint16:
		arr = jsutil.TypedArray(d)
	case []int64:
		arr = jsutil.TypedArray(d)
	case []bool:
		arr = jsutil.TypedArray(d)
	default:
		return nil, fmt.Errorf("%w: host data %T", engine.ErrUnsupportedDType, host)
	}
	n, _ := engine.NumElements(shape) // HostData checked the shape
	v, err := jsutil.New(e.ort.Get("Tensor"), ortTypes[dtype], arr, jsutil.Array(shape))
	if err != nil {
		return nil, fmt.Errorf("new %s tensor %v: %w", dtype, shape, err)
	}
	return &Tensor{eng: e, v: v, dtype: dtype, shape: slices.Clone(shape), n: n}, nil
}

// wrapOutput wraps a tensor a run returned.
func wrapOutput(e *Engine, v js.Value) (*Tensor, error) {
	if !v.Truthy() {
		return nil, errors.New("missing from the run's result")
	}
	dt, ok := dtypeOf(v.Get("type").String())
	if !ok {
		v.Call("dispose")
		return nil, fmt.Errorf("%w: %s", engine.ErrUnsupportedDType, v.Get("type").String())
	}
	shape := dims(v.Get("dims"))
	n, err := engine.NumElements(shape)
	if err != nil {
		v.Call("dispose")
		return nil, err
	}
	onGPU := v.Get("location").String() == "gpu-buffer"
	return &Tensor{eng: e, v: v, dtype: dt, shape: shape, n: n, onGPU: onGPU}, nil
}

// DType is the element type.
func (t *Tensor) DType() engine.DType { return t.dtype }

// Shape returns a copy of the dimensions.
func (t *Tensor) Shape() []int64 { return slices.Clone(t.shape) }

// OnGPU says whether the tensor's data is in a GPU buffer.
func (t *Tensor) OnGPU() bool { return t.onGPU }

// Float32s copies elements [off, off+n) of a Float32 or Float16 tensor,
// converting only that range from half precision. From a GPU buffer only
// that byte range (widened to 4-byte alignment) is copied.
func (t *Tensor) Float32s(off, n int) ([]float32, error) {
	if t.dtype != engine.Float32 && t.dtype != engine.Float16 {
		return nil, fmt.Errorf("%w: Float32s of a %s tensor", engine.ErrUnsupportedDType, t.dtype)
	}
	if err := t.span(off, n); err != nil {
		return nil, err
	}
	if t.dtype == engine.Float32 {
		dst := make([]float32, n)
		return dst, t.readRange(off, n, jsutil.ByteView(dst))
	}
	half := make([]uint16, n)
	if err := t.readRange(off, n, jsutil.ByteView(half)); err != nil {
		return nil, err
	}
	dst := make([]float32, n)
	engine.FromHalf(dst, half)
	return dst, nil
}

// readRange copies elements [off, off+n) into raw, the bytes of a slice of
// the tensor's element type.
func (t *Tensor) readRange(off, n int, raw []byte) error {
	size := elemSize(t.dtype)
	if t.onGPU {
		return t.eng.readGPU(t.v.Get("gpuBuffer"), off*size, raw)
	}
	sub := jsutil.Bytes(t.v.Get("data")).Call("subarray", off*size, (off+n)*size)
	js.CopyBytesToGo(raw, sub)
	return nil
}

// span checks that the tensor is live and [off, off+n) lies inside it.
func (t *Tensor) span(off, n int) error {
	if t.v.IsUndefined() {
		return errReleased
	}
	if off < 0 || n < 0 || off > t.n || n > t.n-off {
		return fmt.Errorf("range [%d, %d+%d) outside a tensor of %d elements", off, off, n, t.n)
	}
	return nil
}

// Release frees the tensor's memory (a GPU buffer goes back to
// onnxruntime-web); later calls do nothing.
func (t *Tensor) Release() {
	if t.v.IsUndefined() {
		return
	}
	t.v.Call("dispose")
	t.v = js.Undefined()
}

// readGPU copies len(dst) bytes at byte offset off of a GPU buffer and
// counts the bytes that crossed.
func (e *Engine) readGPU(buf js.Value, off int, dst []byte) error {
	moved, err := e.gpu.read(context.Background(), buf, off, len(dst), dst)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.stats.GPUReadBytes += int64(moved)
	e.stats.GPUReads++
	e.mu.Unlock()
	return nil
}
