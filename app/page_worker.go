package app

import (
	"strings"
	"unicode"
	"unicode/utf8"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// The page's side of the worker protocol (wasm/PROTOCOL.md).

// workerURL is where web/worker.js is served.
const workerURL = "/web/worker.js"

// startWorker starts the model worker. Its callbacks only decode the message
// and queue it for the UI goroutine, so the browser's event loop never waits.
func (p *page) startWorker() {
	ctx := p.ctx
	onMessage := func(raw string) {
		m, err := protocol.DecodeReply([]byte(raw))
		ctx.Dispatch(func(ctx goapp.Context) {
			if err != nil {
				goapp.Log(err)
				return
			}
			p.onWorkerMessage(ctx, m)
		})
	}
	onFail := func(msg string) {
		ctx.Dispatch(func(goapp.Context) { p.workerFailed(msg) })
	}
	w, err := startWorker(ctx.ResolveStaticResource(workerURL), onMessage, onFail)
	if err != nil {
		p.model = modelState{Status: loadFailed, Error: sentence(err.Error())}
		return
	}
	p.worker = w
	p.model = modelState{Status: neverLoaded, Text: "Starting the model worker…"}
}

// loadModel asks the worker for the model of the current settings. Before
// the worker says ready, the request waits for it.
func (p *page) loadModel() {
	if p.worker == nil || !p.workerReady {
		return
	}
	p.model = modelState{Status: loading, Text: "Downloading the model…"}
	p.loadID++
	p.worker.post(loadMessage(p.settings, p.loadID), nil)
}

// staleLoad reports whether m answers a load that a newer one replaced
// (changing Device or Precision while the model downloads): the worker
// cancels such a load, and whatever it still says of it is dropped.
func (p *page) staleLoad(m protocol.Message) bool {
	switch m := m.(type) {
	case *protocol.Progress:
		return m.LoadID != p.loadID
	case *protocol.Loaded:
		return m.LoadID != p.loadID
	case *protocol.Stored:
		return m.LoadID != p.loadID
	case *protocol.Error:
		return m.LoadID != 0 && m.LoadID != p.loadID
	}
	return false
}

func (p *page) onWorkerMessage(ctx goapp.Context, m protocol.Message) {
	if p.staleLoad(m) {
		return
	}
	switch m := m.(type) {
	case *protocol.Ready:
		p.workerReady = true
		p.loadModel()
	case *protocol.Progress:
		p.model.progress(m.File, m.Loaded, m.Total)
	case *protocol.Loaded:
		p.modelLoaded(m)
	case *protocol.Stored:
		p.modelStored(m)
	case *protocol.Status:
		p.workerStatus(m.Text)
	case *protocol.Token:
		p.appendToken(ctx, m)
	case *protocol.Done:
		p.finishAnswer(ctx, m)
	case *protocol.Error:
		p.workerError(ctx, m)
	}
}

// modelLoaded records the model's backend (the answer to the latest load:
// see staleLoad) and its own settings.
func (p *page) modelLoaded(m *protocol.Loaded) {
	p.model.Status = loaded
	p.model.Backend, p.model.DType, p.model.Notice, p.model.Tiny = string(m.Backend), m.DType, m.Notice, m.Tiny
	p.model.Text, p.model.Error = "", ""
	p.model.Defaults, p.model.Variants, p.model.Unpacked, p.model.UnpackedTo = m.Defaults, m.Variants, m.Dequantized, m.DequantizedTo
	p.splitDefault = m.Defaults.Split
	p.lookAhead() // a picture picked while the model loaded
	if p.settingsOpen {
		p.refreshStorage()
	}
}

// modelStored records whether the loaded model's downloads are all in the
// browser's cache, which the worker says a little after the model is ready;
// after a failed load, that its writes have settled.
func (p *page) modelStored(m *protocol.Stored) {
	switch p.model.Status {
	case loadFailed:
		p.model.Stored = storedIncomplete
	case loaded:
		p.model.Stored = storedIncomplete
		if m.Complete {
			p.model.Stored = storedComplete
		}
		p.askPersistence()
	default:
		return
	}
	if p.settingsOpen {
		p.refreshStorage()
	}
}

func (p *page) workerStatus(text string) {
	switch {
	case p.discarding:
	case p.generating():
		p.turns[len(p.turns)-1].Status = text
	case p.model.Status == loading || p.model.Status == neverLoaded:
		p.model.Text = text
	}
}

func (p *page) appendToken(ctx goapp.Context, m *protocol.Token) {
	if p.discarding || !p.generating() {
		return
	}
	t := &p.turns[len(p.turns)-1]
	t.Answer += m.Text
	t.Tokens = append(t.Tokens, m.ID)
	t.Status = ""
	afterUpdate(ctx, func() { scrollIntoView("answer") })
}

// finishAnswer completes the streaming answer with the worker's figures.
func (p *page) finishAnswer(ctx goapp.Context, m *protocol.Done) {
	if p.discarding {
		p.discarding = false
		return
	}
	if !p.generating() {
		return
	}
	p.chatStarted = true
	t := &p.turns[len(p.turns)-1]
	if m.Text != "" {
		t.Answer = m.Text
	}
	t.Tokens = m.Tokens
	if t.Tokens == nil {
		t.Tokens = []int64{}
	}
	t.State, t.Status, t.Stop = answerDone, "", m.Stop
	t.Figures = figures{
		TTFTMs: m.TTFTMs, DecodeTPS: m.DecodeTPS, Backend: string(m.Backend), DType: m.DType,
		VisionRuns: m.VisionRuns, VisionRunsTotal: m.VisionRunsTotal, Tokens: len(m.Tokens),
		LookedAhead: m.LookedAhead,
	}
	if p.stopAsked {
		// The Stop button is now disabled; keep the keyboard focus usable.
		afterUpdate(ctx, func() { focusElement("prompt") })
	}
	p.stopAsked = false
}

// workerError files an error under whatever was running.
func (p *page) workerError(_ goapp.Context, m *protocol.Error) {
	msg := sentence(m.Message)
	switch {
	case p.discarding:
		p.discarding = false
	case p.generating():
		t := &p.turns[len(p.turns)-1]
		t.State, t.Error, t.Status = answerFailed, msg, ""
		if t.Picture != "" {
			p.picSent = false // the worker never kept it
		}
		if m.Reset {
			// The worker's conversation started over: the next question
			// starts a new chat and sends the picture again.
			p.chatStarted, p.picSent = false, false
		}
		p.stopAsked = false
	case m.LoadID != 0 || p.model.Status == loading || p.model.Status == neverLoaded:
		p.model.Status, p.model.Error = loadFailed, msg
		if m.LoadID == 0 {
			p.model.Stored = storedIncomplete // no stored can be matched to it
		}
	default:
		p.pickError = msg
	}
}

// workerFailed handles a worker that cannot run at all; Try again starts a
// new one.
func (p *page) workerFailed(msg string) {
	msg = sentence(msg)
	if p.generating() {
		t := &p.turns[len(p.turns)-1]
		t.State, t.Error = answerFailed, msg
	}
	// A worker that cannot run writes nothing more: deletes are free.
	p.model = modelState{Status: loadFailed, Error: msg, Stored: storedIncomplete}
	p.workerReady = false
	p.chatStarted, p.picSent, p.discarding, p.stopAsked = false, false, false, false
}

// modelDefaults are the loaded model's own settings, nil before a load.
func (p *page) modelDefaults() *protocol.Defaults {
	if p.model.Status != loaded {
		return nil
	}
	d := p.model.Defaults
	return &d
}

// notKeptText says why the model's files were not kept: outside a secure
// context (https://, or http://localhost) browsers keep none, and otherwise
// the likely causes are a full storage or a private window.
func (p *page) notKeptText() string {
	if p.insecure {
		return "The model is not kept on this device: browsers keep files only for https:// pages (or http://localhost), so every visit downloads it again."
	}
	return "The model could not be kept on this device (its storage is full, or this is a private window), so the app needs the network at its next start."
}

// notices are the page-wide messages, most important first.
func (p *page) notices() []notice {
	var out []notice
	if p.model.Status == loaded && p.model.Backend == string(DeviceWASM) && p.settings.Device != DeviceWASM {
		text := p.model.Notice
		if text == "" {
			text = "Your browser has no usable WebGPU, so the model runs on the CPU: answers will be slower."
		}
		if p.model.DType.Decoder == "q4" && len(p.model.Unpacked) == 0 {
			text += " " + unpackHint
		}
		out = append(out, notice{ID: "notice-fallback", Kind: noticeWarn, Text: text})
	} else if p.model.Status == loaded && p.model.Notice != "" {
		out = append(out, notice{ID: "notice-worker", Kind: noticeInfo, Text: p.model.Notice})
	}
	if p.model.Status == loaded && p.model.Stored == storedIncomplete {
		out = append(out, notice{ID: "notice-storage", Kind: noticeWarn, Text: p.notKeptText()})
	}
	if p.model.Tiny || (p.tinyDefault && p.settings.Model == p.defaults.Model) {
		out = append(out, notice{ID: "notice-tiny", Kind: noticeInfo, Text: "This is the tiny test model: answers are random words."})
	}
	if p.pickError != "" {
		out = append(out, notice{ID: "notice-picture", Kind: noticeError, Text: p.pickError, Dismissible: true})
	}
	for i, w := range p.warnings {
		out = append(out, notice{ID: "notice-link-" + string(rune('a'+i)), Kind: noticeWarn, Text: w, Dismissible: true})
	}
	return out
}

func (p *page) dismissNotice(_ goapp.Context, id string) {
	switch {
	case id == "notice-picture":
		p.pickError = ""
	case strings.HasPrefix(id, "notice-link-"):
		i := int(id[len(id)-1] - 'a')
		if i >= 0 && i < len(p.warnings) {
			p.warnings = append(p.warnings[:i:i], p.warnings[i+1:]...)
		}
	}
}

// sentence makes a message read as one sentence: capital first, full stop last.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Something went wrong."
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}
