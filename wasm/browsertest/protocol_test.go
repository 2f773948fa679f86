//go:build !js

package browsertest

import (
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
	"strings"
	"testing"
)

// TestWorkerProtocol checks how the worker orders and ends requests, on the
// WebAssembly backend (fast on the tiny model): what the page relies on to
// stay in step with it.
func TestWorkerProtocol(t *testing.T) {
	_, srv := startSite(t)
	b := startBrowser(t, srv.URL+"/")
	r := startWithLoad(t, b, loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("fp32")))
	checkLoaded(t, r, "wasm", modelconfig.SameVariant("fp32"))

	t.Run("superseded load", func(t *testing.T) { checkSupersededLoad(t, b) })
	t.Run("refused follow-up", func(t *testing.T) { checkRefusedFollowUp(t, b, findCase(t, cases(t), followUpCase)) })
}

// checkRefusedFollowUp asks a follow-up too long for the model's context:
// the worker refuses it without forgetting the conversation (reset false),
// so the next follow-up is answered as if the refused one had never been
// asked, the picture still known.
func checkRefusedFollowUp(t *testing.T, b *browser, c testCase) {
	t.Helper()
	follow := followUp(protocol.Ask{Text: followUpText, MaxNewTokens: followUpMaxNew})
	b.mustCall(t, askCase(c, 1), askTimeout)
	want := b.mustCall(t, follow, askTimeout)

	b.mustCall(t, askCase(c, 1), askTimeout)
	long := followUp(protocol.Ask{Text: strings.Repeat(" cat", 8200), MaxNewTokens: followUpMaxNew})
	r, err := b.call(long, askTimeout)
	if err != nil {
		t.Fatal(err)
	}
	e, failed := r.failure()
	if !failed || e.Reset {
		t.Fatalf("too long a follow-up: %s %+v; want an error without reset", r.Final.Type(), r.Final.Message)
	}
	t.Logf("too long a follow-up: %q (%s)", e.Message, e.Detail)
	got := b.mustCall(t, follow, askTimeout)
	if got.done(t).PromptTokens != want.done(t).PromptTokens || got.done(t).VisionRuns != 0 {
		t.Errorf("follow-up after the refused one: %d prompt tokens, %d vision runs; want %d, 0",
			got.done(t).PromptTokens, got.done(t).VisionRuns, want.done(t).PromptTokens)
	}
	if err := sameTokens(got.done(t).Tokens, want.done(t).Tokens); err != nil {
		t.Errorf("follow-up after the refused one vs without it: %v", err)
	}
}

// checkSupersededLoad posts a load and at once another (Settings changed
// while the model downloads): the first ends without a word, and only the
// second's loaded, with its loadId, answers.
func checkSupersededLoad(t *testing.T, b *browser) {
	t.Helper()
	first := loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("q4"))
	first["loadId"] = 1
	second := loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("fp32"))
	second["loadId"] = 2
	r, err := b.run("h.supersede", first, loadTimeout, second)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Other[:len(r.Other)-1] { // the last is Final
		if typ := m.Type(); typ == protocol.TypeError || typ == protocol.TypeLoaded {
			t.Errorf("the superseded load answered %s %+v; want no answer", typ, m.Message)
		}
	}
	f := r.loaded(t)
	if f.LoadID != 2 || f.DType.Decoder != "fp32" {
		t.Fatalf("got loaded with loadId %d %+v; want loadId 2, fp32", f.LoadID, f.DType)
	}
	for _, p := range r.Progress {
		if p.LoadID != 1 && p.LoadID != 2 {
			t.Errorf("progress of %s with loadId %d", p.File, p.LoadID)
		}
	}
	t.Logf("superseded load: no answer; the newer load's loaded has loadId %d", f.LoadID)
}
