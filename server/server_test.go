package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixture is a site built over temporary directories.
type fixture struct {
	h      http.Handler
	web    string
	models string
	logs   *bytes.Buffer
}

// compressibleBytes returns n bytes that gzip shrinks well, starting with
// the wasm magic so .wasm files look real.
func compressibleBytes(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\x00asm\x01\x00\x00\x00")
	for i := 0; b.Len() < n; i++ {
		b.WriteString("function f" + strconv.Itoa(i%97) + "(x) { return x * " + strconv.Itoa(i%13) + "; }\n")
	}
	return b.Bytes()[:n]
}

// modelBytes returns n bytes with a position-dependent pattern, so a wrong
// Range offset shows.
func modelBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// writeFile writes data to dir/name, creating parent folders.
func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pagesStub stands in for go-app's handler: "/" is a page, the rest 404.
var pagesStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<!doctype html><title>app</title>")
})

// newFixture builds web and models folders, a secret outside both, and
// the handler over them.
func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	base := t.TempDir()
	web, models, outside := filepath.Join(base, "web"), filepath.Join(base, "models"), filepath.Join(base, "outside")
	files := map[string][]byte{
		"app.wasm":             compressibleBytes(64 << 10),
		"app.js":               compressibleBytes(8 << 10),
		"ort.mjs":              compressibleBytes(8 << 10),
		"app.css":              []byte("body { margin: 0 }\n"),
		"index.html":           []byte("<!doctype html>\n"),
		"manifest.webmanifest": []byte(`{"name":"smolvlm"}`),
		"data.json":            []byte(`{"a":1}`),
		"icon.png":             []byte("\x89PNG\r\n\x1a\n"),
		"icon.svg":             []byte("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
		"readme.txt":           []byte("hello\n"),
		"blob.zzqq":            []byte("opaque"),
		"sub/a.js":             []byte("1"),
		".hidden":              []byte("secret"),
	}
	for name, data := range files {
		writeFile(t, web, name, data)
	}
	writeFile(t, models, "smol/config.json", []byte(`{"model_type":"idefics3"}`))
	writeFile(t, models, "smol/onnx/model.onnx", modelBytes(4096))
	writeFile(t, models, ".git/config", []byte("[core]"))
	writeFile(t, models, "x/.env", []byte("TOKEN=1"))
	writeFile(t, outside, "secret.txt", []byte("outside"))
	_ = os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(web, "escape-abs.txt"))
	_ = os.Symlink("../outside/secret.txt", filepath.Join(web, "escape-rel.txt"))
	_ = os.Symlink("app.js", filepath.Join(web, "inside.js"))

	logs := new(bytes.Buffer)
	opts.WebDir, opts.ModelsDir = web, models
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, web: web, models: models, logs: logs}
}

// do sends one request; headers come as "Name: value" pairs.
func (f *fixture) do(method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ": ")
		r.Header.Add(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// readFile returns a fixture file's bytes.
func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gunzip decompresses b or fails the test.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t, Options{Pages: pagesStub, ConnectSources: []string{"https://huggingface.co"}})
	bare := newFixture(t, Options{})
	wantCSP := ContentSecurityPolicy([]string{"https://huggingface.co"})
	tests := []struct {
		name   string
		f      *fixture
		method string
		target string
		header string
		code   int
	}{
		{"static", f, "GET", "/web/app.js", "", 200},
		{"static gzip", f, "GET", "/web/app.wasm", "Accept-Encoding: gzip", 200},
		{"model", f, "GET", "/models/smol/onnx/model.onnx", "", 200},
		{"model range", f, "GET", "/models/smol/onnx/model.onnx", "Range: bytes=0-9", 206},
		{"not modified", f, "GET", "/web/app.js", "If-None-Match: *", 304},
		{"unsatisfiable range", f, "GET", "/models/smol/onnx/model.onnx", "Range: bytes=9999-", 416},
		{"page", f, "GET", "/", "", 200},
		{"page 404", f, "GET", "/nope", "", 404},
		{"file 404", f, "GET", "/web/missing.js", "", 404},
		{"no pages 404", bare, "GET", "/", "", 404},
		{"bad path", f, "GET", "/models/%00", "", 400},
		{"method", f, "POST", "/", "", 405},
		{"health", f, "GET", "/healthz", "", 200},
	}
	want := map[string]string{
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Embedder-Policy": "require-corp",
		"Cross-Origin-Resource-Policy": "same-origin",
		"X-Content-Type-Options":       "nosniff",
		"Content-Security-Policy":      wantCSP,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = append(hdr, tt.header)
			}
			w := tt.f.do(tt.method, tt.target, hdr...)
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d", w.Code, tt.code)
			}
			for k, v := range want {
				if tt.f == bare && k == "Content-Security-Policy" {
					v = ContentSecurityPolicy(nil)
				}
				if got := w.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want [%q]", k, got, v)
				}
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin = %q, want none (same-origin only)", got)
			}
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	const base = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; " +
		"connect-src 'self'%s; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; " +
		"style-src 'self' 'unsafe-inline'; manifest-src 'self'; object-src 'none'; base-uri 'self'; " +
		"frame-ancestors 'none'"
	tests := []struct {
		sources []string
		extra   string
	}{
		{nil, ""},
		{[]string{"https://huggingface.co", "https://*.hf.co"}, " https://huggingface.co https://*.hf.co"},
	}
	for _, tt := range tests {
		want := strings.Replace(base, "%s", tt.extra, 1)
		if got := ContentSecurityPolicy(tt.sources); got != want {
			t.Errorf("ContentSecurityPolicy(%q) =\n%s\nwant\n%s", tt.sources, got, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
	}{
		{"missing web dir", Options{WebDir: filepath.Join(dir, "nope")}},
		{"missing models dir", Options{ModelsDir: filepath.Join(dir, "nope")}},
		{"source with space", Options{ConnectSources: []string{"https://a https://b"}}},
		{"source with semicolon", Options{ConnectSources: []string{"https://a; script-src *"}}},
		{"source with comma", Options{ConnectSources: []string{"https://a,https://b"}}},
		{"empty source", Options{ConnectSources: []string{""}}},
		{"source with newline", Options{ConnectSources: []string{"https://a\r\nX-Evil: 1"}}},
		{"non-ascii source", Options{ConnectSources: []string{"https://é.fr"}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: New succeeded, want error", tt.name)
		}
	}
}

func TestRange(t *testing.T) {
	f := newFixture(t, Options{})
	const target = "/models/smol/onnx/model.onnx"
	data := modelBytes(4096)
	tests := []struct {
		name         string
		rng          string
		code         int
		contentRange string
		body         []byte
	}{
		{"first ten", "bytes=0-9", 206, "bytes 0-9/4096", data[:10]},
		{"middle", "bytes=100-199", 206, "bytes 100-199/4096", data[100:200]},
		{"suffix", "bytes=-10", 206, "bytes 4086-4095/4096", data[4086:]},
		{"open end", "bytes=4000-", 206, "bytes 4000-4095/4096", data[4000:]},
		{"past end clipped", "bytes=4090-9999", 206, "bytes 4090-4095/4096", data[4090:]},
		{"unsatisfiable", "bytes=4096-", 416, "bytes */4096", nil},
		{"malformed", "bytes=abc", 416, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", target, "Range: "+tt.rng, "Accept-Encoding: gzip")
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d", w.Code, tt.code)
			}
			if got := w.Header().Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range = %q, want %q", got, tt.contentRange)
			}
			if tt.body != nil && !bytes.Equal(w.Body.Bytes(), tt.body) {
				t.Errorf("body = %v, want %v", w.Body.Bytes(), tt.body)
			}
			if tt.code == 206 && w.Header().Get("Content-Length") != strconv.Itoa(len(tt.body)) {
				t.Errorf("Content-Length = %q, want %d", w.Header().Get("Content-Length"), len(tt.body))
			}
			if got := w.Header().Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding = %q, want none", got)
			}
		})
	}
}

func TestMultiRange(t *testing.T) {
	f := newFixture(t, Options{})
	w := f.do("GET", "/models/smol/onnx/model.onnx", "Range: bytes=0-1,10-11")
	if w.Code != 206 {
		t.Fatalf("status = %d, want 206", w.Code)
	}
	ct := w.Header().Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/byteranges; boundary=") {
		t.Fatalf("Content-Type = %q, want multipart/byteranges", ct)
	}
	body := w.Body.String()
	for _, part := range []string{"Content-Range: bytes 0-1/4096", "Content-Range: bytes 10-11/4096"} {
		if !strings.Contains(body, part) {
			t.Errorf("body lacks %q", part)
		}
	}
}

func TestRangeOnCompressibleFileIsIdentity(t *testing.T) {
	f := newFixture(t, Options{})
	data := readFile(t, f.web, "app.wasm")
	w := f.do("GET", "/web/app.wasm", "Range: bytes=0-7", "Accept-Encoding: gzip")
	if w.Code != 206 || !bytes.Equal(w.Body.Bytes(), data[:8]) {
		t.Fatalf("status %d body %q, want 206 %q", w.Code, w.Body.Bytes(), data[:8])
	}
	if got := w.Header().Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding = %q, want none on a Range response", got)
	}
	if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("Vary = %q, want Accept-Encoding", got)
	}
}

func TestConditional(t *testing.T) {
	f := newFixture(t, Options{})
	const target = "/models/smol/onnx/model.onnx"
	first := f.do("GET", target)
	tag := first.Header().Get("ETag")
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || strings.HasPrefix(tag, "W/") {
		t.Fatalf("ETag = %q, want a strong quoted tag", tag)
	}
	lastMod := first.Header().Get("Last-Modified")
	if lastMod == "" {
		t.Fatal("no Last-Modified")
	}
	tests := []struct {
		name    string
		headers []string
		code    int
		bodyLen int
	}{
		{"if-none-match hit", []string{"If-None-Match: " + tag}, 304, 0},
		{"if-none-match list", []string{`If-None-Match: "x", ` + tag}, 304, 0},
		{"if-none-match weak form", []string{"If-None-Match: W/" + tag}, 304, 0},
		{"if-none-match miss", []string{`If-None-Match: "other"`}, 200, 4096},
		{"if-modified-since", []string{"If-Modified-Since: " + lastMod}, 304, 0},
		{"if-range match", []string{"Range: bytes=0-9", "If-Range: " + tag}, 206, 10},
		{"if-range stale", []string{"Range: bytes=0-9", `If-Range: "stale"`}, 200, 4096},
		{"if-match fails", []string{`If-Match: "stale"`}, 412, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", target, tt.headers...)
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d", w.Code, tt.code)
			}
			if tt.bodyLen >= 0 && w.Body.Len() != tt.bodyLen {
				t.Errorf("body length = %d, want %d", w.Body.Len(), tt.bodyLen)
			}
		})
	}
}

func TestETagChangesWithFile(t *testing.T) {
	f := newFixture(t, Options{})
	before := f.do("GET", "/web/app.js", "Accept-Encoding: gzip")
	data := []byte("console.log('rebuilt');" + strings.Repeat(" ", 4096))
	writeFile(t, f.web, "app.js", data)
	after := f.do("GET", "/web/app.js", "Accept-Encoding: gzip")
	if before.Header().Get("ETag") == after.Header().Get("ETag") {
		t.Errorf("ETag unchanged after rewrite: %q", after.Header().Get("ETag"))
	}
	if got := gunzip(t, after.Body.Bytes()); !bytes.Equal(got, data) {
		t.Errorf("served stale gzipped bytes after rewrite")
	}
}

func TestHEAD(t *testing.T) {
	f := newFixture(t, Options{Pages: pagesStub})
	tests := []struct {
		target, encoding, length string
	}{
		{"/models/smol/onnx/model.onnx", "", "4096"},
		{"/web/app.wasm", "", strconv.Itoa(64 << 10)},
		{"/healthz", "", ""},
	}
	for _, tt := range tests {
		w := f.do("HEAD", tt.target)
		if w.Code != 200 || w.Body.Len() != 0 {
			t.Errorf("HEAD %s: status %d, %d body bytes; want 200, none", tt.target, w.Code, w.Body.Len())
		}
		if tt.length != "" && w.Header().Get("Content-Length") != tt.length {
			t.Errorf("HEAD %s: Content-Length = %q, want %s", tt.target, w.Header().Get("Content-Length"), tt.length)
		}
	}
	w := f.do("HEAD", "/web/app.wasm", "Accept-Encoding: gzip")
	get := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip")
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(get.Body.Len()) {
		t.Errorf("HEAD gzip: Content-Length = %q, body %d; want %d, 0",
			w.Header().Get("Content-Length"), w.Body.Len(), get.Body.Len())
	}
}

func TestContentTypes(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct{ target, want string }{
		{"/web/app.wasm", "application/wasm"},
		{"/web/app.js", "text/javascript; charset=utf-8"},
		{"/web/ort.mjs", "text/javascript; charset=utf-8"},
		{"/web/app.css", "text/css; charset=utf-8"},
		{"/web/index.html", "text/html; charset=utf-8"},
		{"/web/manifest.webmanifest", "application/manifest+json"},
		{"/web/data.json", "application/json"},
		{"/web/icon.png", "image/png"},
		{"/web/icon.svg", "image/svg+xml"},
		{"/web/readme.txt", "text/plain; charset=utf-8"},
		{"/web/blob.zzqq", "application/octet-stream"},
		{"/models/smol/config.json", "application/json"},
		{"/models/smol/onnx/model.onnx", "application/octet-stream"},
	}
	for _, tt := range tests {
		for _, enc := range []string{"", "gzip"} {
			w := f.do("GET", tt.target, "Accept-Encoding: "+enc)
			if got := w.Header().Get("Content-Type"); got != tt.want {
				t.Errorf("GET %s (Accept-Encoding %q): Content-Type = %q, want %q", tt.target, enc, got, tt.want)
			}
		}
	}
}

func TestContentTypeFallback(t *testing.T) {
	tests := []struct{ name, want string }{
		{"X.WASM", "application/wasm"},
		{"a.onnx_data", "application/octet-stream"},
		{"no-extension", "application/octet-stream"},
		{"photo.jpg", "image/jpeg"}, // from the stdlib's built-in table
	}
	for _, tt := range tests {
		if got := contentType(tt.name); got != tt.want {
			t.Errorf("contentType(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestGzip(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name     string
		target   string
		accept   string
		wantGzip bool
		wantVary bool
	}{
		{"wasm", "/web/app.wasm", "gzip, deflate, br", true, true},
		{"js", "/web/app.js", "gzip", true, true},
		{"mjs", "/web/ort.mjs", "br;q=1, gzip;q=0.5", true, true},
		{"star", "/web/app.js", "*", true, true},
		{"wasm without accept", "/web/app.wasm", "", false, true},
		{"gzip refused", "/web/app.wasm", "gzip;q=0, *", false, true},
		{"br only", "/web/app.wasm", "br", false, true},
		{"onnx", "/models/smol/onnx/model.onnx", "gzip", false, false},
		{"png", "/web/icon.png", "gzip", false, false},
		{"tiny json does not shrink", "/models/smol/config.json", "gzip", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.target, "Accept-Encoding: "+tt.accept)
			if w.Code != 200 {
				t.Fatalf("status = %d", w.Code)
			}
			raw := readFile(t, filepath.Dir(f.web), strings.TrimPrefix(tt.target, "/"))
			gotGzip := w.Header().Get("Content-Encoding") == "gzip"
			if gotGzip != tt.wantGzip {
				t.Fatalf("gzipped = %v, want %v", gotGzip, tt.wantGzip)
			}
			if gotVary := w.Header().Get("Vary") == "Accept-Encoding"; gotVary != tt.wantVary {
				t.Errorf("Vary = %q, want Accept-Encoding: %v", w.Header().Get("Vary"), tt.wantVary)
			}
			body := w.Body.Bytes()
			if w.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %q, body %d bytes", w.Header().Get("Content-Length"), len(body))
			}
			if !tt.wantGzip {
				if !bytes.Equal(body, raw) {
					t.Errorf("identity body differs from file")
				}
				return
			}
			if !bytes.Equal(gunzip(t, body), raw) {
				t.Errorf("gunzipped body differs from file")
			}
			if len(body) >= len(raw) {
				t.Errorf("gzipped %d bytes, raw %d: no gain", len(body), len(raw))
			}
			if tag := w.Header().Get("ETag"); !strings.HasSuffix(tag, `-gzip"`) {
				t.Errorf("ETag = %q, want a -gzip variant", tag)
			}
			if got := w.Header().Get(UncompressedLengthHeader); got != strconv.Itoa(len(raw)) {
				t.Errorf("%s = %q, want %d", UncompressedLengthHeader, got, len(raw))
			}
		})
	}
}

func TestGzipConditional(t *testing.T) {
	f := newFixture(t, Options{})
	first := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip")
	gzTag := first.Header().Get("ETag")
	plainTag := f.do("GET", "/web/app.wasm").Header().Get("ETag")
	if gzTag == plainTag {
		t.Fatalf("gzip and identity share ETag %q", gzTag)
	}
	w := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip", "If-None-Match: "+gzTag)
	if w.Code != 304 || w.Body.Len() != 0 {
		t.Fatalf("status %d, %d body bytes; want 304, none", w.Code, w.Body.Len())
	}
	for _, h := range []string{"Content-Length", "Content-Encoding"} {
		if got := w.Header().Get(h); got != "" {
			t.Errorf("304 carries %s: %q", h, got)
		}
	}
	if w := f.do("GET", "/web/app.wasm", "If-None-Match: "+gzTag); w.Code != 200 {
		t.Errorf("identity request with gzip tag: status %d, want 200", w.Code)
	}
	w = f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip", `If-Match: "stale"`)
	if w.Code != 412 || w.Header().Get("Content-Length") != "" {
		t.Errorf("If-Match stale: status %d Content-Length %q; want 412, none", w.Code, w.Header().Get("Content-Length"))
	}
}

func TestGzipDisabled(t *testing.T) {
	f := newFixture(t, Options{GzipCacheBytes: -1})
	w := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip")
	if w.Header().Get("Content-Encoding") != "" || w.Header().Get("Vary") != "" {
		t.Errorf("compression disabled but got Content-Encoding %q Vary %q",
			w.Header().Get("Content-Encoding"), w.Header().Get("Vary"))
	}
}

func TestGzipTooLargeForCache(t *testing.T) {
	f := newFixture(t, Options{GzipCacheBytes: 16 << 10}) // app.wasm is 64 KiB
	w := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip")
	if w.Header().Get("Content-Encoding") != "" {
		t.Error("file larger than the cache bound was gzipped")
	}
	if w := f.do("GET", "/web/app.js", "Accept-Encoding: gzip"); w.Header().Get("Content-Encoding") != "gzip" {
		t.Error("small file not gzipped")
	}
}

func TestHostilePaths(t *testing.T) {
	f := newFixture(t, Options{Pages: pagesStub})
	tests := []struct {
		target string
		code   int
	}{
		{"/models/../go.mod", 404},
		{"/web/../models/smol/config.json", 404},
		{"/models/%2e%2e/x", 404},
		{"/models/%2E%2E/x", 404},
		{"/models/smol/./config.json", 404},
		{"/models/..%2fx", 400},
		{"/models/smol%2fconfig.json", 400},
		{"/models/a/..%5c..%5cx", 400},
		{`/models/a/..\..\x`, 400},
		{"/models/.git/config", 404},
		{"/models/x/.env", 404},
		{"/web/.hidden", 404},
		{"//etc/passwd", 404},
		{"/models//etc/passwd", 404},
		{"/models/%00", 400},
		{"/models/smol/config.json%00.png", 400},
		{"/web/", 404},
		{"/web", 404},
		{"/models/", 404},
		{"/models/smol", 404},
		{"/models/smol/", 404},
		{"/web/sub", 404},
		{"/web/sub/", 404},
		{"/web/app.js/", 404},
		{"/web/app.js/x", 404},
		{"/web/escape-abs.txt", 404},
		{"/web/escape-rel.txt", 404},
		{"/web/missing.js", 404},
		// Controls: legitimate files still work.
		{"/web/inside.js", 200},
		{"/web/sub/a.js", 200},
		{"/models/smol/config.json", 200},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			w := f.do("GET", tt.target)
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.code, w.Body.String())
			}
			if tt.code != 200 && strings.Contains(w.Body.String(), "outside") {
				t.Errorf("body leaks file content: %q", w.Body.String())
			}
		})
	}
}

func TestSymlinkEscapeFixture(t *testing.T) {
	// Guard against a silently skipped symlink case in TestHostilePaths.
	f := newFixture(t, Options{})
	if _, err := os.Lstat(filepath.Join(f.web, "escape-rel.txt")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if _, err := os.ReadFile(filepath.Join(f.web, "escape-rel.txt")); err != nil {
		t.Fatalf("fixture symlink does not resolve outside the root: %v", err)
	}
}

func TestForbidden(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	f := newFixture(t, Options{})
	if err := os.Chmod(filepath.Join(f.models, "smol", "config.json"), 0); err != nil {
		t.Fatal(err)
	}
	w := f.do("GET", "/models/smol/config.json")
	if w.Code != 403 || w.Body.String() != "Forbidden\n" {
		t.Errorf("status %d body %q, want 403 Forbidden", w.Code, w.Body.String())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, Options{Pages: pagesStub})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"} {
		for _, target := range []string{"/", "/web/app.js", "/models/smol/config.json", "/healthz"} {
			w := f.do(m, target)
			if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status %d Allow %q, want 405 \"GET, HEAD\"", m, target, w.Code, w.Header().Get("Allow"))
			}
		}
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, Options{})
	w := f.do("GET", "/healthz")
	if w.Code != 200 || w.Body.String() != "ok" {
		t.Errorf("status %d body %q, want 200 \"ok\"", w.Code, w.Body.String())
	}
}

func TestPagesReceiveOtherPaths(t *testing.T) {
	var seen []string
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path)
	})
	f := newFixture(t, Options{Pages: pages})
	for _, p := range []string{"/", "/app.js", "/manifest.webmanifest", "/about/", "/.well-known/x"} {
		f.do("GET", p)
	}
	f.do("GET", "/web/app.js")
	f.do("GET", "/models/smol/config.json")
	f.do("GET", "/healthz")
	want := "/ /app.js /manifest.webmanifest /about/ /.well-known/x"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("pages saw %q, want %q", got, want)
	}
}

// TestOverRealServer checks what a recorder cannot: that every response's
// Content-Length matches what goes on the wire, so a keep-alive connection
// survives gzip, HEAD, 304, 412 and Range responses in a row.
func TestOverRealServer(t *testing.T) {
	f := newFixture(t, Options{Pages: pagesStub})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	wasm := readFile(t, f.web, "app.wasm")
	gz := f.do("GET", "/web/app.wasm", "Accept-Encoding: gzip")
	gzTag := gz.Header().Get("ETag")
	tests := []struct {
		method, target string
		headers        []string
		code           int
		bodyLen        int
	}{
		{"GET", "/web/app.wasm", []string{"Accept-Encoding: gzip"}, 200, gz.Body.Len()},
		{"HEAD", "/web/app.wasm", []string{"Accept-Encoding: gzip"}, 200, 0},
		{"GET", "/web/app.wasm", []string{"Accept-Encoding: gzip", "If-None-Match: " + gzTag}, 304, 0},
		{"GET", "/web/app.wasm", []string{"Accept-Encoding: gzip", `If-Match: "x"`}, 412, 0},
		{"GET", "/web/app.wasm", []string{"Accept-Encoding: identity"}, 200, len(wasm)},
		{"GET", "/models/smol/onnx/model.onnx", []string{"Range: bytes=-100"}, 206, 100},
		{"GET", "/models/smol/onnx/model.onnx", []string{"Range: bytes=5000-"}, 416, -1},
		{"GET", "/", nil, 200, -1},
		{"GET", "/healthz", nil, 200, 2},
	}
	client := srv.Client()
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range tt.headers {
			k, v, _ := strings.Cut(kv, ": ")
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s %v: %v", tt.method, tt.target, tt.headers, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s %v: read body: %v", tt.method, tt.target, tt.headers, err)
		}
		if resp.StatusCode != tt.code || (tt.bodyLen >= 0 && len(body) != tt.bodyLen) {
			t.Errorf("%s %s %v: status %d, %d body bytes; want %d, %d",
				tt.method, tt.target, tt.headers, resp.StatusCode, len(body), tt.code, tt.bodyLen)
		}
	}
}

func TestEmptyDirsAnswer404(t *testing.T) {
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/web/app.wasm", "/models/smol/config.json", "/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != 404 {
			t.Errorf("GET %s: status %d, want 404", target, w.Code)
		}
	}
}
