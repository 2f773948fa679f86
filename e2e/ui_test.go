//go:build !js

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPageIsSelfContained checks the page under the server's strict
// Content-Security-Policy: nothing is blocked, no element carries a style
// attribute (so style-src needs no 'unsafe-inline' for our markup), and no
// resource, icon included, comes from another origin.
func TestPageIsSelfContained(t *testing.T) {
	requireSuite(t)
	resp, err := http.Get(suite.baseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' 'wasm-unsafe-eval'") {
		t.Errorf("the page is served with CSP %q", csp)
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") {
		t.Error("the generated page has an inline script or style")
	}
	tb := openApp(t, "", desktop)
	// The first paint's file inputs are disabled (nothing would handle a
	// picture chosen there); the running app's are not.
	if n := eval[int](tb, `document.querySelectorAll('#image-input:disabled, #camera-input:disabled').length`); n > 0 {
		t.Errorf("%d picture inputs still disabled once the app runs", n)
	}
	if v := eval[[]string](tb, `window.__cspViolations`); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
	if n := eval[int](tb, `document.querySelectorAll('[style]').length`); n > 0 {
		t.Errorf("%d elements carry a style attribute", n)
	}
	foreign := eval[[]string](tb, `[...document.querySelectorAll('[src], link[href]')]
	  .map(e => e.src || e.href).filter(u => u && new URL(u).origin !== location.origin)`)
	if len(foreign) > 0 {
		t.Errorf("resources from other origins: %q", foreign)
	}
	manifest := eval[string](tb, `fetch('/manifest.webmanifest').then(r => r.text())`)
	if strings.Contains(manifest, "http") {
		t.Errorf("the manifest names remote resources: %s", manifest)
	}
	if !strings.Contains(tb.pageText(), "tiny test model") {
		t.Errorf("no tiny-model notice: %s", tb.pageText())
	}
}

// TestDeepLinkSettings opens a link with every parameter and checks the
// settings panel shows them, a bad value is explained, and a change made in
// the panel lands in the URL.
func TestDeepLinkSettings(t *testing.T) {
	requireSuite(t)
	tb := openApp(t, "device=wasm&dtype=vision%3Dfp16%2Cembed%3Dfp32%2Cdecoder%3Dq4&split=0&max_new_tokens=24"+
		"&repetition_penalty=1.3&temperature=0.5&top_k=20&top_p=2&seed=7&dequantize=1&bogus=keep", desktop)
	for id, want := range map[string]string{
		"setting-device":             "wasm",
		"setting-dtype-vision":       "fp16",
		"setting-dtype-embed":        "fp32",
		"setting-dtype-decoder":      "q4",
		"setting-split":              "0",
		"setting-max-new-tokens":     "24",
		"setting-repetition-penalty": "1.3",
		"setting-sampling":           "sample",
		"setting-temperature":        "0.5",
		"setting-top-k":              "20",
		"setting-seed":               "7",
		"setting-unpack":             "float32", // dequantize=1, a link from before int8
	} {
		if got := eval[string](tb, fmt.Sprintf(`document.getElementById(%q)?.value ?? 'missing'`, id)); got != want {
			t.Errorf("#%s shows %q, want %q", id, got, want)
		}
	}
	if text := tb.pageText(); !strings.Contains(text, "top_p") {
		t.Errorf("no notice explains the bad top_p: %s", text)
	}
	tb.setControl("setting-max-new-tokens", "40")
	q := tb.query()
	if !strings.Contains(q, "max_new_tokens=40") || !strings.Contains(q, "bogus=keep") || !strings.Contains(q, "seed=7") {
		t.Errorf("after a change the URL query is %q", q)
	}
	tb.setControl("setting-max-new-tokens", "0")
	tb.waitFor(`document.getElementById('setting-max-new-tokens-error')?.innerText ?? null`, 5*time.Second,
		"Use a whole number from 1 to 4096.")
	tb.waitModel()
	if facts := eval[string](tb, `document.querySelector('.about-facts')?.innerText ?? ''`); !strings.Contains(facts, "unpacked to float32: language decoder") {
		t.Errorf("with dequantize=1 and a q4 decoder the about card says %q; want the decoder unpacked", facts)
	}
}

// TestKeyboard opens and closes the settings with the keyboard alone and
// checks focus moves sensibly.
func TestKeyboard(t *testing.T) {
	requireSuite(t)
	tb := openApp(t, "device=wasm", desktop)
	focused := func() string { return eval[string](tb, `document.activeElement ? document.activeElement.id : ''`) }
	eval[bool](tb, `(document.getElementById('settings-toggle').focus(), true)`)
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	tb.waitFor(`document.querySelector('.settings-layer').hidden ? 'hidden' : 'shown'`, 5*time.Second, "shown")
	tb.waitFor(`document.activeElement.id`, 5*time.Second, "settings-close")
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	tb.waitFor(`document.querySelector('.settings-layer').hidden ? 'hidden' : 'shown'`, 5*time.Second, "hidden")
	if f := focused(); f != "settings-toggle" {
		t.Errorf("after Escape the focus is on %q, want the settings button", f)
	}
	// The drop zone is reachable: its file input takes focus.
	eval[bool](tb, `(document.getElementById('image-input').focus(), true)`)
	if f := focused(); f != "image-input" {
		t.Errorf("the picture input cannot take focus (focus on %q)", f)
	}
}

// TestScreenshots saves the page before and after an answer on a phone and
// a desktop screen, for review; on the phone it also checks that #run is
// within the screen without scrolling the question out of view.
func TestScreenshots(t *testing.T) {
	requireSuite(t)
	c := findCase(t, "astronaut_nosplit")
	for _, vp := range []viewport{phone, desktop} {
		t.Run(vp.name, func(t *testing.T) {
			tb := openApp(t, fmt.Sprintf("device=wasm&dtype=fp32&max_new_tokens=%d", maxNewTokens), vp)
			tb.screenshot(vp.name + "-before")
			tb.pick(casePath(c))
			tb.screenshot(vp.name + "-picture")
			tb.typePrompt("What is in this picture?")
			a := tb.run()
			if strings.TrimSpace(a.Text) == "" {
				t.Error("the answer shows no text")
			}
			tb.typePrompt(followUpQuestion)
			tb.run()
			eval[bool](tb, `(window.scrollTo(0, document.body.scrollHeight), true)`)
			time.Sleep(300 * time.Millisecond) // smooth scrolling settles
			tb.screenshot(vp.name + "-after")
			inView := eval[bool](tb, `(() => { const r = document.getElementById('run').getBoundingClientRect();
			  return r.bottom <= innerHeight && r.top >= 0 })()`)
			if !inView {
				t.Error("#run is off screen after an answer")
			}
			eval[bool](tb, `(document.getElementById('settings-toggle').click(), true)`)
			time.Sleep(400 * time.Millisecond)
			tb.screenshot(vp.name + "-settings")
		})
	}
}

// TestLoadingAndErrors shows the download progress of a model variant not
// loaded before, and a missing model folder as a plain sentence with a way
// to try again.
func TestLoadingAndErrors(t *testing.T) {
	requireSuite(t)
	tb := openTab(t, suite.baseURL, "device=wasm&dtype=fp16", desktop)
	if tb.seen(`document.querySelectorAll('.load-file').length > 1`, 10*time.Second) {
		tb.screenshot("desktop-loading")
	} else {
		t.Log("the model loaded too fast to catch its progress")
	}
	tb.waitModel()

	tb = openTab(t, suite.baseURL, "device=wasm&model=%2Fmodels%2Fmissing%2F", phone)
	tb.waitFor(`document.getElementById('model-status')?.dataset.state ?? null`, loadTimeout, "error")
	msg := eval[string](tb, `document.getElementById('model-error')?.innerText ?? ''`)
	t.Logf("missing model folder: %q", msg)
	if msg == "" || strings.ContainsAny(msg, "{}") || strings.Contains(msg, "undefined") || strings.Contains(msg, "    at ") {
		t.Errorf("the error is not plain words: %q", msg)
	}
	if !eval[bool](tb, `[...document.querySelectorAll('#load-progress button')].some(b => b.innerText.includes('Try again'))`) {
		t.Error("no Try again button")
	}
	if !tb.disabled("run") {
		t.Error("#run is enabled without a model")
	}
	tb.screenshot("phone-error")
}

// TestPictureSources brings a picture in each other way a person can: a
// paste, a drop on the picture pane, and a snapshot of the (fake) camera,
// which then gets an answer.
func TestPictureSources(t *testing.T) {
	requireSuite(t)
	tb := openApp(t, "device=wasm&dtype=fp32&max_new_tokens=8", desktop)
	shows := func(cond string) bool {
		return tb.seen(`document.querySelector('.preview')?.dataset.state === 'ready' && (n => `+cond+`)(document.querySelector('.preview-name').innerText)`, 10*time.Second)
	}
	const file = `fetch('/models/images/astronaut.png').then(r => r.blob())
	  .then(b => { const dt = new DataTransfer(); dt.items.add(new File([b], NAME, {type: 'image/png'})); return dt; })`
	eval[bool](tb, strings.ReplaceAll(file, "NAME", `'pasted.png'`)+
		`.then(dt => document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true})))`)
	if !shows(`n === 'pasted.png'`) {
		t.Errorf("a pasted picture is not shown: %s", tb.pageText())
	}
	eval[bool](tb, strings.ReplaceAll(file, "NAME", `'dropped.png'`)+
		`.then(dt => document.querySelector('.picture-pane').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})))`)
	if !shows(`n === 'dropped.png'`) {
		t.Errorf("a dropped picture is not shown: %s", tb.pageText())
	}
	// A file dragged beside the drop zone is refused (its dragover is
	// cancelled, with dropEffect none), not left to the browser, which would
	// replace the page with the file. web/dropguard.js does this from the
	// first paint on, before the app runs; the drop zone above still takes
	// its drop. (A script's DataTransfer keeps dropEffect none whatever is
	// set, so only the cancellation can be seen here.)
	const drag = `(target => { const dt = new DataTransfer(); dt.items.add(new File(['x'], 'x.png', {type: 'image/png'}));
	  const e = new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true});
	  target.dispatchEvent(e); return e.defaultPrevented; })`
	if !eval[bool](tb, drag+`(document.querySelector('header') || document.body)`) {
		t.Error("a file dragged beside the drop zone is left to the browser, which would open it in place of the page")
	}

	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.ID("camera-open"))); err != nil {
		t.Fatal(err)
	}
	tb.waitFor(`document.getElementById('camera-shoot')?.disabled === false ? 'on' : 'off'`, 15*time.Second, "on")
	time.Sleep(300 * time.Millisecond) // the first frames of the fake camera
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.ID("camera-shoot"))); err != nil {
		t.Fatal(err)
	}
	if !shows(`n.startsWith('Photo ')`) {
		t.Errorf("the camera's picture is not shown: %s", tb.pageText())
	}
	if eval[bool](tb, `!!document.querySelector('video')`) {
		t.Error("the camera view is still open after the snapshot")
	}
	tb.typePrompt("What is this?")
	a := tb.run()
	t.Logf("camera snapshot answered with %d tokens in %s ms to the first", len(a.tokens(t)), a.TTFTMs)
}
