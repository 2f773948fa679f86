// Package ortweb implements engine.Engine on onnxruntime-web (1.30) through
// syscall/js, for the browser's Web Worker. It runs sessions on the WebGPU
// execution provider or on onnxruntime's own WebAssembly CPU backend.
//
// The page (here: web/worker.js) must have imported ort.webgpu.min.mjs and set
// the global "ort" before New is called.
//
// On WebGPU, the decoder's present.* outputs and its logits stay in GPU
// buffers: the key/value cache is fed back to the next step without leaving
// the GPU, and Tensor.Float32s copies only the range it is asked for (one
// row of logits per step) through a small staging buffer. Stats counts the
// bytes that crossed from the GPU, so tests can hold the engine to that.
//
// Model files are fetched with a streaming reader that reports progress and
// are kept in the Cache API, so a second visit (or an offline app) loads them
// without the network. A session is created from the file's small rest and
// the file itself as its external data (onnxedit.PlanExternalData), so
// onnxruntime-web copies each weight once, into its tensor or GPU buffer.
//
// Builds for other platforms get a stub whose New fails with ErrNotBrowser;
// its API is the same, so every package compiles everywhere.
package ortweb

import "errors"

// The backends New accepts; Engine.Name returns one of them.
const (
	BackendWebGPU = "webgpu"
	BackendWasm   = "wasm"
)

// DefaultCache is the Cache API cache that holds downloaded model files. The
// version suffix changes when the way files are stored changes, so an old
// cache is never misread.
const DefaultCache = "smolvlm-models-v1"

// ErrNotBrowser is what New returns outside a js/wasm build.
var ErrNotBrowser = errors.New("onnxruntime-web runs only in a browser build (GOOS=js GOARCH=wasm)")

// Options configures New.
type Options struct {
	// Backend is BackendWebGPU or BackendWasm.
	Backend string
	// Progress, if set, receives the download progress of each model file
	// LoadSession fetches: bytes so far and the total from Content-Length
	// (0 when unknown). cached says the bytes come from the Cache API.
	Progress func(file string, loaded, total int64, cached bool)
	// WasmPaths is the URL prefix (ending in "/") of onnxruntime-web's .wasm
	// and .mjs files; "" leaves onnxruntime-web's default, the folder of
	// ort.webgpu.min.mjs.
	WasmPaths string
	// Cache names the Cache API cache for model files; "" means DefaultCache.
	Cache string
	// NoCache fetches every file from the network and stores nothing.
	NoCache bool
	// NumThreads is the number of WebAssembly threads; 0 means
	// navigator.hardwareConcurrency (what the machine offers; onnxruntime-web's
	// own default is min(4, ceil(cores / 2))) when the page is cross-origin
	// isolated (threads need SharedArrayBuffer) and 1 otherwise. It takes
	// effect only before the first session of the page is created.
	NumThreads int
	// SoftwareAdapter says the WebGPU adapter computes on the processor (a
	// fallback adapter such as SwiftShader); SoftwareGPU reports it.
	SoftwareAdapter bool
}

// Stats are counters of one engine since New.
type Stats struct {
	// GPUReadBytes is the number of bytes copied from GPU buffers to the host
	// by Tensor.Float32s (after widening each range to 4-byte alignment).
	GPUReadBytes int64
	// GPUReads is the number of such copies.
	GPUReads int64
	// DownloadedBytes and CachedBytes count model file bytes LoadSession read
	// from the network and from the Cache API.
	DownloadedBytes int64
	CachedBytes     int64
}

// FetchOptions configures Fetch.
type FetchOptions struct {
	// Cache names the Cache API cache to read and fill; "" uses none.
	Cache string
	// NetworkFirst asks the network first and falls back to the cache when
	// the network fails (for small files that may change); otherwise a
	// cached copy is used without asking the network (for model weights).
	NetworkFirst bool
	// Progress, if set, receives bytes read so far and the total from
	// Content-Length (0 when unknown); cached says they come from the cache.
	Progress func(loaded, total int64, cached bool)
}
