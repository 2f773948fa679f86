package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// fakeHub plays the Hub: /<repo>/resolve/<rev>/<file> serves small files
// directly and redirects .onnx files to a CDN path, as the Hub does for LFS
// files. corrupt flips a byte of every ONNX file; ranges counts Range
// requests.
type fakeHub struct {
	dir     string
	corrupt bool
	ranges  atomic.Int32
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		if r.Header.Get("Range") != "" {
			h.ranges.Add(1)
		}
		data, err := os.ReadFile(filepath.Join(h.dir, filepath.FromSlash(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if h.corrupt {
			data[len(data)/2] ^= 0xff
		}
		http.ServeContent(w, r, name, time.Time{}, strings.NewReader(string(data)))
		return
	}
	_, file, ok := strings.Cut(r.URL.Path, "/resolve/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, file, _ = strings.Cut(file, "/") // drop the revision
	if strings.HasSuffix(file, ".onnx") {
		http.Redirect(w, r, "/cdn/"+file, http.StatusFound)
		return
	}
	http.ServeFile(w, r, filepath.Join(h.dir, filepath.FromSlash(file)))
}

func fixtureModel(t *testing.T) string {
	t.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// tinyManifest pins the fixture's files as they are.
func tinyManifest(t *testing.T, dir string, files ...string) *Manifest {
	t.Helper()
	m := &Manifest{Repo: "test/tiny-smolvlm", Revision: "abc123", Files: map[string]File{}}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m.Files[f] = File{Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	}
	return m
}

// TestRealManifestMatchesServedFiles downloads, with the pinned manifest of
// the real SmolVLM-256M-Instruct, the files the fixture shares with it (its
// tokenizer and processor files are the real ones).
func TestRealManifestMatchesServedFiles(t *testing.T) {
	m := SmolVLM256M()
	srv := httptest.NewServer(&fakeHub{dir: fixtureModel(t)})
	defer srv.Close()
	shared := []string{"tokenizer.json", "tokenizer_config.json", "chat_template.json", "preprocessor_config.json",
		"processor_config.json", "generation_config.json", "special_tokens_map.json"}
	out := t.TempDir()
	if err := Download(context.Background(), m, out, shared, Options{Endpoint: srv.URL}); err != nil {
		t.Fatal(err)
	}
	// The fixture's config.json is the tiny model's, so the real pin refuses it.
	err := Download(context.Background(), m, out, []string{"config.json"}, Options{Endpoint: srv.URL})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("tiny config.json against the real manifest: err = %v, want a mismatch", err)
	}
	if _, err := os.Stat(filepath.Join(out, "config.json")); !os.IsNotExist(err) {
		t.Fatal("a mismatching file was kept")
	}
}

func TestDownloadRedirectsResumesAndReports(t *testing.T) {
	dir := fixtureModel(t)
	onnx := "onnx/vision_encoder_q4.onnx"
	m := tinyManifest(t, dir, "config.json", onnx)
	hub := &fakeHub{dir: dir}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	out := t.TempDir()
	// A previous run left the first 1000 bytes.
	data, _ := os.ReadFile(filepath.Join(dir, onnx))
	os.MkdirAll(filepath.Join(out, "onnx"), 0o755)
	os.WriteFile(filepath.Join(out, onnx+".part"), data[:1000], 0o644)

	var last map[string][2]int64 = map[string][2]int64{}
	opts := Options{Endpoint: srv.URL, Progress: func(f string, done, total int64) { last[f] = [2]int64{done, total} }}
	if err := Download(context.Background(), m, out, FilesFor(onnx)[:1], opts); err != nil {
		t.Fatal(err)
	}
	if err := Download(context.Background(), m, out, []string{onnx}, opts); err != nil {
		t.Fatal(err)
	}
	if hub.ranges.Load() != 1 {
		t.Errorf("%d range requests, want 1 (resume)", hub.ranges.Load())
	}
	if p := last[onnx]; p[0] != p[1] || p[1] != int64(len(data)) {
		t.Errorf("last progress %v, want %d of %d", p, len(data), len(data))
	}
	if err := Verify(m, out, []string{"config.json", onnx}); err != nil {
		t.Fatal(err)
	}
	// Present and correct: nothing is fetched again.
	srv.Close()
	if err := Download(context.Background(), m, out, []string{onnx}, opts); err != nil {
		t.Fatalf("second download of a complete file: %v", err)
	}
}

func TestDownloadRefusesCorruptFile(t *testing.T) {
	dir := fixtureModel(t)
	onnx := "onnx/embed_tokens_q4.onnx"
	m := tinyManifest(t, dir, onnx)
	srv := httptest.NewServer(&fakeHub{dir: dir, corrupt: true})
	defer srv.Close()
	out := t.TempDir()
	err := Download(context.Background(), m, out, []string{onnx}, Options{Endpoint: srv.URL})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err = %v, want a sha256 mismatch", err)
	}
	for _, name := range []string{onnx, onnx + ".part"} {
		if _, err := os.Stat(filepath.Join(out, name)); !os.IsNotExist(err) {
			t.Errorf("%s left behind", name)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	m := &Manifest{Repo: "a/b", Revision: "r", Files: map[string]File{"x.json": {Size: 3, SHA256: "00"}}}
	err := Download(context.Background(), m, t.TempDir(), []string{"x.json"}, Options{Endpoint: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v, want the server's 404", err)
	}
	if err := Download(context.Background(), m, t.TempDir(), []string{"y.json"}, Options{Endpoint: srv.URL}); err == nil {
		t.Error("want an error for a file outside the manifest")
	}
	bad := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(bad, []byte(`{"repo":"a/b","revision":"r","files":{"../x":{"size":1,"sha256":"00"}}}`), 0o644)
	if _, err := LoadManifest(bad); err == nil {
		t.Error("want an error for a manifest path leaving the folder")
	}
}

// TestCommittedRealConfigsArePinned checks that testdata's copies of the
// real config files are the ones the manifest pins.
func TestCommittedRealConfigsArePinned(t *testing.T) {
	dir := filepath.Join(fixture.Root(), "testdata", "smolvlm-256m-instruct")
	files := []string{"config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json", "chat_template.json"}
	if err := Verify(SmolVLM256M(), dir, files); err != nil {
		t.Fatal(err)
	}
}
