// Package webtypes is the one table of Content-Types that the sites here
// (the benchmark's, the browser test servers') pin for the files they serve,
// whatever the host's mime database says: browsers refuse module scripts
// without a JavaScript type and WebAssembly.instantiateStreaming without
// application/wasm.
package webtypes

import (
	"path"
	"strings"
)

var byExt = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".wasm":        "application/wasm",
	".json":        "application/json",
	".map":         "application/json",
	".onnx":        "application/octet-stream",
	".onnx_data":   "application/octet-stream",
	".webmanifest": "application/manifest+json",
	".css":         "text/css; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".ico":         "image/x-icon",
}

// Lookup returns the Content-Type pinned for a file name (a path or a URL
// path; only its extension counts, in any case), and false when the table
// has none (leave the type to net/http then).
func Lookup(name string) (string, bool) {
	t, ok := byExt[strings.ToLower(path.Ext(name))]
	return t, ok
}
