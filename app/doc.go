// Package app is the browser user interface of "SmolVLM in your pocket", built
// with go-app: a page where a person drops, picks, pastes or photographs a
// picture, asks a question and watches the answer stream in.
//
// The page never runs the model. A module Web Worker (web/worker.js, see
// wasm/PROTOCOL.md) does; the page sends it plain messages and turns its
// replies into UI updates with ctx.Dispatch, so the main thread stays free.
//
// The package compiles everywhere: the server renders the first paint and
// builds the go-app Handler (Handler, Routes), while browser-only calls live
// in js_wasm.go next to the no-op stubs of js_other.go. Settings parsing,
// message decoding and formatting are pure Go and tested natively.
package app
