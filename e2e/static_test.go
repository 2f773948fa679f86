//go:build !js

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pocketvlm/smolvlm/app"
)

// TestStaticSite builds the static site (what `make static` writes next to
// index.html) and serves it with a plain file server, without the
// server package's headers, then answers one question through it.
func TestStaticSite(t *testing.T) {
	requireSuite(t)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(suite.root, "web"), filepath.Join(dir, "web")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(suite.fixture, "model"), filepath.Join(dir, "models", "default")); err != nil {
		t.Fatal(err)
	}
	if err := app.WriteStaticSite(dir, app.HandlerOptions{Version: "e2e-static"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "app.js", "app-worker.js", "app.css", "manifest.webmanifest", "wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the static build has no %s: %v", name, err)
		}
	}
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer ts.Close()

	c := findCase(t, "astronaut_nosplit")
	tb := openAppAt(t, ts.URL, fmt.Sprintf("device=wasm&dtype=fp32&split=0&max_new_tokens=%d&repetition_penalty=1", maxNewTokens), desktop)
	a := tb.ask(casePath(c), c.Prompt)
	if got, want := a.tokens(t), c.ReferenceTokens["greedy"]; !slices.Equal(got, want) {
		t.Errorf("static site: tokens %v, want %v", got, want)
	}
	if !eval[bool](tb, `document.body.innerText.includes('tiny test model')`) {
		t.Error("the static site does not say it runs the tiny test model")
	}
}
