//go:build js && wasm

// Package jsutil holds the few helpers every syscall/js program here needs:
// awaiting a JavaScript promise from a goroutine, and moving numeric slices
// to and from JavaScript typed arrays in one bulk copy.
//
// It builds only for js/wasm; nothing outside the browser imports it.
package jsutil
