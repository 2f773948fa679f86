// Package engine is the small interface the generation loop drives: an ONNX
// runtime that loads sessions and runs them on named tensors. Two backends
// implement it: onnxruntime's C library through cgo (package engine/ortnative,
// native builds) and onnxruntime-web through syscall/js (the browser).
//
// Tensors may live on a device (the GPU in the browser); their data is read
// only when asked, and only the range asked for.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// DType is a tensor element type.
type DType int

// The element types SmolVLM's ONNX files use.
const (
	Float32 DType = iota + 1
	Float16
	Int64
	Bool
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// ErrUnsupportedDType reports an element type this package cannot convert.
var ErrUnsupportedDType = errors.New("unsupported tensor element type")

// IOInfo describes one input or output of a session. Dynamic dimensions are -1.
type IOInfo struct {
	Name  string
	DType DType
	Shape []int64
}

// Tensor is a value passed to or returned from a session.
type Tensor interface {
	DType() DType
	Shape() []int64
	// Float32s copies n elements starting at element off to the host,
	// converting float16 to float32. Only that range leaves the device.
	Float32s(off, n int) ([]float32, error)
	// Release frees the tensor's memory. Using it afterwards is an error.
	Release()
}

// Session is one loaded ONNX model.
type Session interface {
	Inputs() []IOInfo
	Outputs() []IOInfo
	// Run evaluates the named outputs from the given inputs. The caller owns
	// the returned tensors and must release them.
	Run(ctx context.Context, inputs map[string]Tensor, outputs []string) (map[string]Tensor, error)
	Release()
}

// Engine creates sessions and host tensors.
type Engine interface {
	// Name says which backend runs the sessions ("onnxruntime-cpu", "webgpu", ...).
	Name() string
	// LoadSession loads the ONNX file at path (a file path or a URL,
	// depending on the backend).
	LoadSession(ctx context.Context, path string) (Session, error)
	// NewTensor makes a tensor from host data: []float32 for Float32 (and for
	// Float16, converted here), []uint16 raw half bits for Float16, []int64
	// for Int64, []bool for Bool. len(data) must equal the shape's product.
	NewTensor(dtype DType, shape []int64, data any) (Tensor, error)
	Close() error
}

// SoftwareGPU is implemented by engines that can run on a WebGPU adapter
// emulated on the processor (SwiftShader, Mesa's lavapipe): there a GPU's
// best batching is the wrong one (see pipeline's tilesPerRun).
type SoftwareGPU interface {
	// SoftwareGPU reports that the sessions run on such an adapter.
	SoftwareGPU() bool
}

// An Edit rewrites a model file before its session is created. It reads the
// file through src (size bytes), so that it needs to hold only what it
// changes, and returns the rewritten file as a Plan, which the engine
// assembles where the file lives (Go memory natively, JavaScript memory in
// the browser). The pipeline makes them from package onnxedit's rewrites. An
// engine loads the file as it is when the edit fails or returns a nil Plan:
// a model the edit does not recognise still runs.
type Edit func(src io.ReaderAt, size int64) (*Plan, error)

// A Plan is a rewritten file: its pieces in order, Size bytes in all.
type Plan struct {
	Pieces []Piece
	Size   int64
}

// A Piece of a Plan is Len bytes of the original file from Off or, when
// Data is non-nil, Data itself, or, when Fill is non-nil, the Len bytes
// Fill writes to w in order, a few megabytes at a time: content computed as
// the file is assembled, too large to hold whole in Go (onnxedit's
// dequantized weights).
type Piece struct {
	Off, Len int64
	Data     []byte
	Fill     func(w io.Writer) error
}

// FromOriginal reports whether the piece is a range of the original file.
func (pc Piece) FromOriginal() bool { return pc.Data == nil && pc.Fill == nil }

// FillAt runs the piece's Fill, handing write each chunk with its offset in
// the piece. It fails when Fill does, or writes other than Len bytes.
func (pc Piece) FillAt(write func(chunk []byte, off int64)) error {
	w := &offsetWriter{write: write, limit: pc.Len}
	if err := pc.Fill(w); err != nil {
		return err
	}
	if w.off != pc.Len {
		return fmt.Errorf("a computed piece of %d bytes wrote %d", pc.Len, w.off)
	}
	return nil
}

// offsetWriter hands each write to write with its offset, up to limit bytes.
type offsetWriter struct {
	write      func([]byte, int64)
	off, limit int64
}

func (w *offsetWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > w.limit-w.off {
		return 0, fmt.Errorf("a computed piece of %d bytes writes past its end", w.limit)
	}
	w.write(b, w.off)
	w.off += int64(len(b))
	return len(b), nil
}

// InPlace reports whether the plan can be assembled over its original (in
// a buffer with room for Size bytes), from the last piece to the first:
// every piece of the original lands at or after where it was, and those
// pieces come in the original's order, so no write reaches the bytes of a
// piece not yet moved. An edit that only inserts bytes is in place. A plan
// with computed pieces (Fill) is not: a Fill that fails would leave the
// original half overwritten.
func (p *Plan) InPlace() bool {
	var at, prevEnd int64
	for _, pc := range p.Pieces {
		if pc.Fill != nil {
			return false
		}
		if pc.FromOriginal() {
			if at < pc.Off || pc.Off < prevEnd {
				return false
			}
			prevEnd = pc.Off + pc.Len
		}
		at += pc.Len
	}
	return true
}

// Each calls write for every piece with its offset in the rewritten file:
// from the last piece to the first when assembling over the original (see
// InPlace), else from the first.
func (p *Plan) Each(overOriginal bool, write func(pc Piece, at int64)) {
	if !overOriginal {
		var at int64
		for _, pc := range p.Pieces {
			write(pc, at)
			at += pc.Len
		}
		return
	}
	at := p.Size
	for i := len(p.Pieces) - 1; i >= 0; i-- {
		at -= p.Pieces[i].Len
		write(p.Pieces[i], at)
	}
}

// EditLoader is an Engine that can load a model file rewritten by an Edit.
type EditLoader interface {
	LoadSessionEdited(ctx context.Context, location string, edit Edit) (Session, error)
}

// NumElements is the product of shape, or an error for a negative dimension.
func NumElements(shape []int64) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		n *= int(d)
	}
	return n, nil
}

// Find returns the IOInfo called name.
func Find(infos []IOInfo, name string) (IOInfo, bool) {
	for _, in := range infos {
		if in.Name == name {
			return in, true
		}
	}
	return IOInfo{}, false
}

// CloneIOInfos deep-copies infos, so that a session can hand out its
// descriptions without letting callers change them.
func CloneIOInfos(infos []IOInfo) []IOInfo {
	out := make([]IOInfo, len(infos))
	for i, in := range infos {
		out[i] = IOInfo{Name: in.Name, DType: in.DType, Shape: slices.Clone(in.Shape)}
	}
	return out
}
