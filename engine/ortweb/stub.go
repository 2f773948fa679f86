//go:build !(js && wasm)

package ortweb

import (
	"context"

	"github.com/pocketvlm/smolvlm/engine"
)

// Engine is the onnxruntime-web engine; this build cannot make one.
type Engine struct{}

var _ engine.Engine = (*Engine)(nil)

// New always fails with ErrNotBrowser in this build.
func New(ctx context.Context, opts Options) (*Engine, error) { return nil, ErrNotBrowser }

// Name is empty: there is no backend.
func (e *Engine) Name() string { return "" }

// LoadSession fails with ErrNotBrowser.
func (e *Engine) LoadSession(ctx context.Context, url string) (engine.Session, error) {
	return nil, ErrNotBrowser
}

// NewTensor fails with ErrNotBrowser.
func (e *Engine) NewTensor(dtype engine.DType, shape []int64, data any) (engine.Tensor, error) {
	return nil, ErrNotBrowser
}

// Threads is zero.
func (e *Engine) Threads() int { return 0 }

// Stats is zero.
func (e *Engine) Stats() Stats { return Stats{} }

// Close does nothing.
func (e *Engine) Close() error { return nil }

// Fetch fails with ErrNotBrowser.
func Fetch(ctx context.Context, url string, opts FetchOptions) ([]byte, bool, error) {
	return nil, false, ErrNotBrowser
}

// Start fails with ErrNotBrowser.
func (e *Engine) Start(ctx context.Context) error { return ErrNotBrowser }

// Stored fails with ErrNotBrowser.
func (e *Engine) Stored() (bool, error) { return false, ErrNotBrowser }
