package app

import (
	"math/rand/v2"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// page is the whole app: it owns the state and the model worker, and hands
// each child component the slice of state it shows plus callbacks. Worker
// messages arrive on JS callbacks and reach the state through ctx.Dispatch.
type page struct {
	goapp.Compo

	defaults     Settings
	settings     Settings
	warnings     []string // about the link's parameters
	tinyDefault  bool     // the server says its default model is the tiny test model
	phone        bool     // narrow or touch screen: the fast path by default
	touch        bool
	liveCamera   bool
	insecure     bool // no secure context: no Cache API, so no model files are kept
	splitDefault bool // the loaded model's do_image_splitting (loaded.defaults); true until then

	worker      *modelWorker
	workerReady bool
	loadID      int // the latest load's loadId; replies to older loads are dropped
	model       modelState

	pic         *picture
	picSerial   int
	picSent     bool   // the picture went to the worker in this chat
	chatStarted bool   // the worker holds this chat's conversation
	discarding  bool   // drop messages of an answer the person threw away
	stopAsked   bool   // Stop was pressed for the current answer
	pickError   string // why the last picture could not be used
	turns       []turn
	prompt      string
	cameraOpen  bool

	settingsOpen bool
	storage      storageInfo
	storageBusy  string // the model folder being deleted
	storageErr   string
	persistAsked bool
	release      []func()
	// ctx is the page's own context, for work that outlives the event that
	// started it: a context taken from an event belongs to the element that
	// fired it, and Dispatch drops updates once that element is gone.
	ctx goapp.Context
}

// Environment variables the Handler passes to the page (see Handler).
const (
	EnvModelURL  = "SMOLVLM_MODEL_URL"
	EnvTinyModel = "SMOLVLM_TINY_MODEL"
)

// defaultQuestion is asked when a person runs with a picture and no words.
const defaultQuestion = "Can you describe this image?"

func newPage() *page {
	def := DefaultSettings(goapp.Getenv(EnvModelURL))
	return &page{
		defaults:     def,
		settings:     def,
		tinyDefault:  goapp.Getenv(EnvTinyModel) == "1",
		splitDefault: true,
	}
}

// OnMount reads the link's settings, learns about the screen and starts the
// model worker.
func (p *page) OnMount(ctx goapp.Context) {
	p.ctx = ctx
	p.settings, p.warnings = ParseSettings(pageQuery(), p.defaults)
	p.phone, p.touch, p.liveCamera = phoneLike(), touchFirst(), liveCameraAvailable()
	p.insecure = !secureContext()
	p.release = append(p.release, addListener(documentValue(), "keydown", func(e goapp.Value) {
		if e.Get("key").String() == "Escape" {
			ctx.Dispatch(func(ctx goapp.Context) { p.closeOverlays(ctx) })
		}
	}))
	p.startWorker()
	p.takeShare()
}

// takeShare loads a picture shared to the app (the Web Share Target, see
// share.go) into the picture pane, and drops the link's shared parameter so
// a reload does not look for it again.
func (p *page) takeShare() {
	q := pageQuery()
	if !q.Has(paramShared) {
		return
	}
	q.Del(paramShared)
	replaceQuery(q)
	takeSharedPicture(func(pic picture, ok bool) {
		p.ctx.Dispatch(func(ctx goapp.Context) {
			if !ok {
				p.pickError = "The shared picture could not be read. Pick it here instead."
				return
			}
			p.pick(ctx, pic)
		})
	})
}

// OnDismount stops the worker and releases every JS callback.
func (p *page) OnDismount() {
	p.worker.terminate()
	p.worker = nil
	for _, r := range p.release {
		r()
	}
	p.release = nil
}

func (p *page) Render() goapp.UI {
	return goapp.Div().Class("shell").Body(
		newAppBar(appBarProps{
			Model:        p.model,
			SettingsOpen: p.settingsOpen,
			OnSettings:   p.toggleSettings,
		}),
		newNoticeList(noticeListProps{Notices: p.notices(), OnDismiss: p.dismissNotice}),
		goapp.Main().Class("workspace").ID("main").Body(
			goapp.Div().Class("side").Body(
				newPicturePane(picturePaneProps{
					Picture:    p.pic,
					Touch:      p.touch,
					LiveCamera: p.liveCamera,
					CameraOpen: p.cameraOpen,
					OnPick:     p.pick,
					OnError:    p.pictureError,
					OnRemove:   p.removePicture,
					OnCamera:   p.setCamera,
				}),
				newAboutCard(p.model, p.settings.Model),
			),
			goapp.Section().Class("chat-pane").Aria("label", "Conversation").Body(
				newLoadProgress(loadProgressProps{Model: p.model, OnRetry: p.retryLoad}),
				newConversation(conversationProps{
					Turns:      p.turns,
					HasPicture: p.pic != nil,
					OnNewChat:  p.newChat,
				}),
				newComposer(composerProps{
					Prompt:      p.prompt,
					Ready:       p.model.Status == loaded,
					Generating:  p.generating(),
					Stopping:    p.stopAsked,
					HasPicture:  p.pic != nil,
					Placeholder: p.placeholder(),
					OnInput:     p.setPrompt,
					OnRun:       p.run,
					OnStop:      p.stop,
				}),
			),
		),
		newSettingsPanel(settingsPanelProps{
			Open:         p.settingsOpen,
			Settings:     p.settings,
			Defaults:     p.defaults,
			SplitDefault: p.settings.Split.Resolve(p.phone, p.splitDefault),
			Phone:        p.phone,
			Model:        p.modelDefaults(),
			Variants:     p.model.Variants,
			Storage:      p.storage,
			StorageBusy:  p.storageBusy,
			Saving:       p.savingModel(),
			StorageErr:   p.storageErr,
			OnChange:     p.changeSettings,
			OnClose:      p.closeSettings,
			OnDelete:     p.deleteModel,
		}),
	)
}

// generating reports whether an answer is streaming.
func (p *page) generating() bool {
	n := len(p.turns)
	return n > 0 && p.turns[n-1].State == answerGenerating
}

func (p *page) placeholder() string {
	if p.pic == nil {
		return "Add a picture, then ask about it…"
	}
	if len(p.turns) > 0 {
		return "Ask a follow-up question…"
	}
	return defaultQuestion
}

func (p *page) setPrompt(_ goapp.Context, v string) { p.prompt = v }

// run sends the typed prompt (or the default question about a new picture)
// and empties the box.
func (p *page) run(ctx goapp.Context) {
	text := strings.TrimSpace(p.prompt)
	if text == "" && p.pic != nil && !p.picSent {
		text = defaultQuestion
	}
	if p.ask(ctx, text) {
		p.prompt = ""
		setValue("prompt", "")
	}
}

// ask sends one question; it reports whether it went out.
func (p *page) ask(ctx goapp.Context, text string) bool {
	if text == "" || p.model.Status != loaded || p.generating() || p.worker == nil {
		return false
	}
	req := askRequest{
		Text:    text,
		Split:   p.settings.Split.Resolve(p.phone, p.splitDefault),
		NewChat: !p.chatStarted,
		Seed:    p.seed(),
	}
	t := turn{Question: text, State: answerGenerating, Status: "Thinking…"}
	if p.pic != nil && !p.picSent {
		req.Image, t.Picture = p.pic.Blob, p.pic.Name
		p.picSent = true
	}
	p.turns = append(p.turns, t)
	p.stopAsked = false
	p.worker.post(askMessage(req, p.settings), req.Image)
	afterUpdate(ctx, func() { scrollIntoView("answer") })
	return true
}

// seed is the seed of the next answer: fixed if the person set one, fresh
// otherwise (0 is unused while greedy).
func (p *page) seed() int64 {
	s := p.settings.Sampling
	if s.Temperature == 0 || s.Seed != 0 {
		return s.Seed
	}
	return 1 + rand.Int64N(1<<31-1)
}

// stop asks the worker to end the answer; it keeps the tokens so far.
func (p *page) stop(goapp.Context) {
	if p.generating() && !p.stopAsked {
		p.stopAsked = true
		p.worker.post(protocol.Stop{}, nil)
	}
}

// pick makes pic the picture of a new chat.
func (p *page) pick(ctx goapp.Context, pic picture) {
	p.picSerial++
	pic.Serial = p.picSerial
	p.pic, p.pickError, p.cameraOpen = &pic, "", false
	p.resetChat()
	p.lookAhead()
	if !p.touch { // on phones the keyboard would hide the picture
		afterUpdate(ctx, func() { focusElement("prompt") })
	}
}

// lookAhead has the worker read the new picture and run the vision encoder
// on it now, while the person types: the question then starts at the
// prompt (wasm/PROTOCOL.md, look). The ask still carries the picture, so a
// look that failed or was for other settings costs nothing but its time.
func (p *page) lookAhead() {
	if p.pic == nil || p.picSent || p.model.Status != loaded || p.worker == nil {
		return
	}
	split := p.settings.Split.Resolve(p.phone, p.splitDefault)
	p.worker.post(&protocol.Look{Split: &split}, p.pic.Blob)
}

func (p *page) pictureError(_ goapp.Context, msg string) { p.pickError = msg }

func (p *page) removePicture(goapp.Context) {
	p.pic = nil
	p.resetChat()
}

func (p *page) setCamera(_ goapp.Context, open bool) { p.cameraOpen = open }

// newChat forgets the conversation and keeps the picture for the next question.
func (p *page) newChat(ctx goapp.Context) {
	p.resetChat()
	afterUpdate(ctx, func() { focusElement("prompt") })
}

// resetChat clears the conversation here and in the worker. An answer still
// streaming is stopped and its late messages dropped.
func (p *page) resetChat() {
	if p.generating() {
		p.worker.post(protocol.Stop{}, nil)
		p.discarding = true
	}
	if p.chatStarted {
		p.worker.post(protocol.Reset{}, nil)
	}
	p.turns, p.chatStarted, p.picSent, p.stopAsked = nil, false, false, false
}

// changeSettings applies new settings, keeps the link in step and reloads
// the model when it has to.
func (p *page) changeSettings(_ goapp.Context, s Settings) {
	var backend Device
	if p.model.Status == loaded {
		backend = Device(p.model.Backend)
	}
	reload := p.settings.ReloadsModel(s, backend)
	modelChanged := p.settings.Model != s.Model
	splitChanged := p.settings.Split.Resolve(p.phone, p.splitDefault) != s.Split.Resolve(p.phone, p.splitDefault)
	p.settings = s
	replaceQuery(s.Query(pageQuery(), p.defaults))
	if !reload {
		if splitChanged {
			p.lookAhead() // the picture waiting for its question, cut the new way
		}
		return
	}
	p.resetChat()
	p.loadModel()
	if modelChanged {
		p.splitDefault = true // until the new model's loaded says
	}
}

// retryLoad loads the model again, first restarting the worker if it broke.
func (p *page) retryLoad(goapp.Context) {
	if p.worker != nil && p.workerReady {
		p.loadModel()
		return
	}
	p.worker.terminate()
	p.worker, p.workerReady = nil, false
	p.startWorker()
}

func (p *page) toggleSettings(ctx goapp.Context) {
	if p.settingsOpen {
		p.closeSettings(ctx)
		return
	}
	p.settingsOpen = true
	p.refreshStorage()
	afterUpdate(ctx, func() { focusElement("settings-close") })
}

func (p *page) closeSettings(ctx goapp.Context) {
	p.settingsOpen = false
	afterUpdate(ctx, func() { focusElement("settings-toggle") })
}

// closeOverlays answers Escape: the settings panel, then the live camera.
func (p *page) closeOverlays(ctx goapp.Context) {
	switch {
	case p.settingsOpen:
		p.closeSettings(ctx)
	case p.cameraOpen:
		p.cameraOpen = false
	}
}
