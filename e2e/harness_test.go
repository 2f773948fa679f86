//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pocketvlm/smolvlm/app"
	"github.com/pocketvlm/smolvlm/internal/chromium"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/server"
)

// suite is what TestMain sets up once: the site, the browser and the cases.
var suite struct {
	skip    string // why every test skips; "" when the suite can run
	baseURL string
	browser context.Context // the browser's first tab; tests open their own
	root    string
	fixture string
	cases   []fixture.Case
}

// Timeouts, generous for two CPU cores and SwiftShader.
const (
	loadTimeout   = 150 * time.Second
	answerTimeout = 120 * time.Second
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if testing.Short() {
		suite.skip = "end-to-end browser tests skip with -short"
		return m.Run()
	}
	stop, err := setUp()
	if err != nil {
		suite.skip = err.Error()
	}
	defer stop()
	return m.Run()
}

// setUp builds the web files, starts the site and the browser.
func setUp() (stop func(), err error) {
	stop = func() {}
	suite.root = fixture.Root()
	exe := chromiumPath()
	if exe == "" {
		return stop, errors.New("no Chromium found (set $CHROMIUM)")
	}
	if out, err := runMake("web"); err != nil {
		return stop, fmt.Errorf("make web failed: %v\n%s", err, out)
	}
	if suite.fixture, err = fixture.Dir(); err != nil {
		return stop, err
	}
	if suite.cases, err = fixture.Cases(); err != nil {
		return stop, err
	}
	ts, err := startSite()
	if err != nil {
		return stop, err
	}
	suite.baseURL = ts.URL
	browser, closeBrowser, err := startBrowser(exe)
	if err != nil {
		ts.Close()
		return stop, err
	}
	suite.browser = browser
	return func() { closeBrowser(); ts.Close() }, nil
}

func chromiumPath() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func runMake(target string) ([]byte, error) {
	cmd := exec.Command("make", target)
	cmd.Dir = suite.root
	return cmd.CombinedOutput()
}

// startSite serves the app through the real server package. The fixture's
// model folder is served as /models/default/, the default the page loads.
func startSite() (*httptest.Server, error) {
	app.Routes()
	site, err := server.New(server.Options{
		Pages:     app.Pages(app.HandlerOptions{TinyModel: true}),
		WebDir:    filepath.Join(suite.root, "web"),
		ModelsDir: suite.fixture,
	})
	if err != nil {
		return nil, err
	}
	return httptest.NewServer(aliasModel(site, "/models/default/", "/models/model/")), nil
}

// aliasModel serves the folder at path to under the path from.
func aliasModel(h http.Handler, from, to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, from); ok {
			r = r.Clone(r.Context())
			r.URL.Path = to + rest
			r.URL.RawPath = ""
		}
		h.ServeHTTP(w, r)
	})
}

// startBrowser starts headless Chromium with SwiftShader's WebGPU (the
// shared flags of internal/chromium) and a fake camera that needs no
// permission prompt.
func startBrowser(path string) (context.Context, func(), error) {
	opts := append(chromium.Options(path),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, nil, fmt.Errorf("start Chromium: %w", err)
	}
	return bctx, func() { cancelBrowser(); cancelAlloc() }, nil
}

func requireSuite(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

// viewport is a screen size to emulate.
type viewport struct {
	name  string
	w, h  int64
	phone bool
}

var (
	phone   = viewport{"phone", 390, 844, true}
	desktop = viewport{"desktop", 1280, 800, false}
)

// probeJS runs before the page's own scripts: it records CSP violations,
// main-thread long tasks and the types of the messages the page posts to
// the worker, for the tests to read.
const probeJS = `
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: 'longtask', buffered: true});
} catch (e) {}
window.__posted = [];
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (msg, ...rest) {
  window.__posted.push(msg && msg.type);
  return post.call(this, msg, ...rest);
};
`

// tab is one browser tab showing the app.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// openApp opens the app with the query in a new tab and waits for the model.
func openApp(t *testing.T, query string, vp viewport) *tab {
	t.Helper()
	return openAppAt(t, suite.baseURL, query, vp)
}

// openAppAt opens the app served at base and waits for the model.
func openAppAt(t *testing.T, base, query string, vp viewport) *tab {
	t.Helper()
	tb := openTab(t, base, query, vp)
	tb.waitModel()
	return tb
}

// openTab opens the app served at base in a new tab, without waiting.
func openTab(t *testing.T, base, query string, vp viewport) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(suite.browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	go tb.logExceptions()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.phone {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.w, vp.h, opts...)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: probeJS}); err != nil {
		t.Fatal(err)
	}
	u := base + "/"
	if query != "" {
		u += "?" + query
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	return tb
}

// logExceptions reports uncaught page exceptions in the test log.
func (tb *tab) logExceptions() {
	for ev, err := range chromedp.Events(tb.ctx, runtime.ExceptionThrown) {
		if err != nil {
			return
		}
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		tb.t.Logf("page exception: %s", msg)
	}
}

// eval evaluates a JS expression (promises awaited) into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", firstLine(expr), err)
	}
	return v
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "…"
	}
	return s
}

// waitFor polls the JS expression until it returns one of want.
func (tb *tab) waitFor(expr string, timeout time.Duration, want ...string) string {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for {
		v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[*string](expr))
		if err != nil {
			tb.t.Fatalf("evaluate %s: %v", expr, err)
		}
		got = ""
		if v != nil {
			got = *v
		}
		for _, w := range want {
			if got == w {
				return got
			}
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("after %v, %s is %q, want one of %q; page says: %s", timeout, expr, got, want, tb.pageText())
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// pageText is the visible text of the notices, model status and last answer.
func (tb *tab) pageText() string {
	v, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.notice, #model-status, #load-progress, #answer')].map(e => e.innerText.replace(/\s+/g, ' ')).join(' | ')`))
	return v
}

// waitModel waits for the model to be ready and fails with the page's words
// if it could not load.
func (tb *tab) waitModel() {
	tb.t.Helper()
	state := tb.waitFor(`document.querySelector('#model-status')?.dataset.state ?? null`, loadTimeout, "ready", "error")
	if state == "error" {
		tb.t.Fatalf("the model did not load: %s", tb.pageText())
	}
}

// answer is what #answer carries.
type answer struct {
	State           string `json:"state"`
	Turn            string `json:"turn"`
	TokenIDs        string `json:"tokenIds"`
	TTFTMs          string `json:"ttftMs"`
	DecodeTPS       string `json:"decodeTps"`
	VisionRuns      string `json:"visionRuns"`
	VisionRunsTotal string `json:"visionRunsTotal"`
	LookedAhead     string `json:"lookedAhead"`
	Stop            string `json:"stop"`
	Backend         string `json:"backend"`
	DType           string `json:"dtype"`
	Text            string `json:"text"`
}

// tokens decodes data-token-ids.
func (a answer) tokens(t *testing.T) []int64 {
	t.Helper()
	var ids []int64
	if err := json.Unmarshal([]byte(a.TokenIDs), &ids); err != nil {
		t.Fatalf("data-token-ids %q: %v", a.TokenIDs, err)
	}
	return ids
}

const readAnswerJS = `(() => {
  const a = document.getElementById('answer');
  return a ? Object.assign({}, a.dataset, {text: a.innerText}) : null;
})()`

// pick chooses a picture with the file input, as the file picker would.
func (tb *tab) pick(path string) {
	tb.t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := chromedp.Do(tb.ctx, chromedp.SetUploadFiles(chromedp.ID("image-input"), []string{abs})); err != nil {
		tb.t.Fatal(err)
	}
	if tb.waitFor(`document.querySelector('.preview')?.dataset.state ?? null`, 10*time.Second, "ready", "error") == "error" {
		tb.t.Fatalf("the preview failed: %s", tb.pageText())
	}
}

// typePrompt types the question into #prompt with key events.
func (tb *tab) typePrompt(text string) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.SendKeys(chromedp.ID("prompt"), text)); err != nil {
		tb.t.Fatal(err)
	}
	if got := eval[string](tb, `document.getElementById('prompt').value`); got != text {
		tb.t.Fatalf("#prompt holds %q after typing %q", got, text)
	}
}

// turns counts the questions asked in the chat.
func (tb *tab) turns() int { return eval[int](tb, `document.querySelectorAll('.turn').length`) }

// run clicks #run and waits for the new answer to finish.
func (tb *tab) run() answer {
	tb.t.Helper()
	turn := tb.turns()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.ID("run"))); err != nil {
		tb.t.Fatal(err)
	}
	return tb.waitAnswer(turn)
}

// waitAnswer waits for answer number turn to end and reads it.
func (tb *tab) waitAnswer(turn int) answer {
	tb.t.Helper()
	expr := fmt.Sprintf(`(() => { const a = document.getElementById('answer');
	  return a && a.dataset.turn === '%d' ? a.dataset.state : null })()`, turn)
	if tb.waitFor(expr, answerTimeout, "done", "error") == "error" {
		tb.t.Fatalf("answer %d failed: %s", turn, tb.pageText())
	}
	return eval[answer](tb, readAnswerJS)
}

// ask picks the picture (if any), types the question and runs it.
func (tb *tab) ask(picture, question string) answer {
	tb.t.Helper()
	if picture != "" {
		tb.pick(picture)
	}
	tb.typePrompt(question)
	return tb.run()
}

// setControl changes a settings control as a person would, firing change.
func (tb *tab) setControl(id, value string) {
	tb.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.getElementById(%q); if (!el) return false;
	  el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, id, value)
	if !eval[bool](tb, js) {
		tb.t.Fatalf("no settings control #%s", id)
	}
}

// query is the page URL's query, which the page keeps in step with settings.
func (tb *tab) query() string { return eval[string](tb, `location.search`) }

// longestTask is the longest main-thread task seen since start (ms on the
// page's clock), and how many long tasks there were.
func (tb *tab) longestTask(since float64) (float64, int) {
	type task struct{ Start, Duration float64 }
	tasks := eval[[]task](tb, `window.__longTasks || []`)
	longest, n := 0.0, 0
	for _, tk := range tasks {
		if tk.Start >= since {
			longest, n = max(longest, tk.Duration), n+1
		}
	}
	return longest, n
}

// now is the page's clock (performance.now).
func (tb *tab) now() float64 { return eval[float64](tb, `performance.now()`) }

// screenshot saves the viewport as bin/screenshots/name.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	dir := filepath.Join(suite.root, "bin", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}

// casePath is the fixture picture of a case.
func casePath(c fixture.Case) string { return filepath.Join(suite.fixture, c.Image) }

func isPNG(c fixture.Case) bool { return strings.HasSuffix(c.Image, ".png") }
