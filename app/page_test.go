//go:build !wasm

package app

import (
	"slices"
	"strings"
	"testing"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// The page's protocol logic runs natively: the worker stub records what the
// page posts, and browser-only effects (focus, scrolling) are no-ops.

// testPage is a page whose worker is ready.
func testPage(t *testing.T) (*page, *modelWorker) {
	t.Helper()
	p := newPage()
	w := &modelWorker{}
	p.worker = w
	p.model.Status = neverLoaded
	p.message(&protocol.Ready{})
	return p, w
}

var noCtx goapp.Context

// message hands the page a message from the worker.
func (p *page) message(m protocol.Message) { p.onWorkerMessage(noCtx, m) }

// types lists the types of the posted messages.
func types(w *modelWorker) []protocol.Type {
	var out []protocol.Type
	for _, m := range w.posted {
		out = append(out, m.Type())
	}
	return out
}

func lastPost(w *modelWorker) protocol.Message { return w.posted[len(w.posted)-1] }

// fakeBlob stands for a picture's Blob in native tests.
type fakeBlob struct {
	goapp.Value
	name string
}

// testPicture is a picked picture whose Blob is a fakeBlob.
func testPicture(name string) picture { return picture{Name: name, Blob: fakeBlob{name: name}} }

// lastImage is the picture posted beside the last message.
func lastImage(w *modelWorker) any { return w.images[len(w.images)-1] }

// lastAsk is the last message posted, which must be an ask.
func lastAsk(t *testing.T, w *modelWorker) *protocol.Ask {
	t.Helper()
	ask, ok := lastPost(w).(*protocol.Ask)
	if !ok {
		t.Fatalf("the last message posted is %s, want an ask", lastPost(w).Type())
	}
	return ask
}

// lastLoad is the last message posted, which must be a load.
func lastLoad(t *testing.T, w *modelWorker) *protocol.Load {
	t.Helper()
	load, ok := lastPost(w).(*protocol.Load)
	if !ok {
		t.Fatalf("the last message posted is %s, want a load", lastPost(w).Type())
	}
	return load
}

func loadTestModel(p *page) {
	p.message(&protocol.Progress{LoadID: p.loadID, File: "onnx/a.onnx", Loaded: 5, Total: 10})
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM, Tiny: true})
}

func TestPageLoadsWhenWorkerReady(t *testing.T) {
	p, w := testPage(t)
	if got := types(w); !slices.Equal(got, []protocol.Type{protocol.TypeLoad}) {
		t.Fatalf("posted %v, want a load", got)
	}
	if p.model.Status != loading {
		t.Fatalf("status %v, want loading", p.model.Status)
	}
	loadTestModel(p)
	if p.model.Status != loaded || p.model.Backend != "wasm" {
		t.Fatalf("after loaded: %+v", p.model)
	}
	if !slices.ContainsFunc(p.notices(), func(n notice) bool { return n.ID == "notice-tiny" }) {
		t.Error("no tiny-model notice")
	}
	if !slices.ContainsFunc(p.notices(), func(n notice) bool { return n.ID == "notice-fallback" }) {
		t.Error("no notice for the fall back to wasm")
	}
}

func TestPageConversation(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, testPicture("cat.png"))
	p.prompt = "What is this?"
	p.run(noCtx)

	ask := lastAsk(t, w)
	if !ask.NewChat || ask.Text != "What is this?" || lastImage(w) == nil {
		t.Fatalf("first ask %v", ask)
	}
	if !p.generating() || p.prompt != "" {
		t.Fatalf("after run: generating %v, prompt %q", p.generating(), p.prompt)
	}
	p.message(&protocol.Token{ID: 7, Text: " A"})
	p.message(&protocol.Token{ID: 8, Text: " cat"})
	if got := p.turns[0].Answer; got != " A cat" {
		t.Errorf("streamed answer %q", got)
	}
	p.message(&protocol.Done{Tokens: []int64{7, 8, 2}, Stop: protocol.StopEOS, VisionRuns: 1})
	if p.generating() || p.turns[0].State != answerDone || !slices.Equal(p.turns[0].Tokens, []int64{7, 8, 2}) {
		t.Fatalf("after done: %+v", p.turns[0])
	}

	p.ask(noCtx, "And its colour?")
	follow := lastAsk(t, w)
	if follow.NewChat || lastImage(w) != nil {
		t.Errorf("follow-up %v: want newChat false and no image", follow)
	}
	if len(p.turns) != 2 || p.turns[1].Picture != "" || p.turns[0].Picture != "cat.png" {
		t.Errorf("turns %+v", p.turns)
	}
}

func TestPageNewPictureResetsChat(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, testPicture("a.png"))
	p.ask(noCtx, "Q1")
	p.message(&protocol.Done{Stop: protocol.StopEOS})
	p.pick(noCtx, testPicture("b.png"))
	if got := types(w); len(p.turns) != 0 || !slices.Equal(got[len(got)-2:], []protocol.Type{protocol.TypeReset, protocol.TypeLook}) {
		t.Fatalf("a new picture left %d turns, posted %v; want reset, look last", len(p.turns), got)
	}
	p.ask(noCtx, "Q2")
	if ask := lastAsk(t, w); !ask.NewChat || p.turns[0].Picture != "b.png" {
		t.Errorf("ask after a new picture %v, turn %+v", ask, p.turns[0])
	}
}

// TestPageLooksAhead: the page sends a picture to the worker as soon as it
// is picked (or, if picked while the model loads, once it has loaded), with
// the split its ask will use, so the vision encoder runs while the person
// types; follow-ups and a new chat about the same picture send no look.
func TestPageLooksAhead(t *testing.T) {
	p, w := testPage(t)
	p.pick(noCtx, testPicture("early.png"))
	if slices.Contains(types(w), protocol.TypeLook) {
		t.Fatalf("looked before the model loaded: %v", types(w))
	}
	loadTestModel(p)
	look, ok := lastPost(w).(*protocol.Look)
	if !ok || lastImage(w) != p.pic.Blob || look.Split == nil {
		t.Fatalf("after loaded: posted %v; want a look with the picture", types(w))
	}
	p.pick(noCtx, testPicture("cat.png"))
	look, ok = lastPost(w).(*protocol.Look)
	if !ok || lastImage(w) != p.pic.Blob {
		t.Fatalf("after a pick: posted %v; want a look with the picture", types(w))
	}
	s := p.settings
	s.Split = SplitOn
	if *look.Split {
		s.Split = SplitOff
	}
	p.changeSettings(noCtx, s)
	look, ok = lastPost(w).(*protocol.Look)
	if !ok || lastImage(w) != p.pic.Blob {
		t.Fatalf("after changing the split: posted %v; want a new look", types(w))
	}
	p.ask(noCtx, "Q")
	if ask := lastAsk(t, w); *ask.Split != *look.Split || lastImage(w) != p.pic.Blob {
		t.Errorf("ask split %v, look split %v; want the same, and the picture again", *ask.Split, *look.Split)
	}
	p.message(&protocol.Looked{VisionMs: 5, Tiles: 1}) // ignored
	p.message(&protocol.Done{Stop: protocol.StopEOS})
	looks := func() int {
		return len(slices.DeleteFunc(types(w), func(typ protocol.Type) bool { return typ != protocol.TypeLook }))
	}
	before := looks()
	p.ask(noCtx, "Follow-up")
	p.message(&protocol.Done{Stop: protocol.StopEOS})
	p.newChat(noCtx)
	if looks() != before || p.turns != nil {
		t.Errorf("a follow-up and a new chat sent %d more looks", looks()-before)
	}
}

func TestPageStopAndDiscard(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.ask(noCtx, "Q")
	p.stop(noCtx)
	p.stop(noCtx) // pressed twice: one message
	if n := len(slices.DeleteFunc(types(w), func(typ protocol.Type) bool { return typ != protocol.TypeStop })); n != 1 {
		t.Errorf("%d stop messages, want 1", n)
	}
	p.message(&protocol.Done{Stop: protocol.StopCancelled})
	if p.turns[0].Stop != protocol.StopCancelled || p.stopAsked {
		t.Errorf("after a cancelled done: %+v, stopAsked %v", p.turns[0], p.stopAsked)
	}

	// New chat while an answer streams: its late messages are dropped.
	p.ask(noCtx, "Q2")
	p.newChat(noCtx)
	p.ask(noCtx, "Q3")
	p.message(&protocol.Token{Text: "old"})
	p.message(&protocol.Done{Stop: protocol.StopCancelled})
	p.message(&protocol.Token{Text: "new"})
	if len(p.turns) != 1 || p.turns[0].Answer != "new" || !p.generating() {
		t.Errorf("after discarding: %+v", p.turns)
	}
}

func TestPageAskErrorKeepsPictureForNextTry(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, testPicture("broken.png"))
	p.ask(noCtx, "Q")
	p.message(&protocol.Error{Message: "the picture could not be read"})
	if p.turns[0].State != answerFailed || p.turns[0].Error != "The picture could not be read." {
		t.Fatalf("failed turn %+v", p.turns[0])
	}
	p.ask(noCtx, "Q again")
	if ask := lastAsk(t, w); !ask.NewChat || lastImage(w) == nil || p.turns[1].Picture != "broken.png" {
		t.Errorf("retry %v: the picture should be sent again in a new chat", ask)
	}
}

// TestPageFailedFollowUp: a follow-up the worker refused before the model
// saw it leaves the conversation as it was; one whose failure started the
// worker's conversation over (reset) makes the next question a new chat
// that sends the picture again.
func TestPageFailedFollowUp(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, testPicture("cat.png"))
	p.ask(noCtx, "Q1")
	p.message(&protocol.Done{Stop: protocol.StopEOS})

	p.ask(noCtx, "A question too long for the context")
	p.message(&protocol.Error{Message: "This question does not fit."})
	p.ask(noCtx, "Q2")
	if ask := lastAsk(t, w); ask.NewChat || lastImage(w) != nil {
		t.Errorf("after a refused follow-up %v: want the same chat, no picture", ask)
	}
	p.message(&protocol.Done{Stop: protocol.StopEOS})

	p.ask(noCtx, "Q3")
	p.message(&protocol.Error{Message: "The conversation starts over.", Reset: true})
	p.ask(noCtx, "Q4")
	if ask := lastAsk(t, w); !ask.NewChat || lastImage(w) == nil || p.turns[len(p.turns)-1].Picture != "cat.png" {
		t.Errorf("after a failure that reset the worker's chat %v: want a new chat with the picture", ask)
	}
}

func TestPageSettingsReload(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	s := p.settings
	s.MaxNewTokens = 24
	p.changeSettings(noCtx, s)
	if got := types(w); !slices.Equal(got, []protocol.Type{protocol.TypeLoad}) {
		t.Errorf("a generation setting posted %v", got)
	}
	s.Device = DeviceWASM
	p.changeSettings(noCtx, s)
	s.DType = Variants{Vision: "q4", Embed: "q4", Decoder: "q4"}
	p.changeSettings(noCtx, s)
	if got := types(w); !slices.Equal(got, []protocol.Type{protocol.TypeLoad, protocol.TypeLoad, protocol.TypeLoad}) {
		t.Errorf("two model settings posted %v", got)
	}
	p.message(&protocol.Loaded{LoadID: w.posted[1].(*protocol.Load).LoadID, Backend: DeviceWASM})
	if p.model.Status != loading {
		t.Error("the answer to an outdated load made the model ready")
	}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM})
	if p.model.Status != loaded {
		t.Error("the answer to the latest load did not make the model ready")
	}
	if lastLoad(t, w).DType.Decoder != "q4" {
		t.Errorf("load %v", lastPost(w))
	}
}

// TestPageUnpack4Bit leaves the choice to the worker by default, then
// turns the setting on: the model loads again with dequantize, the about
// card names the parts the worker unpacked, and the CPU fallback's notice
// stops suggesting the setting.
func TestPageUnpack4Bit(t *testing.T) {
	p, w := testPage(t)
	if d := lastLoad(t, w).Dequantize; d != nil {
		t.Fatalf("the first load asks for dequantize %v; want the worker's choice (nil) by default", *d)
	}
	q4 := Variants{Vision: "q4", Embed: "q4", Decoder: "q4"}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM, DType: q4})
	if n := fallbackNotice(p); !strings.Contains(n, unpackHint) {
		t.Errorf("q4 on the CPU: the notice %q does not suggest unpacking", n)
	}
	s := p.settings
	s.Unpack4Bit = UnpackFloat32
	p.changeSettings(noCtx, s)
	if load := lastLoad(t, w); !isTrue(load.Dequantize) || load.Int8MatMul || p.model.Status != loading {
		t.Fatalf("after choosing float32: load %+v, model %v; want a new load with dequantize, without int8", load, p.model.Status)
	}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM, DType: q4, Dequantized: []string{modelconfig.Decoder}, DequantizedTo: "float32"})
	if n := fallbackNotice(p); n == "" || strings.Contains(n, unpackHint) {
		t.Errorf("unpacked: the notice is %q; want the fallback without the hint", n)
	}
	html := goapp.HTMLString(newAboutCard(p.model, p.settings.Model))
	if !strings.Contains(html, "unpacked to float32: language decoder") {
		t.Errorf("the about card does not name the unpacked parts: %s", html)
	}
	s.Unpack4Bit = UnpackInt8
	p.changeSettings(noCtx, s)
	if load := lastLoad(t, w); !isTrue(load.Dequantize) || !load.Int8MatMul || p.model.Status != loading {
		t.Fatalf("after choosing int8: load %+v, model %v; want a new load with dequantize and int8", load, p.model.Status)
	}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM, DType: q4, Dequantized: []string{modelconfig.VisionEncoder, modelconfig.Decoder}, DequantizedTo: "int8"})
	html = goapp.HTMLString(newAboutCard(p.model, p.settings.Model))
	if !strings.Contains(html, "unpacked to int8: vision encoder, language decoder") {
		t.Errorf("the about card does not say int8: %s", html)
	}

	s.Unpack4Bit = UnpackNone
	p.changeSettings(noCtx, s)
	if load := lastLoad(t, w); load.Dequantize == nil || *load.Dequantize || load.Int8MatMul {
		t.Fatalf("after choosing as downloaded: load %+v; want dequantize false, without int8", load)
	}

	// On WebGPU the setting acts only if the model falls back to the CPU:
	// changing it loads nothing and keeps the chat.
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWebGPU, DType: q4})
	posted := len(w.posted)
	s.Unpack4Bit = UnpackAuto
	p.changeSettings(noCtx, s)
	if len(w.posted) != posted || p.model.Status != loaded {
		t.Errorf("on WebGPU, changing the unpacking posted %v and left the model %v; want nothing posted", types(w)[posted:], p.model.Status)
	}
}

// isTrue reports whether b is set and true.
func isTrue(b *bool) bool { return b != nil && *b }

// fallbackNotice is the text of the CPU fallback's notice, or "".
func fallbackNotice(p *page) string {
	for _, n := range p.notices() {
		if n.ID == "notice-fallback" {
			return n.Text
		}
	}
	return ""
}

// TestPageSupersededLoadEndsQuietly changes the device while the model
// downloads: whatever the worker still says about the first load (its last
// progress, a cancellation error, or loaded if it finished first) neither
// fails the page nor counts as the answer to the newer load.
func TestPageSupersededLoadEndsQuietly(t *testing.T) {
	p, w := testPage(t)
	first := lastLoad(t, w).LoadID
	s := p.settings
	s.Device = DeviceWASM
	p.changeSettings(noCtx, s)
	second := lastLoad(t, w).LoadID
	if first == 0 || first == second {
		t.Fatalf("loads posted with loadId %v then %v, want two different ids", first, second)
	}
	p.message(&protocol.Progress{LoadID: first, File: "onnx/old.onnx", Loaded: 1, Total: 10})
	p.message(&protocol.Error{LoadID: first, Message: "The request was cancelled."})
	p.message(&protocol.Loaded{LoadID: first, Backend: DeviceWebGPU})
	if p.model.Status != loading || p.model.Error != "" || len(p.model.Files) != 0 {
		t.Fatalf("after the superseded load's messages: %+v, want loading with no error and no files", p.model)
	}
	p.message(&protocol.Loaded{LoadID: second, Backend: DeviceWASM})
	if p.model.Status != loaded || p.model.Backend != "wasm" {
		t.Fatalf("after the newer load's loaded: %+v", p.model)
	}
}

// TestPageFailedLoadHoldsDeletes: a load that fails may still be putting
// files into the cache, so deletes wait for the stored that follows its
// error (not a notice: the model is not loaded); a worker that cannot run
// writes nothing more.
func TestPageFailedLoadHoldsDeletes(t *testing.T) {
	p, _ := testPage(t)
	p.message(&protocol.Error{LoadID: p.loadID, Message: "The model could not be loaded."})
	if p.model.Status != loadFailed || !p.savingModel() {
		t.Fatalf("failed load: status %v, saving %v; want failed, deletes held back", p.model.Status, p.savingModel())
	}
	p.deleteModel(noCtx, "http://example.test/models/m/")
	if p.storageBusy != "" {
		t.Errorf("a delete before the failed load's writes settled started (busy %q)", p.storageBusy)
	}
	p.message(&protocol.Stored{LoadID: p.loadID - 1})
	if !p.savingModel() {
		t.Error("an older load's stored freed the deletes")
	}
	p.message(&protocol.Stored{LoadID: p.loadID})
	if p.savingModel() || slices.ContainsFunc(p.notices(), func(n notice) bool { return n.ID == "notice-storage" }) {
		t.Errorf("settled: saving %v, notices %v; want deletes free and no storage notice", p.savingModel(), p.notices())
	}

	p.workerFailed("The model worker stopped.")
	if p.savingModel() {
		t.Error("a worker that cannot run holds deletes back")
	}
}

// TestPageModelStored follows the worker's word that the downloads are in
// the cache, which comes after loaded: kept, nothing is said; not kept, a
// notice says the next start needs the network; an older load's word and
// one before loaded are dropped, and a new load forgets it.
func TestPageModelStored(t *testing.T) {
	hasNotice := func(p *page) bool {
		return slices.ContainsFunc(p.notices(), func(n notice) bool { return n.ID == "notice-storage" })
	}
	p, w := testPage(t)
	p.message(&protocol.Stored{LoadID: p.loadID, Complete: false})
	if p.model.Stored != storedPending {
		t.Errorf("stored before loaded: %q, want it dropped", p.model.Stored)
	}
	loadTestModel(p)
	if p.model.Stored != storedPending || hasNotice(p) {
		t.Errorf("loaded: stored %q, notice %v; want pending and no notice", p.model.Stored, hasNotice(p))
	}
	pendingTitle := (&modelBadge{Model: p.model}).storedTitle()
	if !p.savingModel() {
		t.Error("loaded, not yet stored: savingModel false; want deletes held back")
	}
	p.deleteModel(noCtx, "http://example.test/models/m/")
	if p.storageBusy != "" {
		t.Errorf("a delete while the files are being stored started (busy %q); want it refused", p.storageBusy)
	}
	p.message(&protocol.Stored{LoadID: p.loadID, Complete: true})
	if p.model.Stored != storedComplete || hasNotice(p) {
		t.Errorf("complete: stored %q, notice %v", p.model.Stored, hasNotice(p))
	}
	if title := (&modelBadge{Model: p.model}).storedTitle(); !strings.Contains(title, "offline") || title == pendingTitle {
		t.Errorf("the badge says %q once stored and %q before; want a different word on offline use", title, pendingTitle)
	}
	if p.savingModel() {
		t.Error("stored: savingModel still true")
	}

	s := p.settings
	s.Device = DeviceWASM
	p.changeSettings(noCtx, s)
	old := w.posted[0].(*protocol.Load).LoadID
	if p.model.Stored != storedPending {
		t.Errorf("a new load kept stored %q", p.model.Stored)
	}
	if !p.savingModel() {
		t.Error("loading: savingModel false; want deletes held back while files may be stored")
	}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM})
	p.message(&protocol.Stored{LoadID: old, Complete: false})
	if p.model.Stored != storedPending {
		t.Errorf("an older load's stored message was taken: %q", p.model.Stored)
	}
	p.message(&protocol.Stored{LoadID: p.loadID, Complete: false})
	if p.model.Stored != storedIncomplete || !hasNotice(p) {
		t.Errorf("incomplete: stored %q, notice %v; want incomplete and the storage notice", p.model.Stored, hasNotice(p))
	}
	full := p.notKeptText()
	p.insecure = true
	if insecure := p.notKeptText(); insecure == full || !strings.Contains(insecure, "https://") {
		t.Errorf("the notice on an insecure page says %q; want the reason (https://), not %q", insecure, full)
	}
}

func TestPageLoadErrorAndRetry(t *testing.T) {
	p, w := testPage(t)
	p.message(&protocol.Error{LoadID: p.loadID, Message: "model folder not found"})
	if p.model.Status != loadFailed || p.model.Error != "Model folder not found." {
		t.Fatalf("after a load error: %+v", p.model)
	}
	p.retryLoad(noCtx)
	if got := types(w); !slices.Equal(got, []protocol.Type{protocol.TypeLoad, protocol.TypeLoad}) {
		t.Errorf("retry posted %v", got)
	}
}

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "Something went wrong.",
		"camera refused":    "Camera refused.",
		"Done!":             "Done!",
		"élan is gone":      "Élan is gone.",
		"  spaced out?  ":   "Spaced out?",
		"ends with period.": "Ends with period.",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAnswerStopReasons: every stop reason of the protocol says why the
// answer ended, a full context what to do next.
func TestAnswerStopReasons(t *testing.T) {
	for stop, want := range map[protocol.StopReason]string{
		"eos":            "",
		"max_new_tokens": "length limit",
		"cancelled":      "stopped",
		"context_full":   "new chat",
	} {
		got := newAnswerFigures(figures{}, stop).stopText()
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("stop %q reads %q, want it to say %q", stop, got, want)
		}
	}
}

// TestPageTakesTheModelsDefaultsFromLoaded: the page learns the model's
// do_image_splitting from loaded.defaults instead of reading the model's
// files itself (issue 7).
func TestPageTakesTheModelsDefaultsFromLoaded(t *testing.T) {
	for _, modelSplit := range []bool{false, true} {
		p, w := testPage(t)
		p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM,
			Defaults: protocol.Defaults{Split: modelSplit, MaxNewTokens: 256, RepetitionPenalty: 1}})
		p.pick(noCtx, testPicture("cat.png"))
		p.ask(noCtx, "What is this?")
		if got := lastAsk(t, w).Split; got == nil || *got != modelSplit {
			t.Errorf("the model's do_image_splitting %v: ask split %v", modelSplit, got)
		}
	}
}

// TestPageLeavesGenerationToTheModel: with the default settings an ask
// carries no maxNewTokens nor repetitionPenalty, so the worker uses the
// model's generation_config.json; a setting the person made goes out.
func TestPageLeavesGenerationToTheModel(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.ask(noCtx, "Q")
	raw, err := protocol.Encode(lastAsk(t, w))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); strings.Contains(s, "maxNewTokens") || strings.Contains(s, "repetitionPenalty") {
		t.Errorf("default ask %s: want the model's maxNewTokens and repetitionPenalty (absent)", raw)
	}
	p.message(&protocol.Done{Stop: protocol.StopEOS})
	s := p.settings
	s.RepetitionPenalty, s.MaxNewTokens = 1.2, 24
	p.changeSettings(noCtx, s)
	p.ask(noCtx, "Q2")
	if a := lastAsk(t, w); a.RepetitionPenalty != 1.2 || a.MaxNewTokens != 24 {
		t.Errorf("ask after setting them: penalty %v, max new tokens %d; want 1.2, 24", a.RepetitionPenalty, a.MaxNewTokens)
	}
}

// TestPageShowsTheModelsDefaultsAndVariants: the settings panel learns the
// model's defaults and the folder's variants from loaded.
func TestPageShowsTheModelsDefaultsAndVariants(t *testing.T) {
	p, _ := testPage(t)
	if p.modelDefaults() != nil {
		t.Error("model defaults before a load")
	}
	avail := &protocol.Available{Vision: []string{"q4"}, Embed: []string{"q4"}, Decoder: []string{"q4", "fp32"}}
	p.message(&protocol.Loaded{LoadID: p.loadID, Backend: DeviceWASM, Variants: avail,
		Defaults: protocol.Defaults{MaxNewTokens: 512, RepetitionPenalty: 1.05}})
	if d := p.modelDefaults(); d == nil || d.MaxNewTokens != 512 || d.RepetitionPenalty != 1.05 {
		t.Errorf("model defaults %+v", d)
	}
	panel := newSettingsPanel(settingsPanelProps{Variants: p.model.Variants})
	enabled := func(chs []choice) (out []string) {
		for _, ch := range chs {
			if !ch.Disabled {
				out = append(out, ch.Value)
			}
		}
		return out
	}
	if got := enabled(panel.partChoices(0)); !slices.Equal(got, []string{"", "q4"}) {
		t.Errorf("vision choices enabled: %q; want automatic and q4", got)
	}
	if got := enabled(panel.partChoices(2)); !slices.Equal(got, []string{"", "fp32", "q4"}) {
		t.Errorf("decoder choices enabled: %q; want automatic, fp32, q4", got)
	}
	if got := enabled(newSettingsPanel(settingsPanelProps{}).partChoices(1)); len(got) != 1+len(variantNames) {
		t.Errorf("with an unknown folder %q are enabled; want every variant", got)
	}
}
