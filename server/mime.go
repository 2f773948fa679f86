package server

import (
	"mime"
	"path"
	"strings"
)

// contentTypes pins the types the app depends on, whatever the host's mime
// database says: browsers refuse WebAssembly.instantiateStreaming without
// application/wasm and module scripts without a JavaScript type (and
// X-Content-Type-Options: nosniff stops them guessing).
var contentTypes = map[string]string{
	".wasm":        "application/wasm",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".onnx":        "application/octet-stream",
	".onnx_data":   "application/octet-stream",
	".webmanifest": "application/manifest+json",
	".css":         "text/css; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".png":         "image/png",
	".svg":         "image/svg+xml",
	".ico":         "image/x-icon",
}

// defaultContentType is sent when neither the table nor the host knows the
// extension; setting it stops ServeContent from sniffing the content.
const defaultContentType = "application/octet-stream"

// contentType returns the Content-Type for a file name: the table above,
// then mime.TypeByExtension, then application/octet-stream.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return defaultContentType
}
