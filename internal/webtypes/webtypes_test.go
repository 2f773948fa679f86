package webtypes

import "testing"

func TestLookup(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"/bench/web/common.js", "text/javascript; charset=utf-8"},
		{"ort/ort-wasm-simd-threaded.jsep.mjs", "text/javascript; charset=utf-8"},
		{"/web/worker.wasm", "application/wasm"},
		{"X.WASM", "application/wasm"},
		{"a/b/index.html", "text/html; charset=utf-8"},
		{"config.json", "application/json"},
		{"onnx/decoder_model_merged_q4.onnx", "application/octet-stream"},
		{"pic.png", "image/png"},
		{"a.txt", "text/plain; charset=utf-8"},
	} {
		if got, ok := Lookup(c.name); !ok || got != c.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
	for _, name := range []string{"noext", "x.unknown", "dir/"} {
		if got, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) = %q; want none", name, got)
		}
	}
}
