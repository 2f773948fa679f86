// Package ortnative implements engine.Engine on onnxruntime's C library
// through cgo, running sessions on the CPU or, with Options.Device "webgpu",
// on the GPU through onnxruntime's WebGPU execution provider.
//
// The shared library is not linked at build time: it is opened with dlopen
// when New is called, so every package builds on a machine without it. It
// comes from the npm package onnxruntime-node, pinned in the repository's
// package.json; "npm ci --ignore-scripts" in the repository root puts it under
// node_modules (see Options.LibraryPath for how it is found).
//
// The cgo layer is our own, a small set of C wrappers over the C API header in
// include/ (Microsoft's, MIT licensed, C API version 24, which newer libraries
// keep serving). github.com/yalue/onnxruntime_go was not used because, up to
// v1.27.0, it cannot return float16 outputs that onnxruntime allocates (it
// copies one byte per element and then fails), and it copies every output
// into Go memory, which would copy the whole KV cache on every decoder step.
// Here outputs stay in onnxruntime's memory: a present.* output feeds the next
// step's past_key_values.* input without a copy, and Float32s converts only
// the range asked for.
//
// On WebGPU (Options.Device) onnxruntime's WebGPU execution provider, built
// into onnxruntime-node's library, runs Dawn on Vulkan: it needs libvulkan1
// and a driver Dawn accepts. Without a GPU, chromium's SwiftShader works
// (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json on Debian);
// Debian 12's lavapipe (Mesa 22.3) is refused for lacking
// shaderUniform*ArrayDynamicIndexing. The decoder's present.* outputs are
// bound to GPU buffers, so the cache never leaves the GPU between steps.
//
// Builds without cgo, for js/wasm and for Windows (no dlopen) get a stub whose
// New returns an error; its API is the same.
package ortnative

import "errors"

// ErrNotBuilt is what New returns in builds without the native engine.
var ErrNotBuilt = errors.New("native engine not built in this binary (needs cgo on linux or darwin)")

// Options configures New.
type Options struct {
	// LibraryPath is the onnxruntime shared library to open. Empty means: the
	// environment variable ONNXRUNTIME_LIB, else
	// node_modules/onnxruntime-node/bin/napi-v6/<GOOS>/<arch>/<library> in the
	// working directory, the executable's folder, or any of their parents.
	LibraryPath string
	// IntraOpThreads is the number of threads one session uses for one
	// operator; 0 leaves onnxruntime's default (one per physical core).
	IntraOpThreads int
	// Device is where sessions run: "cpu" (or empty), onnxruntime's CPU
	// execution provider; or "webgpu", onnxruntime's WebGPU execution
	// provider (Dawn, on Vulkan under Linux), with the CPU provider taking
	// the operators it lacks.
	Device string
	// CacheOnHost, on WebGPU, lets onnxruntime copy the decoder's present.*
	// outputs back to host memory after every run, as it does by default,
	// instead of keeping them in GPU buffers for the next step's
	// past_key_values.* (an IO binding). For measuring what that saves.
	CacheOnHost bool
	// OptimizedGraphs, when not empty, is a folder where every session
	// loaded from a named file writes the graph onnxruntime runs after its
	// optimizations (fusions, constant folding, layout changes), under the
	// file's base name: for seeing which fusions apply. The graphs may hold
	// layouts only this machine runs.
	OptimizedGraphs string
}

// Devices New accepts in Options.Device.
const (
	DeviceCPU    = "cpu"
	DeviceWebGPU = "webgpu"
)
