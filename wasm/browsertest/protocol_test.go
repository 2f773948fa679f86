//go:build !js

package browsertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
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
	t.Run("look ahead", func(t *testing.T) { checkLookAhead(t, b, cases(t)) })
	t.Run("bad tokenizer", func(t *testing.T) { checkBadTokenizer(t, b) })
}

// checkBadTokenizer loads a model folder whose tokenizer.json is cut short:
// the tokenizer is parsed while the ONNX files load, and its failure must
// end the load with one sentence and no loaded, followed by a stored (not
// complete) once the files it began to keep have settled; the next load
// works.
func checkBadTokenizer(t *testing.T, b *browser) {
	t.Helper()
	const loadID = 7
	r, err := b.call(request(&protocol.Load{Model: badTokenizerModel, Device: protocol.DeviceWasm, DType: modelconfig.SameVariant("fp32"), LoadID: loadID}, ""), loadTimeout)
	if err != nil {
		t.Fatal(err)
	}
	e, failed := r.failure()
	if !failed || e.Message != "The model's configuration could not be read." || !strings.Contains(e.Detail, "tokenizer.json") {
		t.Fatalf("load with a broken tokenizer.json: %s %+v; want the configuration error naming tokenizer.json", r.Final.Type(), r.Final.Message)
	}
	t.Logf("broken tokenizer.json: %q (%s)", e.Message, e.Detail)
	settled, err := evaluate[protocol.Stored](b, fmt.Sprintf(`new Promise((resolve) => {
		const look = () => {
			const e = h.log.find((e) => e.msg.type === 'stored' && e.msg.loadId === %d);
			if (e) resolve(e.msg); else setTimeout(look, 50);
		};
		look();
	})`, loadID), loadTimeout)
	if err != nil || settled.Complete {
		t.Fatalf("after the failed load: stored %+v, %v; want one, not complete", settled, err)
	}
	checkLoaded(t, b.mustCall(t, loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("fp32")), loadTimeout), "wasm", modelconfig.SameVariant("fp32"))
}

// lookCase is a look at a fixture case's picture, preprocessed as its ask.
func lookCase(c testCase) map[string]any {
	return request(&protocol.Look{Split: &c.DoImageSplitting}, "/"+c.Image)
}

// checkLookAhead looks at a picture before its question, as the page does
// while the person types: the ask of the same picture runs no vision
// encoder and answers as an ask without the look. A different picture, a
// superseded look, a look that cannot read its picture and a stop while
// the ask waits behind its look each end as the page expects.
func checkLookAhead(t *testing.T, b *browser, all []testCase) {
	t.Helper()
	split := findCase(t, all, "alpha_gradient_split")
	tiles := int(split.PixelValuesShape[1]) // the reference processor's frames
	plain := b.mustCall(t, askCase(split, 1), askTimeout).done(t)

	looked := finalAs[*protocol.Looked](t, b.mustCall(t, lookCase(split), askTimeout))
	if looked.Error != "" || looked.VisionMs <= 0 || looked.Tiles != tiles {
		t.Fatalf("look: %+v; want the vision encoder run on %d tiles", looked, tiles)
	}
	t.Logf("look: %+v", looked)
	got := b.mustCall(t, askCase(split, 1), askTimeout).done(t)
	if !got.LookedAhead || got.VisionRuns != 0 || got.VisionMs != 0 {
		t.Errorf("ask after the look: lookedAhead %v, %d vision runs (%v ms); want true, 0", got.LookedAhead, got.VisionRuns, got.VisionMs)
	}
	if err := sameTokens(got.Tokens, plain.Tokens); err != nil {
		t.Errorf("ask after the look vs without: %v", err)
	}
	t.Logf("first token %.0f ms after the look, %.0f ms without (preprocess %.0f and %.0f ms)",
		got.TTFTMs, plain.TTFTMs, got.PreprocessMs, plain.PreprocessMs)
	again := finalAs[*protocol.Looked](t, b.mustCall(t, lookCase(split), askTimeout))
	if again.VisionMs != 0 {
		t.Errorf("a second look at the same picture ran the encoder (%v ms)", again.VisionMs)
	}

	other := findCase(t, all, followUpCase)
	d := b.mustCall(t, askCase(other, 1), askTimeout).done(t)
	if d.LookedAhead || d.VisionRuns != 1 {
		t.Errorf("another picture: lookedAhead %v, %d vision runs; want false, 1", d.LookedAhead, d.VisionRuns)
	}

	// A look at a newer picture replaces the older one (cancelled if it
	// still runs, or finished first: the order of the worker's tasks
	// decides); the ask of the newer picture finds it ready.
	r, err := b.run("h.queue", askCase(split, 1), askTimeout, []any{lookCase(other), lookCase(split)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.done(t); !d.LookedAhead || d.VisionRuns != 0 {
		t.Errorf("ask of the newer look's picture: lookedAhead %v, %d vision runs; want true, 0", d.LookedAhead, d.VisionRuns)
	}
	for _, m := range r.Other {
		if l, ok := m.Message.(*protocol.Looked); ok && l.Error != "" {
			t.Errorf("two looks in a row answered %+v; want no error", l)
		}
	}
	t.Logf("two looks in a row, then the ask: %d looked replies (1: the older was cancelled)", countType(r, protocol.TypeLooked))

	// A stop while the ask waits behind its look: the ask ends cancelled
	// without running; the look is kept for the next ask.
	r, err = b.run("h.queue", askCase(other, 1), askTimeout, []any{lookCase(other)}, true)
	if err != nil {
		t.Fatal(err)
	}
	// (Where the look finished before the stop arrived, the running ask
	// takes it, after at most its first token.)
	if d := r.done(t); d.Stop != protocol.StopCancelled || len(d.Tokens) > 1 {
		t.Errorf("ask stopped behind its look: stop %q, %d tokens; want cancelled, none", d.Stop, len(d.Tokens))
	} else {
		t.Logf("ask stopped behind its look: cancelled with %d tokens", len(d.Tokens))
	}
	if d := b.mustCall(t, askCase(other, 1), askTimeout).done(t); !d.LookedAhead {
		t.Errorf("ask after the stopped one: lookedAhead false; want the look kept")
	}

	// A question without a picture (the person put the picture away)
	// cancels the look rather than wait for it, where the look has not
	// finished before the question arrives (the order of the worker's
	// tasks decides, so that is logged, not asserted).
	r, err = b.run("h.queue", followUp(protocol.Ask{Text: "Hello?", NewChat: true, MaxNewTokens: 4}), askTimeout,
		[]any{lookCase(findCase(t, all, "palette_split"))}, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.done(t); d.LookedAhead || d.VisionRuns != 0 {
		t.Errorf("a question without a picture: lookedAhead %v, %d vision runs; want false, 0", d.LookedAhead, d.VisionRuns)
	}
	t.Logf("a question without a picture after a look: %d looked replies (0: the look was cancelled)", countType(r, protocol.TypeLooked))

	bad := finalAs[*protocol.Looked](t, b.mustCall(t, request(&protocol.Look{}, "bytes:not a picture"), askTimeout))
	if bad.Error == "" {
		t.Errorf("look at bytes that are no picture: %+v; want an error", bad)
	}
	t.Logf("look at a non-picture: %s", bad.Error)
}

// countType counts the messages of type typ among a reply's (Other holds
// the final one too).
func countType(r reply, typ protocol.Type) int {
	n := 0
	for _, m := range r.Other {
		if m.Message != nil && m.Type() == typ {
			n++
		}
	}
	return n
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
