//go:build !js

// Package e2e drives the real app in headless Chromium: the go-app page
// (web/app.wasm), the model worker (web/worker.js, web/worker.wasm) and the
// server package's handler with its security headers, on the bundled tiny
// test model. The tests pick pictures, type questions and click buttons as a
// person would, then read the answer's data attributes and compare the token
// ids with the references recorded from the Python implementation.
//
// They need Chromium (/usr/bin/chromium, or $CHROMIUM) and `make web`, which
// TestMain runs; without either they skip, as they do with -short. SwiftShader
// stands in for a GPU, so WebGPU runs are slow and cover fewer cases.
// Screenshots go to bin/screenshots/.
package e2e
