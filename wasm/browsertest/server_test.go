//go:build !js

package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/internal/webtypes"
)

// csp is the app's Content-Security-Policy: scripts only from the site and
// WebAssembly compilation, no eval, no inline script.
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; " +
	"connect-src 'self'; img-src 'self' blob: data:; style-src 'self'"

// site is what the test server serves:
//
//	/                  the harness page (testdata/harness.html, harness.js)
//	/web/worker.wasm   the worker freshly built for this run
//	/web/...           the repository's web/ folder, with wasm_exec.js from
//	                   GOROOT and web/ort/ from node_modules when make web has
//	                   not copied them there
//	/models/tiny/...   the fixture model
//	/images/...        the fixture pictures
type site struct {
	root, workerWasm, modelDir, imageDir string

	mu       sync.Mutex
	requests map[string]int // GETs per path, to see what the cache saved
}

// newSite builds the worker and finds the files to serve.
func newSite(t *testing.T) *site {
	t.Helper()
	root := fixture.Root()
	fixDir, err := fixture.Dir()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	s := &site{
		root:     root,
		modelDir: filepath.Join(fixDir, "model"),
		imageDir: filepath.Join(fixDir, "images"),
		requests: map[string]int{},
	}
	s.workerWasm = buildWorker(t, root)
	if _, err := os.Stat(s.ortFile("ort.webgpu.min.mjs")); err != nil {
		t.Fatalf("onnxruntime-web is missing (run npm ci --ignore-scripts, or make web): %v", err)
	}
	return s
}

// buildWorker compiles ./wasm/worker for js/wasm into a temporary folder;
// the Go build cache makes this quick when nothing changed.
func buildWorker(t *testing.T, root string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "worker.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./wasm/worker")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build worker.wasm: %v\n%s", err, b)
	}
	return out
}

// ortFile is onnxruntime-web's file name: web/ort/ if make web put it there,
// else node_modules.
func (s *site) ortFile(name string) string {
	if p := filepath.Join(s.root, "web", "ort", name); fileExists(p) {
		return p
	}
	return filepath.Join(s.root, "node_modules", "onnxruntime-web", "dist", name)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// badTokenizerModel is the tiny model with a tokenizer.json cut short.
const badTokenizerModel = "/models/badtokenizer/"

// file maps a URL path to a file, or "" for 404.
func (s *site) file(p string) string {
	clean := path.Clean(p)
	if strings.Contains(clean, "..") {
		return ""
	}
	switch {
	case clean == "/" || clean == "/index.html":
		return filepath.Join(s.root, "wasm", "browsertest", "testdata", "harness.html")
	case clean == "/harness.js":
		return filepath.Join(s.root, "wasm", "browsertest", "testdata", "harness.js")
	case clean == "/web/worker.wasm":
		return s.workerWasm
	case clean == "/web/wasm_exec.js":
		if p := filepath.Join(s.root, "web", "wasm_exec.js"); fileExists(p) {
			return p
		}
		return filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")
	case strings.HasPrefix(clean, "/web/ort/"):
		return s.ortFile(strings.TrimPrefix(clean, "/web/ort/"))
	case strings.HasPrefix(clean, "/web/"):
		return filepath.Join(s.root, "web", filepath.FromSlash(strings.TrimPrefix(clean, "/web/")))
	case clean == badTokenizerModel+"tokenizer.json": // cut short: not JSON
		return filepath.Join(s.root, "wasm", "browsertest", "testdata", "bad_tokenizer.json")
	case strings.HasPrefix(clean, badTokenizerModel):
		return filepath.Join(s.modelDir, filepath.FromSlash(strings.TrimPrefix(clean, badTokenizerModel)))
	case strings.HasPrefix(clean, "/models/tiny/"):
		return filepath.Join(s.modelDir, filepath.FromSlash(strings.TrimPrefix(clean, "/models/tiny/")))
	case strings.HasPrefix(clean, "/images/"):
		return filepath.Join(s.imageDir, filepath.FromSlash(strings.TrimPrefix(clean, "/images/")))
	}
	return ""
}

// ServeHTTP serves the site with the app's security headers.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Embedder-Policy", "require-corp")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	name := s.file(r.URL.Path)
	if name == "" || !fileExists(name) {
		http.NotFound(w, r)
		return
	}
	// Set explicitly (internal/webtypes): module scripts and streaming wasm
	// compilation refuse other types.
	if ct, ok := webtypes.Lookup(name); ok {
		h.Set("Content-Type", ct)
	}
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.mu.Unlock()
	http.ServeFile(w, r, name)
}

// modelRequests counts the GETs of ONNX files so far.
func (s *site) modelRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.requests {
		if strings.HasPrefix(p, "/models/") && strings.HasSuffix(p, ".onnx") {
			n += c
		}
	}
	return n
}

func startSite(t *testing.T) (*site, *httptest.Server) {
	s := newSite(t)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}
