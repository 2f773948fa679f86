package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Manifest paths go-app serves (the second is an alias of the first).
const (
	manifestPath      = "/manifest.webmanifest"
	manifestAliasPath = "/manifest.json"
)

// Pages is the handler the server mounts for the page: Handler's, with the
// Web Share Target added to the manifest (go-app's manifest has no field
// for it).
func Pages(opts HandlerOptions) http.Handler {
	return &pages{h: Handler(opts)}
}

type pages struct {
	h        *goapp.Handler
	once     sync.Once
	manifest []byte
	err      error
}

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != manifestPath && r.URL.Path != manifestAliasPath {
		p.h.ServeHTTP(w, r)
		return
	}
	p.once.Do(func() { p.manifest, p.err = p.render() })
	if p.err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	etag := strconv.Quote(p.h.Version + "-share")
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/manifest+json")
	h.Set("Content-Length", strconv.Itoa(len(p.manifest)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(p.manifest)
	}
}

// render asks go-app for its manifest and adds the share target.
func (p *pages) render() ([]byte, error) {
	rec := &recorder{header: http.Header{}}
	req, err := http.NewRequest(http.MethodGet, manifestPath, nil)
	if err != nil {
		return nil, err
	}
	p.h.ServeHTTP(rec, req)
	if rec.code != 0 && rec.code != http.StatusOK {
		return nil, fmt.Errorf("go-app's manifest: HTTP %d", rec.code)
	}
	return withShareTarget(rec.body.Bytes())
}

// withShareTarget adds share_target to a web app manifest: pictures shared
// to the app are POSTed to SharePath as multipart/form-data.
func withShareTarget(manifest []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m["share_target"] = map[string]any{
		"action":  SharePath,
		"method":  "POST",
		"enctype": "multipart/form-data",
		"params": map[string]any{
			"files": []map[string]any{{"name": shareField, "accept": []string{"image/*"}}},
		},
	}
	return json.Marshal(m)
}

// recorder is the ResponseWriter render hands to go-app.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
