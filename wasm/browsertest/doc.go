// Package browsertest runs the browser worker (web/worker.js and
// wasm/worker) in headless chromium against the fixture model's golden
// references, on onnxruntime-web's WebAssembly backend and on WebGPU
// (SwiftShader). The tests are native (they build the worker for js/wasm,
// serve it with the app's security headers and drive a harness page through
// the DevTools protocol), so they are excluded from js builds.
package browsertest
