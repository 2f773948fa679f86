//go:build !js

package browsertest

import (
	"strings"
	"testing"
)

// TestWorkerProtocol checks how the worker orders and ends requests, on the
// WebAssembly backend (fast on the tiny model): what the page relies on to
// stay in step with it.
func TestWorkerProtocol(t *testing.T) {
	_, srv := startSite(t)
	b := startBrowser(t, srv.URL+"/")
	r := startWithLoad(t, b, loadMessage("wasm", "fp32"))
	checkLoaded(t, r, "wasm", dtype{"fp32", "fp32", "fp32"})

	t.Run("superseded load", func(t *testing.T) { checkSupersededLoad(t, b) })
	t.Run("refused follow-up", func(t *testing.T) { checkRefusedFollowUp(t, b, findCase(t, cases(t), followUpCase)) })
}

// checkRefusedFollowUp asks a follow-up too long for the model's context:
// the worker refuses it without forgetting the conversation (reset false),
// so the next follow-up is answered as if the refused one had never been
// asked, the picture still known.
func checkRefusedFollowUp(t *testing.T, b *browser, c testCase) {
	t.Helper()
	follow := map[string]any{"type": "ask", "imageURL": nil, "text": followUpText, "maxNewTokens": followUpMaxNew}
	b.mustCall(t, askCase(c, 1), askTimeout)
	want := b.mustCall(t, follow, askTimeout)

	b.mustCall(t, askCase(c, 1), askTimeout)
	long := map[string]any{"type": "ask", "imageURL": nil, "text": strings.Repeat(" cat", 8200), "maxNewTokens": followUpMaxNew}
	r, err := b.call(long, askTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if r.Final.Type != "error" || r.Final.Reset {
		t.Fatalf("too long a follow-up: %s %q reset=%v; want an error without reset", r.Final.Type, r.Final.Message, r.Final.Reset)
	}
	t.Logf("too long a follow-up: %q (%s)", r.Final.Message, r.Final.Detail)
	got := b.mustCall(t, follow, askTimeout)
	if got.Final.PromptTokens != want.Final.PromptTokens || got.Final.VisionRuns != 0 {
		t.Errorf("follow-up after the refused one: %d prompt tokens, %d vision runs; want %d, 0",
			got.Final.PromptTokens, got.Final.VisionRuns, want.Final.PromptTokens)
	}
	if err := sameTokens(got.Final.Tokens, want.Final.Tokens); err != nil {
		t.Errorf("follow-up after the refused one vs without it: %v", err)
	}
}

// checkSupersededLoad posts a load and at once another (Settings changed
// while the model downloads): the first ends without a word, and only the
// second's loaded, with its loadId, answers.
func checkSupersededLoad(t *testing.T, b *browser) {
	t.Helper()
	first := loadMessage("wasm", "q4")
	first["loadId"] = 1
	second := loadMessage("wasm", "fp32")
	second["loadId"] = 2
	r, err := b.run("h.supersede", first, loadTimeout, second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Other[:len(r.Other)-1] { // the last is Final
		if m.Type == "error" || m.Type == "loaded" {
			t.Errorf("the superseded load answered %s %q (loadId %d); want no answer", m.Type, m.Message, m.LoadID)
		}
	}
	if r.Final.Type != "loaded" || r.Final.LoadID != 2 || r.Final.Dtype.Decoder != "fp32" {
		t.Fatalf("got %s loadId %d %+v %q; want loaded, loadId 2, fp32", r.Final.Type, r.Final.LoadID, r.Final.Dtype, r.Final.Message)
	}
	for _, p := range r.Progress {
		if p.LoadID != 1 && p.LoadID != 2 {
			t.Errorf("progress of %s with loadId %d", p.File, p.LoadID)
		}
	}
	t.Logf("superseded load: no answer; the newer load's loaded has loadId %d", r.Final.LoadID)
}
