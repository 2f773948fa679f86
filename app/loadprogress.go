package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

type loadProgressProps struct {
	Model   modelState
	OnRetry func(ctx goapp.Context)
}

// loadProgress shows the model download file by file, in bytes and
// percent, and a plain-words error with a retry button if loading failed.
// It is empty once the model is ready.
type loadProgress struct {
	goapp.Compo
	Props loadProgressProps
}

func newLoadProgress(props loadProgressProps) *loadProgress { return &loadProgress{Props: props} }

func (l *loadProgress) Render() goapp.UI {
	m := l.Props.Model
	switch m.Status {
	case loaded:
		return goapp.Div().Class("load-progress is-hidden")
	case loadFailed:
		return l.renderError(m)
	}
	return goapp.Div().ID("load-progress").Class("load-progress card").Body(
		goapp.Div().Class("load-head").Body(
			goapp.Span().Class("spinner").Aria("hidden", true),
			goapp.Div().Body(
				goapp.Strong().Text("Getting the model ready"),
				goapp.P().Class("muted").Text(l.summary(m)),
			),
		),
		goapp.Ul().Class("load-files").Body(
			goapp.Range(m.Files).Slice(func(i int) goapp.UI { return l.renderFile(m.Files[i]) }),
		),
		goapp.P().Class("muted small").Text("It runs on this device: nothing you add leaves your browser. "+
			"The download is kept for the next visit."),
	)
}

func (l *loadProgress) summary(m modelState) string {
	done, total := m.totals()
	switch {
	case total > 0:
		return fmt.Sprintf("%s of %s (%d%%)", formatBytes(done), formatBytes(total), percent(done, total))
	case done > 0:
		return formatBytes(done) + " downloaded"
	case m.Text != "":
		return m.Text
	}
	return "Starting…"
}

func (l *loadProgress) renderFile(f fileProgress) goapp.UI {
	label := formatBytes(f.Loaded)
	if f.Total > 0 {
		label = fmt.Sprintf("%s of %s · %d%%", formatBytes(f.Loaded), formatBytes(f.Total), percent(f.Loaded, f.Total))
	}
	bar := goapp.Progress().Aria("label", fileLabel(f.File))
	if f.Total > 0 {
		bar = bar.Max(f.Total).Value(f.Loaded)
	}
	return goapp.Li().Class("load-file").Body(
		goapp.Div().Class("load-file-line").Body(
			goapp.Span().Class("load-file-name").Text(fileLabel(f.File)),
			goapp.Span().Class("load-file-size").Text(label),
		),
		bar,
	)
}

func (l *loadProgress) renderError(m modelState) goapp.UI {
	return goapp.Div().ID("load-progress").Class("load-progress card is-error").Role("alert").Body(
		goapp.Div().Class("load-head").Body(
			icon(iconWarn),
			goapp.Div().Body(
				goapp.Strong().Text("The model could not be loaded"),
				goapp.P().ID("model-error").Text(m.Error),
			),
		),
		goapp.Button().Class("button secondary").Type("button").
			OnClick(func(ctx goapp.Context, _ goapp.Event) { l.Props.OnRetry(ctx) }).
			Text("Try again"),
	)
}
