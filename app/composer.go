package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

type composerProps struct {
	Prompt      string
	Ready       bool // the model is loaded
	Generating  bool
	Stopping    bool
	HasPicture  bool
	Placeholder string
	OnInput     func(ctx goapp.Context, v string)
	OnRun       func(ctx goapp.Context)
	OnAsk       func(ctx goapp.Context, question string) // a chip's question
	OnStop      func(ctx goapp.Context)
}

// suggestion is a preset question offered as a chip.
type suggestion struct{ Label, Question string }

var suggestions = []suggestion{
	{"Describe it", "Can you describe this image?"},
	{"Read the text", "What is written here?"},
	{"Main colours", "What are the main colours in this picture?"},
	{"Count people", "How many people are in this picture?"},
}

// composer is the question box: #prompt, the suggestion chips, #run and
// #stop. Enter sends, Shift+Enter starts a new line, Stop works only while
// an answer streams. The textarea's value belongs to the person typing: the
// page reads it on input and only clears it after sending (setting it on
// every render would move the caret).
type composer struct {
	goapp.Compo
	Props composerProps
}

func newComposer(props composerProps) *composer { return &composer{Props: props} }

func (c *composer) canRun() bool {
	p := c.Props
	return p.Ready && !p.Generating && (p.Prompt != "" || p.HasPicture)
}

func (c *composer) Render() goapp.UI {
	p := c.Props
	return goapp.Form().Class("composer").OnSubmit(c.onSubmit).Body(
		goapp.Div().Class("chips").Role("group").Aria("label", "Suggested questions").Body(
			goapp.Range(suggestions).Slice(func(i int) goapp.UI { return c.renderChip(suggestions[i]) }),
		),
		goapp.Div().Class("composer-box").Body(
			goapp.Label().For("prompt").Class("visually-hidden").Text("Your question"),
			goapp.Textarea().
				ID("prompt").
				Rows(1).
				Placeholder(p.Placeholder).
				Attr("enterkeyhint", "send").
				Aria("describedby", "composer-hint").
				OnInput(c.onInput).
				OnKeyDown(c.onKeyDown),
			goapp.Button().
				ID("stop").
				Class("round-button stop").
				Type("button").
				Disabled(!p.Generating || p.Stopping).
				Title("Stop").
				Aria("label", "Stop the answer").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { p.OnStop(ctx) }).
				Body(icon(iconStop)),
			goapp.Button().
				ID("run").
				Class("round-button run").
				Type("submit").
				Disabled(!c.canRun()).
				Title("Ask").
				Aria("label", "Ask").
				Body(icon(iconSend)),
		),
		goapp.P().ID("composer-hint").Class("composer-hint").Text(c.hint()),
	)
}

func (c *composer) renderChip(s suggestion) goapp.UI {
	return goapp.Button().Class("chip").Type("button").
		Disabled(!c.Props.Ready || c.Props.Generating).
		Title(s.Question).
		OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnAsk(ctx, s.Question) }).
		Text(s.Label)
}

func (c *composer) hint() string {
	switch p := c.Props; {
	case !p.Ready:
		return "You can ask as soon as the model is ready."
	case p.Generating:
		return "Answering… Stop ends the answer and keeps what is written."
	}
	return "Enter to ask · Shift+Enter for a new line"
}

func (c *composer) onInput(ctx goapp.Context, _ goapp.Event) {
	c.Props.OnInput(ctx, ctx.JSSrc().Get("value").String())
}

// onKeyDown sends on Enter, unless Shift is held or an input method is
// still composing a character.
func (c *composer) onKeyDown(ctx goapp.Context, e goapp.Event) {
	if e.Get("key").String() != "Enter" || e.Get("shiftKey").Bool() || e.Get("isComposing").Bool() {
		return
	}
	e.PreventDefault()
	c.Props.OnRun(ctx)
}

// onSubmit leaves the checks to the page, whose prompt is never a frame
// behind the keyboard.
func (c *composer) onSubmit(ctx goapp.Context, e goapp.Event) {
	e.PreventDefault()
	c.Props.OnRun(ctx)
}
