// Command worker is the Web Worker half of the browser app: it owns the
// model (configuration, tokenizer, onnxruntime-web sessions), decodes and
// preprocesses pictures and runs the generation loop, answering the page
// through the messages of ../PROTOCOL.md (Go types in wasm/protocol).
// web/worker.js loads it as web/worker.wasm (make web).
//
// The choice rules (backend, dtypes, picture decoder, the test-model check)
// are plain Go in choose.go, tested natively; everything that touches the
// browser is behind the js && wasm build tag. A native build only prints how
// to build the real thing.
package main
