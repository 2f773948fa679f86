package app

import (
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// get serves path from a fresh Handler.
func get(t *testing.T, opts HandlerOptions, path string) string {
	t.Helper()
	Routes()
	rec := httptest.NewRecorder()
	Handler(opts).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, rec.Code, body)
	}
	return string(body)
}

// TestPageHasNoInlineCode checks the generated page runs under
// script-src 'self': scripts only by src, no style attributes, no inline
// event handlers, and nothing fetched from another origin.
func TestPageHasNoInlineCode(t *testing.T) {
	page := get(t, HandlerOptions{TinyModel: true}, "/")
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>[^<]`), // a script with a body
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(src|href)="(https?:)?//`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("the page has %q", m)
		}
	}
	for _, want := range []string{`id="model-status"`, `id="image-input"`, `id="prompt"`, `id="run"`, `id="stop"`, "tiny test model"} {
		if !strings.Contains(page, want) {
			t.Errorf("the first paint lacks %s", want)
		}
	}
}

// TestFirstPaintPictureInputsWait: the server's first paint has the file
// inputs, but nothing handles them until the app runs (its DOM then replaces
// the first paint's), so a picture chosen there would be lost: they are
// disabled until then.
func TestFirstPaintPictureInputsWait(t *testing.T) {
	page := get(t, HandlerOptions{TinyModel: true}, "/")
	for _, id := range []string{"image-input", "camera-input"} {
		tag := regexp.MustCompile(`<input[^>]*id="` + id + `"[^>]*>`).FindString(page)
		if tag == "" {
			t.Errorf("the first paint has no #%s", id)
		} else if !regexp.MustCompile(`\sdisabled\b`).MatchString(tag) {
			t.Errorf("the first paint's #%s is usable before the app runs: %s", id, tag)
		}
	}
}

// TestFirstPaintGuardsDrops: a file dropped on the first paint, before the
// app runs, would replace the page (the browser's default): the page's head
// loads web/dropguard.js, which refuses such drops, and that file exists.
func TestFirstPaintGuardsDrops(t *testing.T) {
	page := get(t, HandlerOptions{TinyModel: true}, "/")
	head, _, _ := strings.Cut(page, "</head>")
	if !regexp.MustCompile(`<script[^>]*src="/web/dropguard.js"`).MatchString(head) {
		t.Error("the page's head does not load /web/dropguard.js")
	}
	if _, err := os.Stat("../web/dropguard.js"); err != nil {
		t.Error(err)
	}
}

func TestHandlerResourcesAreLocal(t *testing.T) {
	opts := HandlerOptions{ModelURL: "/models/other/"}
	for _, path := range []string{"/manifest.webmanifest", "/app-worker.js"} {
		if body := get(t, opts, path); strings.Contains(body, "http") {
			t.Errorf("%s names a remote resource: %s", path, body)
		}
	}
	js := get(t, opts, "/app.js")
	if !strings.Contains(js, `"SMOLVLM_MODEL_URL":"/models/other/"`) || !strings.Contains(js, `"SMOLVLM_TINY_MODEL":"0"`) {
		t.Error("app.js does not pass the model URL and tiny flag to the page")
	}
}

// TestOfflineResourcesHaveEveryORTFile keeps the service worker's precache
// in step with the onnxruntime-web files `make web` copies (ORT_FILES), so
// either build web/worker.js picks is there offline.
func TestOfflineResourcesHaveEveryORTFile(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ORT_FILES\s*:=((?:.*\\\n)*.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no ORT_FILES in the Makefile")
	}
	files := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if len(files) == 0 {
		t.Fatal("ORT_FILES is empty")
	}
	for _, f := range files {
		if !slices.Contains(OfflineResources, "/web/ort/"+f) {
			t.Errorf("OfflineResources lacks /web/ort/%s (Makefile ORT_FILES)", f)
		}
	}
	worker := get(t, HandlerOptions{Version: "t"}, "/app-worker.js")
	for _, r := range append([]string{"/web/app.wasm", "/"}, OfflineResources...) {
		if !strings.Contains(worker, `"`+r+`"`) {
			t.Errorf("app-worker.js does not precache %s", r)
		}
	}
	if !strings.Contains(worker, `const cacheName = "app-" + "t";`) || strings.Contains(worker, "{{") {
		t.Error("app-worker.js is not filled in from the template")
	}
}

// TestManifestHasShareTarget checks Pages adds the Web Share Target to
// go-app's manifest and keeps the rest.
func TestManifestHasShareTarget(t *testing.T) {
	Routes()
	for _, path := range []string{manifestPath, manifestAliasPath} {
		rec := httptest.NewRecorder()
		Pages(HandlerOptions{Version: "t"}).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body := rec.Body.String()
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/manifest+json" {
			t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		for _, want := range []string{`"share_target":{`, `"action":"/share"`, `"method":"POST"`, `"enctype":"multipart/form-data"`, `"name":"image"`, `"accept":["image/*"]`, `"short_name":"SmolVLM"`, `"start_url":"/"`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: no %s in %s", path, want, body)
			}
		}
	}
}
