//go:build !wasm

package app

import (
	"slices"
	"strings"
	"testing"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
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
	p.message(msgReady)
	return p, w
}

var noCtx goapp.Context

func (p *page) message(typ string, set ...func(*workerMessage)) {
	m := workerMessage{Type: typ}
	for _, f := range set {
		f(&m)
	}
	p.onWorkerMessage(noCtx, m)
}

// types lists the types of the posted messages.
func types(w *modelWorker) []string {
	var out []string
	for _, m := range w.posted {
		out = append(out, m["type"].(string))
	}
	return out
}

func lastPost(w *modelWorker) map[string]any { return w.posted[len(w.posted)-1] }

// latest tags a message as the answer to the page's latest load.
func latest(p *page) func(*workerMessage) {
	id := p.loadID
	return func(m *workerMessage) { m.LoadID = id }
}

func loadTestModel(p *page) {
	p.message(msgProgress, latest(p), func(m *workerMessage) { m.File, m.Loaded, m.Total = "onnx/a.onnx", 5, 10 })
	p.message(msgLoaded, latest(p), func(m *workerMessage) { m.Backend = "wasm"; m.Tiny = true })
}

func TestPageLoadsWhenWorkerReady(t *testing.T) {
	p, w := testPage(t)
	if got := types(w); !slices.Equal(got, []string{msgLoad}) {
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
	p.pick(noCtx, picture{Name: "cat.png"})
	p.prompt = "What is this?"
	p.run(noCtx)

	ask := lastPost(w)
	if ask["type"] != msgAsk || ask["newChat"] != true || ask["text"] != "What is this?" {
		t.Fatalf("first ask %v", ask)
	}
	if !p.generating() || p.prompt != "" {
		t.Fatalf("after run: generating %v, prompt %q", p.generating(), p.prompt)
	}
	p.message(msgToken, func(m *workerMessage) { m.ID, m.Text = 7, " A" })
	p.message(msgToken, func(m *workerMessage) { m.ID, m.Text = 8, " cat" })
	if got := p.turns[0].Answer; got != " A cat" {
		t.Errorf("streamed answer %q", got)
	}
	p.message(msgDone, func(m *workerMessage) { m.Tokens, m.Stop, m.VisionRuns = []int64{7, 8, 2}, stopEOS, 1 })
	if p.generating() || p.turns[0].State != answerDone || !slices.Equal(p.turns[0].Tokens, []int64{7, 8, 2}) {
		t.Fatalf("after done: %+v", p.turns[0])
	}

	p.ask(noCtx, "And its colour?")
	follow := lastPost(w)
	if follow["newChat"] != false || follow["image"] != nil {
		t.Errorf("follow-up %v: want newChat false and no image", follow)
	}
	if len(p.turns) != 2 || p.turns[1].Picture != "" || p.turns[0].Picture != "cat.png" {
		t.Errorf("turns %+v", p.turns)
	}
}

func TestPageNewPictureResetsChat(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, picture{Name: "a.png"})
	p.ask(noCtx, "Q1")
	p.message(msgDone, func(m *workerMessage) { m.Stop = stopEOS })
	p.pick(noCtx, picture{Name: "b.png"})
	if len(p.turns) != 0 || lastPost(w)["type"] != msgReset {
		t.Fatalf("a new picture left %d turns, last post %v", len(p.turns), lastPost(w))
	}
	p.ask(noCtx, "Q2")
	if ask := lastPost(w); ask["newChat"] != true || p.turns[0].Picture != "b.png" {
		t.Errorf("ask after a new picture %v, turn %+v", ask, p.turns[0])
	}
}

func TestPageStopAndDiscard(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.ask(noCtx, "Q")
	p.stop(noCtx)
	p.stop(noCtx) // pressed twice: one message
	if n := len(slices.DeleteFunc(types(w), func(s string) bool { return s != msgStop })); n != 1 {
		t.Errorf("%d stop messages, want 1", n)
	}
	p.message(msgDone, func(m *workerMessage) { m.Stop = stopCancelled })
	if p.turns[0].Stop != stopCancelled || p.stopAsked {
		t.Errorf("after a cancelled done: %+v, stopAsked %v", p.turns[0], p.stopAsked)
	}

	// New chat while an answer streams: its late messages are dropped.
	p.ask(noCtx, "Q2")
	p.newChat(noCtx)
	p.ask(noCtx, "Q3")
	p.message(msgToken, func(m *workerMessage) { m.Text = "old" })
	p.message(msgDone, func(m *workerMessage) { m.Stop = stopCancelled })
	p.message(msgToken, func(m *workerMessage) { m.Text = "new" })
	if len(p.turns) != 1 || p.turns[0].Answer != "new" || !p.generating() {
		t.Errorf("after discarding: %+v", p.turns)
	}
}

func TestPageAskErrorKeepsPictureForNextTry(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	p.pick(noCtx, picture{Name: "broken.png"})
	p.ask(noCtx, "Q")
	p.message(msgError, func(m *workerMessage) { m.Message = "the picture could not be read" })
	if p.turns[0].State != answerFailed || p.turns[0].Error != "The picture could not be read." {
		t.Fatalf("failed turn %+v", p.turns[0])
	}
	p.ask(noCtx, "Q again")
	if ask := lastPost(w); ask["newChat"] != true || p.turns[1].Picture != "broken.png" {
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
	p.pick(noCtx, picture{Name: "cat.png"})
	p.ask(noCtx, "Q1")
	p.message(msgDone, func(m *workerMessage) { m.Stop = stopEOS })

	p.ask(noCtx, "A question too long for the context")
	p.message(msgError, func(m *workerMessage) { m.Message = "This question does not fit." })
	p.ask(noCtx, "Q2")
	if ask := lastPost(w); ask["newChat"] != false || ask["image"] != nil {
		t.Errorf("after a refused follow-up %v: want the same chat, no picture", ask)
	}
	p.message(msgDone, func(m *workerMessage) { m.Stop = stopEOS })

	p.ask(noCtx, "Q3")
	p.message(msgError, func(m *workerMessage) { m.Message = "The conversation starts over."; m.Reset = true })
	p.ask(noCtx, "Q4")
	if ask := lastPost(w); ask["newChat"] != true || p.turns[len(p.turns)-1].Picture != "cat.png" {
		t.Errorf("after a failure that reset the worker's chat %v: want a new chat with the picture", ask)
	}
}

func TestPageSettingsReload(t *testing.T) {
	p, w := testPage(t)
	loadTestModel(p)
	s := p.settings
	s.MaxNewTokens = 24
	p.changeSettings(noCtx, s)
	if got := types(w); !slices.Equal(got, []string{msgLoad}) {
		t.Errorf("a generation setting posted %v", got)
	}
	s.Device = DeviceWASM
	p.changeSettings(noCtx, s)
	s.DType = Variants{Vision: "q4", Embed: "q4", Decoder: "q4"}
	p.changeSettings(noCtx, s)
	if got := types(w); !slices.Equal(got, []string{msgLoad, msgLoad, msgLoad}) {
		t.Errorf("two model settings posted %v", got)
	}
	p.message(msgLoaded, func(m *workerMessage) { m.LoadID = w.posted[1]["loadId"].(int); m.Backend = "wasm" })
	if p.model.Status != loading {
		t.Error("the answer to an outdated load made the model ready")
	}
	p.message(msgLoaded, latest(p), func(m *workerMessage) { m.Backend = "wasm" })
	if p.model.Status != loaded {
		t.Error("the answer to the latest load did not make the model ready")
	}
	if lastPost(w)["dtype"].(map[string]any)["decoder"] != "q4" {
		t.Errorf("load %v", lastPost(w))
	}
}

// TestPageSupersededLoadEndsQuietly changes the device while the model
// downloads: whatever the worker still says about the first load (its last
// progress, a cancellation error, or loaded if it finished first) neither
// fails the page nor counts as the answer to the newer load.
func TestPageSupersededLoadEndsQuietly(t *testing.T) {
	p, w := testPage(t)
	first := lastPost(w)["loadId"]
	s := p.settings
	s.Device = DeviceWASM
	p.changeSettings(noCtx, s)
	second := lastPost(w)["loadId"]
	if first == nil || first == second {
		t.Fatalf("loads posted with loadId %v then %v, want two different ids", first, second)
	}
	old := func(m *workerMessage) { m.LoadID = first.(int) }
	p.message(msgProgress, old, func(m *workerMessage) { m.File, m.Loaded, m.Total = "onnx/old.onnx", 1, 10 })
	p.message(msgError, old, func(m *workerMessage) { m.Message = "The request was cancelled." })
	p.message(msgLoaded, old, func(m *workerMessage) { m.Backend = "webgpu" })
	if p.model.Status != loading || p.model.Error != "" || len(p.model.Files) != 0 {
		t.Fatalf("after the superseded load's messages: %+v, want loading with no error and no files", p.model)
	}
	p.message(msgLoaded, func(m *workerMessage) { m.LoadID = second.(int); m.Backend = "wasm" })
	if p.model.Status != loaded || p.model.Backend != "wasm" {
		t.Fatalf("after the newer load's loaded: %+v", p.model)
	}
}

func TestPageLoadErrorAndRetry(t *testing.T) {
	p, w := testPage(t)
	p.message(msgError, latest(p), func(m *workerMessage) { m.Message = "model folder not found" })
	if p.model.Status != loadFailed || p.model.Error != "Model folder not found." {
		t.Fatalf("after a load error: %+v", p.model)
	}
	p.retryLoad(noCtx)
	if got := types(w); !slices.Equal(got, []string{msgLoad, msgLoad}) {
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
	for stop, want := range map[string]string{
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
		p.message(msgLoaded, latest(p), func(m *workerMessage) {
			m.Backend = "wasm"
			m.Defaults = &modelDefaults{Split: modelSplit, MaxNewTokens: 256, RepetitionPenalty: 1}
		})
		p.pick(noCtx, picture{Name: "cat.png"})
		p.ask(noCtx, "What is this?")
		if got := lastPost(w)["split"]; got != modelSplit {
			t.Errorf("the model's do_image_splitting %v: ask split %v", modelSplit, got)
		}
	}
}

func TestDecodeLoadedDefaults(t *testing.T) {
	m, err := decodeWorkerMessage(`{"type":"loaded","defaults":{"split":false,"maxNewTokens":512,"repetitionPenalty":1.2}}`)
	if err != nil || m.Defaults == nil || *m.Defaults != (modelDefaults{Split: false, MaxNewTokens: 512, RepetitionPenalty: 1.2}) {
		t.Errorf("got %+v, %v", m.Defaults, err)
	}
}
