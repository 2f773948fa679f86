//go:build !js

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pocketvlm/smolvlm/app"
	"github.com/pocketvlm/smolvlm/server"
)

// swTimeout bounds a service worker's install: it precaches the page,
// app.wasm, worker.wasm and both onnxruntime-web builds (about 70 MB).
const swTimeout = 90 * time.Second

// pwaSite serves the app on an origin of its own, so that its service worker
// and caches belong to one test. Its go-app version can change (an app
// update), and its network can be cut: while offline every request that
// reaches it has its connection closed, as a dead network would.
type pwaSite struct {
	url         string
	pages       atomic.Pointer[http.Handler]
	offline     atomic.Bool
	onnx        atomic.Int64 // .onnx files answered
	offlineHits atomic.Int64 // requests refused while offline

	mu      sync.Mutex
	refused []string // their paths
}

func newPWASite(t *testing.T, version string) *pwaSite {
	t.Helper()
	s := &pwaSite{}
	s.setVersion(version)
	site, err := server.New(server.Options{
		Pages:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.pages.Load()).ServeHTTP(w, r) }),
		WebDir:    filepath.Join(suite.root, "web"),
		ModelsDir: suite.fixture,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := aliasModel(site, "/models/default/", "/models/model/")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.offline.Load() {
			s.offlineHits.Add(1)
			s.mu.Lock()
			s.refused = append(s.refused, r.URL.Path)
			s.mu.Unlock()
			dropConnection(w)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".onnx") {
			s.onnx.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

// setVersion makes the site serve the app under a new go-app version, as a
// new build would: app-worker.js changes, so browsers install it.
func (s *pwaSite) setVersion(v string) {
	var h http.Handler = app.Pages(app.HandlerOptions{TinyModel: true, Version: v})
	s.pages.Store(&h)
}

// dropConnection closes the connection without a response: the browser sees
// a network error, not an HTTP status.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// goOffline cuts the site's network: from now on it drops every
// connection, which is what the offline tests rest on. Chromium's network
// emulation is told too, so that navigator.onLine is false as on a device
// in flight mode; its commands differ between Chromium versions (the
// per-rule one and overrideNetworkState since about 141, the single
// emulateNetworkConditions before: CI once had a Chromium that refused the
// former's parameters), so each is tried in turn and what took is logged.
func (s *pwaSite) goOffline(tb *tab) {
	tb.t.Helper()
	s.offline.Store(true)
	if _, err := chromedp.Call(tb.ctx, network.Enable, network.EnableParams{}); err != nil {
		tb.t.Fatalf("network.enable: %v", err)
	}
	emulate := true
	_, byRule := chromedp.Call(tb.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &emulate,
		MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	})
	if byRule == nil {
		_, byRule = chromedp.Call(tb.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: true, DownloadThroughput: -1, UploadThroughput: -1,
		})
	}
	if byRule == nil {
		tb.t.Log("Chromium emulates offline (emulateNetworkConditionsByRule, overrideNetworkState)")
		return
	}
	_, single := chromedp.Call(tb.ctx, emulateNetworkConditions, legacyNetworkConditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	if single == nil {
		tb.t.Logf("Chromium emulates offline (emulateNetworkConditions; the per-rule commands: %v)", byRule)
		return
	}
	tb.t.Logf("Chromium's offline emulation refused (%v; %v): only the site is offline", byRule, single)
}

// emulateNetworkConditions is Network.emulateNetworkConditions, the one
// command of Chromium versions before the per-rule one (cdproto no longer
// has it).
var emulateNetworkConditions = cdp.Command[legacyNetworkConditions, struct{}]{Method: "Network.emulateNetworkConditions"}

// legacyNetworkConditions are emulateNetworkConditions's parameters.
type legacyNetworkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

// pollJS evaluates the JS expression (promises awaited) until it is true.
func (tb *tab) pollJS(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("after %v, %s (last error: %v); page says: %s", timeout, what, err, tb.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitServiceWorker waits until the service worker of version controls the
// page, has precached it (app-<version>) and no older version's cache is left.
func (tb *tab) waitServiceWorker(version string) {
	tb.t.Helper()
	tb.pollJS("the service worker "+version+" is not in control", fmt.Sprintf(`(async () => {
	  const r = await navigator.serviceWorker.getRegistration();
	  if (!r || !r.active || r.active.state !== 'activated' || r.installing || r.waiting) return false;
	  if (!navigator.serviceWorker.controller) return false;
	  const keys = await caches.keys();
	  const apps = keys.filter((k) => k.startsWith('app-'));
	  return apps.length === 1 && apps[0] === %q;
	})()`, "app-"+version), swTimeout)
}

// modelCacheFiles counts the files in the model worker's cache.
func (tb *tab) modelCacheFiles() int {
	return eval[int](tb, fmt.Sprintf(`(async () => (await (await caches.open(%q)).keys()).length)()`, app.ModelCacheName))
}

// waitStored waits until the page says the loaded model's files are all
// in the browser's cache: the worker stores them while the model already
// answers.
func (tb *tab) waitStored() {
	tb.t.Helper()
	state := tb.waitFor(`document.querySelector('#model-status')?.dataset.stored || null`, loadTimeout, "complete", "incomplete")
	if state != "complete" {
		tb.t.Fatalf("the model's files were not all stored: %s", tb.pageText())
	}
}

// reload reloads the tab without waiting for the model.
func (tb *tab) reload() {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Reload()); err != nil {
		tb.t.Fatalf("reload: %v", err)
	}
}

// offlineQuery is the settings of the offline tests: the fast wasm backend
// and the greedy astronaut_nosplit reference.
var offlineQuery = fmt.Sprintf("device=wasm&dtype=fp32&split=0&max_new_tokens=%d&repetition_penalty=1", maxNewTokens)

// askAstronaut asks the astronaut_nosplit question and checks the reference.
func (tb *tab) askAstronaut(when string) {
	tb.t.Helper()
	c := findCase(tb.t, "astronaut_nosplit")
	a := tb.ask(casePath(c), c.Prompt)
	if got, want := a.tokens(tb.t), c.ReferenceTokens["greedy"]; !slices.Equal(got, want) {
		tb.t.Errorf("%s: tokens %v, want %v", when, got, want)
	}
}

// TestOfflineStart installs the app (its service worker takes control and
// the model is loaded once), then cuts the network and reloads: the app must
// start, load the model from the browser's caches and answer.
func TestOfflineStart(t *testing.T) {
	requireSuite(t)
	site := newPWASite(t, "offline-1")
	tb := openAppAt(t, site.url, offlineQuery, desktop)
	tb.waitServiceWorker("offline-1")
	tb.waitStored()
	if n := tb.modelCacheFiles(); n == 0 {
		t.Fatalf("the model cache %s is empty after a load", app.ModelCacheName)
	}

	site.goOffline(tb)
	tb.reload()
	tb.waitModel()
	tb.askAstronaut("offline")
	site.mu.Lock()
	t.Logf("requests refused while offline: %q", site.refused)
	site.mu.Unlock()
}

// TestOfflineAfterUpdate installs the app, loads the model, then publishes a
// new app version while online: the new service worker installs and removes
// the old version's cache. Offline after that, the app must still start and
// answer, and the model must never have been downloaded again.
func TestOfflineAfterUpdate(t *testing.T) {
	requireSuite(t)
	site := newPWASite(t, "update-1")
	tb := openAppAt(t, site.url, offlineQuery, desktop)
	tb.waitServiceWorker("update-1")
	tb.waitStored()
	downloaded := site.onnx.Load()
	if downloaded == 0 {
		t.Fatal("the first load downloaded no .onnx file")
	}

	site.setVersion("update-2")
	tb.reload() // the navigation makes the browser check app-worker.js
	tb.waitModel()
	tb.waitServiceWorker("update-2")
	tb.waitStored()
	if n := tb.modelCacheFiles(); n == 0 {
		t.Fatalf("the app update emptied the model cache %s", app.ModelCacheName)
	}

	site.goOffline(tb)
	tb.reload()
	tb.waitModel()
	if v := eval[string](tb, `goappGetenv('GOAPP_VERSION')`); v != "update-2" {
		t.Errorf("offline the page runs version %q, want update-2", v)
	}
	tb.askAstronaut("offline after an update")
	if again := site.onnx.Load() - downloaded; again != 0 {
		t.Errorf("after the first load, %d .onnx files were downloaded again", again)
	}
}

// TestShareTarget shares a picture to the installed app as Android does:
// a multipart POST to the manifest's share_target action, here a form the
// page submits. The service worker keeps the file and opens the app, which
// shows it in the picture pane.
func TestShareTarget(t *testing.T) {
	requireSuite(t)
	site := newPWASite(t, "share-1")
	tb := openTab(t, site.url, offlineQuery, desktop)
	tb.waitServiceWorker("share-1")

	type shareTarget struct {
		Action, Method, Enctype string
		Params                  struct {
			Files []struct {
				Name   string
				Accept []string
			}
		}
	}
	st := eval[shareTarget](tb, `fetch('/manifest.webmanifest').then((r) => r.json()).then((m) => m.share_target)`)
	if st.Action != app.SharePath || st.Method != "POST" || st.Enctype != "multipart/form-data" ||
		len(st.Params.Files) != 1 || !slices.Contains(st.Params.Files[0].Accept, "image/*") {
		t.Fatalf("the manifest's share_target is %+v", st)
	}

	c := findCase(t, "astronaut_nosplit")
	const name = "shared astronaut.png"
	submit := fmt.Sprintf(`(async () => {
	  const blob = await (await fetch('/models/' + %q)).blob();
	  const form = document.createElement('form');
	  form.method = 'post';
	  form.enctype = 'multipart/form-data';
	  form.action = %q;
	  const input = document.createElement('input');
	  input.type = 'file';
	  input.name = %q;
	  const dt = new DataTransfer();
	  dt.items.add(new File([blob], %q, {type: 'image/png'}));
	  input.files = dt.files;
	  form.append(input);
	  document.body.append(form);
	  setTimeout(() => form.submit(), 0);
	  return true;
	})()`, filepath.ToSlash(c.Image), app.SharePath, st.Params.Files[0].Name, name)
	eval[bool](tb, submit)

	tb.pollJS("the shared picture is not in the picture pane",
		`document.querySelector('.preview')?.dataset.state === 'ready'`, 60*time.Second)
	if got := eval[string](tb, `document.querySelector('.preview-name').textContent`); got != name {
		t.Errorf("the picture pane shows %q, want %q", got, name)
	}
	if q := tb.query(); strings.Contains(q, "shared") {
		t.Errorf("the page kept the shared parameter: %q", q)
	}
	if n := eval[int](tb, `caches.open('smolvlm-share-v1').then((c) => c.keys()).then((k) => k.length)`); n != 0 {
		t.Errorf("the shared picture is still in the share cache (%d entries)", n)
	}
	tb.screenshot("share-target")
}

// TestStorageDeleteModel opens the settings after a model load: they show
// the site's storage use and the model folder's stored bytes, and its
// Delete button empties the model cache.
func TestStorageDeleteModel(t *testing.T) {
	requireSuite(t)
	site := newPWASite(t, "storage-1")
	tb := openAppAt(t, site.url, offlineQuery, desktop)
	tb.waitStored()
	files := tb.modelCacheFiles()
	if files == 0 {
		t.Fatalf("the model cache %s is empty after a load", app.ModelCacheName)
	}
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.ID("settings-toggle"))); err != nil {
		t.Fatal(err)
	}
	tb.pollJS("the settings show no stored model", `document.querySelectorAll('#storage-models .storage-model').length === 1`, 20*time.Second)
	type stored struct{ Model, Bytes, Usage string }
	s := eval[stored](tb, `(() => { const m = document.querySelector('.storage-model');
	  return {model: m.dataset.model, bytes: m.dataset.bytes, usage: document.getElementById('storage-usage').dataset.usage} })()`)
	if s.Model != site.url+"/models/default/" {
		t.Errorf("the stored model is %q, want %q", s.Model, site.url+"/models/default/")
	}
	if s.Bytes == "" || s.Bytes == "0" || s.Usage == "" || s.Usage == "0" {
		t.Errorf("stored bytes %q, site usage %q: want both above 0", s.Bytes, s.Usage)
	}
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(".storage-delete"))); err != nil {
		t.Fatal(err)
	}
	tb.pollJS("the deleted model is still listed", `document.querySelectorAll('#storage-models .storage-model').length === 0`, 20*time.Second)
	if n := tb.modelCacheFiles(); n != 0 {
		t.Errorf("after Delete the model cache holds %d of its %d files", n, files)
	}
}
