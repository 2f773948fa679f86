//go:build !cgo || js || windows

package ortnative

// This build has no native engine (no cgo, a browser build, or Windows,
// where the library would need LoadLibrary). The API matches the native
// build's so that callers compile everywhere; New always fails.

import (
	"context"

	"github.com/pocketvlm/smolvlm/engine"
)

// Engine is the native engine; this build cannot make one.
type Engine struct{}

var _ engine.Engine = (*Engine)(nil)

// New always fails with ErrNotBuilt in this build.
func New(opts Options) (*Engine, error) { return nil, ErrNotBuilt }

// Name says which backend this is.
func (e *Engine) Name() string { return "onnxruntime-cpu" }

// SoftwareGPU is false: this build runs nothing.
func (e *Engine) SoftwareGPU() bool { return false }

// Version is empty: no library is loaded.
func (e *Engine) Version() string { return "" }

// LibraryPath is empty: no library is loaded.
func (e *Engine) LibraryPath() string { return "" }

// LoadSession fails with ErrNotBuilt.
func (e *Engine) LoadSession(ctx context.Context, path string) (engine.Session, error) {
	return nil, ErrNotBuilt
}

// LoadSessionBytes fails with ErrNotBuilt.
func (e *Engine) LoadSessionBytes(ctx context.Context, name string, data []byte) (engine.Session, error) {
	return nil, ErrNotBuilt
}

// LoadSessionEdited fails with ErrNotBuilt.
func (e *Engine) LoadSessionEdited(ctx context.Context, path string, edit engine.Edit) (engine.Session, error) {
	return nil, ErrNotBuilt
}

// NewTensor fails with ErrNotBuilt.
func (e *Engine) NewTensor(dtype engine.DType, shape []int64, data any) (engine.Tensor, error) {
	return nil, ErrNotBuilt
}

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Session is the native session; this build cannot make one.
type Session struct{}

var _ engine.Session = (*Session)(nil)

// Inputs is empty.
func (s *Session) Inputs() []engine.IOInfo { return nil }

// Outputs is empty.
func (s *Session) Outputs() []engine.IOInfo { return nil }

// Run fails with ErrNotBuilt.
func (s *Session) Run(ctx context.Context, inputs map[string]engine.Tensor, outputs []string) (map[string]engine.Tensor, error) {
	return nil, ErrNotBuilt
}

// Release does nothing.
func (s *Session) Release() {}

// Tensor is the native tensor; this build cannot make one.
type Tensor struct{}

var _ engine.Tensor = (*Tensor)(nil)

// DType is zero.
func (t *Tensor) DType() engine.DType { return 0 }

// Shape is empty.
func (t *Tensor) Shape() []int64 { return nil }

// Len is zero.
func (t *Tensor) Len() int { return 0 }

// Float32s fails with ErrNotBuilt.
func (t *Tensor) Float32s(off, n int) ([]float32, error) { return nil, ErrNotBuilt }

// Halfs fails with ErrNotBuilt.
func (t *Tensor) Halfs(off, n int) ([]uint16, error) { return nil, ErrNotBuilt }

// Int64s fails with ErrNotBuilt.
func (t *Tensor) Int64s(off, n int) ([]int64, error) { return nil, ErrNotBuilt }

// Bools fails with ErrNotBuilt.
func (t *Tensor) Bools(off, n int) ([]bool, error) { return nil, ErrNotBuilt }

// Release does nothing.
func (t *Tensor) Release() {}
