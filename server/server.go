// Package server hosts the SmolVLM browser app: the go-app pages, the built
// web assets under /web/ and the model files under /models/, with the
// headers that cross-origin isolation (multi-threaded onnxruntime-web) and a
// strict Content-Security-Policy need.
//
// Files are served through [http.ServeContent], so Range, If-Range,
// If-None-Match and If-Modified-Since behave as the standard library
// documents. Responses are same-origin only: no Access-Control-Allow-Origin
// header is sent, and Cross-Origin-Resource-Policy: same-origin stops other
// sites from embedding the model files; the page itself fetches them from
// this origin (or from Options.ConnectSources).
package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// Path prefixes and the health-check path served by the handler from [New].
const (
	WebPrefix    = "/web/"
	ModelsPrefix = "/models/"
	HealthPath   = "/healthz"
)

// DefaultGzipCacheBytes bounds the in-memory cache of gzipped files when
// Options.GzipCacheBytes is zero. It holds a Go app.wasm (tens of MB raw,
// a quarter of that gzipped) with room to spare.
const DefaultGzipCacheBytes = 128 << 20

// Options configures [New].
type Options struct {
	// Pages serves "/" and go-app's own resources (app.js, wasm_exec.js,
	// manifest.webmanifest, app-worker.js, ...). Nil means every path outside
	// /web/, /models/ and /healthz is 404.
	Pages http.Handler

	// WebDir holds the built files served under /web/ (app.wasm, ort-*.mjs,
	// ort-*.wasm, icons, css). Empty means /web/ is 404.
	WebDir string

	// ModelsDir holds model folders in Hugging Face layout, served under
	// /models/. Empty means /models/ is 404. A folder's index.json, where
	// the folder has none, lists its files (see ListingName).
	ModelsDir string

	// ConnectSources are extra CSP connect-src sources the page may fetch
	// models from, e.g. "https://huggingface.co". Each must be one CSP
	// source expression: no whitespace, ';' or ','.
	ConnectSources []string

	// Logger receives internal errors, which clients never see. Nil means
	// slog.Default().
	Logger *slog.Logger

	// GzipCacheBytes bounds the memory held by gzipped copies of files.
	// Zero means DefaultGzipCacheBytes; negative disables compression.
	// Files larger than the bound are always served uncompressed.
	GzipCacheBytes int64
}

// New returns the handler for the whole site. It fails when a source in
// opts.ConnectSources is malformed or a configured directory cannot be
// opened. Directories are re-opened per request, so rebuilding WebDir
// (rm -rf and copy) needs no restart.
func New(opts Options) (http.Handler, error) {
	csp, err := contentSecurityPolicy(opts.ConnectSources)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	gz := newGzipCacheFor(opts.GzipCacheBytes)
	web, err := newTree(opts.WebDir, WebPrefix, gz, log)
	if err != nil {
		return nil, fmt.Errorf("server: web dir: %w", err)
	}
	models, err := newTree(opts.ModelsDir, ModelsPrefix, gz, log)
	if err != nil {
		return nil, fmt.Errorf("server: models dir: %w", err)
	}
	if models != nil {
		models.listings = true
	}
	s := &site{pages: opts.Pages, web: web, models: models}
	return withSecurityHeaders(s, csp), nil
}

// newGzipCacheFor maps Options.GzipCacheBytes to a cache; nil disables gzip.
func newGzipCacheFor(limit int64) *gzipCache {
	switch {
	case limit < 0:
		return nil
	case limit == 0:
		return newGzipCache(DefaultGzipCacheBytes)
	default:
		return newGzipCache(limit)
	}
}

// site routes a request, after the method and path checks, to the health
// check, one of the two file trees, or the pages.
type site struct {
	pages  http.Handler
	web    *tree
	models *tree
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed)
		return
	}
	if code := checkRequestPath(r.URL); code != 0 {
		httpError(w, code)
		return
	}
	p := r.URL.Path
	switch {
	case p == HealthPath:
		serveHealth(w, r)
	case under(p, WebPrefix):
		s.web.ServeHTTP(w, r)
	case under(p, ModelsPrefix):
		s.models.ServeHTTP(w, r)
	case s.pages != nil:
		s.pages.ServeHTTP(w, r)
	default:
		httpError(w, http.StatusNotFound)
	}
}

// under reports whether p is prefix ("/web/") or lies below it; the bare
// folder name ("/web") counts too, so it reaches the tree and gets its 404.
func under(p, prefix string) bool {
	return strings.HasPrefix(p, prefix) || p == strings.TrimSuffix(prefix, "/")
}

// serveHealth answers the health check with "ok"; HEAD gets the headers only.
func serveHealth(w http.ResponseWriter, r *http.Request) {
	const body = "ok"
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.WriteString(w, body)
}

// httpError replies with the status text only, so no internal detail (file
// paths, syscall errors) ever reaches the client.
func httpError(w http.ResponseWriter, code int) {
	http.Error(w, http.StatusText(code), code)
}
