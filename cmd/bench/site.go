//go:build !js

package main

import (
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/pocketvlm/smolvlm/internal/webtypes"
)

// site serves everything the contestants load, from one origin, cross-origin
// isolated (COOP and COEP, so every contestant may use WebAssembly threads),
// with caching off so each run downloads what it needs; it counts the bytes
// it sends.
//
//	/web/...          our built app (make web): worker.js, worker.wasm, ort/
//	/bench/web/...    the contestants' pages
//	/node_modules/... onnxruntime-web and transformers.js, as npm installed them
//	/models/bench/... the regrown model
//	/images/...       the pictures
type site struct {
	mounts []mount
	sent   atomic.Int64
}

type mount struct{ prefix, dir string }

func newSite(root, modelDir, imageDir string) *site {
	return &site{mounts: []mount{
		{"/web/", filepath.Join(root, "web")},
		{"/bench/web/", filepath.Join(root, "bench", "web")},
		{"/node_modules/", filepath.Join(root, "node_modules")},
		{"/models/bench/", modelDir},
		{"/images/", imageDir},
	}}
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Embedder-Policy", "require-corp")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	clean := path.Clean(r.URL.Path)
	for _, m := range s.mounts {
		rest, ok := strings.CutPrefix(clean, m.prefix)
		if !ok || strings.Contains(rest, "..") {
			continue
		}
		if ct, ok := webtypes.Lookup(rest); ok {
			h.Set("Content-Type", ct)
		}
		http.ServeFile(&countingWriter{ResponseWriter: w, n: &s.sent}, r, filepath.Join(m.dir, filepath.FromSlash(rest)))
		return
	}
	http.NotFound(w, r)
}

// countingWriter adds the body bytes written to n.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}
