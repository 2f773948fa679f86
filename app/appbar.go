package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// appBarProps is what the app bar shows.
type appBarProps struct {
	Model        modelState
	SettingsOpen bool
	OnSettings   func(goapp.Context)
}

// appBar is the top bar: the name, the model's state and the settings button.
type appBar struct {
	goapp.Compo
	Props appBarProps
}

func newAppBar(props appBarProps) *appBar { return &appBar{Props: props} }

func (b *appBar) Render() goapp.UI {
	return goapp.Header().Class("appbar").Body(
		goapp.A().Class("skip-link").Href("#prompt").OnClick(b.skipToPrompt).Text("Skip to the question"),
		goapp.Div().Class("brand").Body(
			goapp.Img().Class("brand-logo").Src("/web/icon.svg").Alt("SmolVLM logo").Aria("hidden", true).Width(32).Height(32),
			goapp.Div().Class("brand-text").Body(
				goapp.H1().Class("brand-name").Text("SmolVLM"),
				goapp.Span().Class("brand-tagline").Text("in your pocket"),
			),
		),
		newModelBadge(b.Props.Model),
		goapp.Button().
			ID("settings-toggle").
			Class("icon-button").
			Type("button").
			Title("Settings").
			Aria("label", "Settings").
			Aria("expanded", b.Props.SettingsOpen).
			Aria("controls", "settings").
			OnClick(func(ctx goapp.Context, _ goapp.Event) { b.Props.OnSettings(ctx) }).
			Body(icon(iconGear)),
	)
}

// skipToPrompt moves the keyboard focus, not just the scroll position.
func (b *appBar) skipToPrompt(_ goapp.Context, e goapp.Event) {
	e.PreventDefault()
	focusElement("prompt")
}
