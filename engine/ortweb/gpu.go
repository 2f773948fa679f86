//go:build js && wasm

package ortweb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/internal/jsutil"
)

// WebGPU usage and map-mode flags (GPUBufferUsage.MAP_READ | COPY_DST,
// GPUMapMode.READ), as the WebGPU specification numbers them.
const (
	usageMapRead  = 0x0001
	usageCopyDst  = 0x0008
	mapModeRead   = 0x0001
	minStagingLen = 1 << 16
)

// gpuReader copies byte ranges of onnxruntime-web's GPU buffers to Go
// through one reusable staging buffer, on the device onnxruntime-web uses.
type gpuReader struct {
	mu      sync.Mutex // one copy at a time: they share the staging buffer
	device  js.Value   // GPUDevice; undefined until init
	staging js.Value   // MAP_READ|COPY_DST buffer; undefined until needed
	size    int        // staging buffer size in bytes
}

// init learns the device once onnxruntime-web has created it.
func (g *gpuReader) init(ctx context.Context, ort js.Value) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.device.IsUndefined() && g.device.Truthy() {
		return nil
	}
	d, err := jsutil.Await(ctx, ort.Get("env").Get("webgpu").Get("device"))
	if err != nil {
		return fmt.Errorf("WebGPU device: %w", err)
	}
	if !d.Truthy() {
		return errors.New("onnxruntime-web has no WebGPU device")
	}
	g.device = d
	return nil
}

// read copies n bytes at byte offset off of buf into dst (len(dst) == n),
// through the staging buffer; the range is widened to WebGPU's copy
// alignment and trimmed. It returns the number of bytes that crossed.
func (g *gpuReader) read(ctx context.Context, buf js.Value, off, n int, dst []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.device.Truthy() {
		return 0, errors.New("no WebGPU device to read from")
	}
	start, end := alignedRange(off, n)
	if bufSize := buf.Get("size").Int(); end > bufSize {
		return 0, fmt.Errorf("range [%d, %d) outside a GPU buffer of %d bytes", start, end, bufSize)
	}
	size := end - start
	if size == 0 {
		return 0, nil
	}
	if err := g.ensureStaging(size); err != nil {
		return 0, err
	}
	if err := g.copyToStaging(ctx, buf, start, size); err != nil {
		return 0, err
	}
	if _, err := jsutil.Await(ctx, g.staging.Call("mapAsync", mapModeRead, 0, size)); err != nil {
		return 0, fmt.Errorf("map staging buffer: %w", err)
	}
	defer g.staging.Call("unmap")
	mapped := g.staging.Call("getMappedRange", 0, size)
	view := js.Global().Get("Uint8Array").New(mapped, off-start, n)
	js.CopyBytesToGo(dst, view)
	return size, nil
}

// ensureStaging makes the staging buffer at least size bytes; it grows to
// the largest read seen (one row of logits), so decoding allocates nothing.
func (g *gpuReader) ensureStaging(size int) error {
	if !g.staging.IsUndefined() && g.size >= size {
		return nil
	}
	if !g.staging.IsUndefined() {
		g.staging.Call("destroy")
	}
	size = max(size, minStagingLen)
	b, err := jsutil.Call(g.device, "createBuffer", map[string]any{"size": size, "usage": usageMapRead | usageCopyDst})
	if err != nil {
		g.staging = js.Undefined()
		return fmt.Errorf("create staging buffer: %w", err)
	}
	g.staging, g.size = b, size
	return nil
}

// copyToStaging queues the copy after onnxruntime-web's own work on the
// device queue, so it sees the finished output. WebGPU reports a bad copy
// (a destroyed buffer, a missing COPY_SRC usage) only through an error
// scope, which is checked here rather than reading garbage.
func (g *gpuReader) copyToStaging(ctx context.Context, buf js.Value, start, size int) error {
	g.device.Call("pushErrorScope", "validation")
	enc := g.device.Call("createCommandEncoder")
	enc.Call("copyBufferToBuffer", buf, start, g.staging, 0, size)
	g.device.Get("queue").Call("submit", []any{enc.Call("finish")})
	gpuErr, err := jsutil.Await(ctx, g.device.Call("popErrorScope"))
	if err != nil {
		return fmt.Errorf("copy GPU buffer: %w", err)
	}
	if gpuErr.Truthy() {
		return fmt.Errorf("copy GPU buffer: %s", gpuErr.Get("message").String())
	}
	return nil
}

// close frees the staging buffer.
func (g *gpuReader) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.staging.IsUndefined() {
		g.staging.Call("destroy")
		g.staging = js.Undefined()
	}
}
