package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// modelBadge is #model-status: a short line on the model's state whose
// data-state (loading, ready, error) tests and assistive tech can follow.
type modelBadge struct {
	goapp.Compo
	Model modelState
}

func newModelBadge(m modelState) *modelBadge { return &modelBadge{Model: m} }

func (b *modelBadge) Render() goapp.UI {
	m := b.Model
	return goapp.Div().
		ID("model-status").
		Class("model-badge", "is-"+m.Status.dataState()).
		DataSet("state", m.Status.dataState()).
		DataSet("backend", m.Backend).
		DataSet("stored", string(m.Stored)).
		Title(b.storedTitle()).
		Role("status").
		Body(
			goapp.Span().Class("dot").Aria("hidden", true),
			goapp.Span().Class("model-badge-text").Text(b.text()),
		)
}

// storedTitle says, once the model is ready, whether its files are kept on
// the device yet (protocol.Stored).
func (b *modelBadge) storedTitle() string {
	if b.Model.Status != loaded {
		return ""
	}
	switch b.Model.Stored {
	case storedComplete:
		return "The model's files are kept on this device: the app also works offline."
	case storedIncomplete:
		return "The model's files could not all be kept on this device: the next start needs the network."
	}
	return "The model is ready; its files are being kept on this device for offline use."
}

func (b *modelBadge) text() string {
	m := b.Model
	switch m.Status {
	case loaded:
		return fmt.Sprintf("Ready · %s", shortBackend(m.Backend))
	case loadFailed:
		return "Model error"
	case loading:
		if l, t := m.totals(); t > 0 {
			return fmt.Sprintf("Loading %d%%", percent(l, t))
		}
		return "Loading…"
	}
	return "Starting…"
}

// shortBackend names a backend in a few letters, for the badge.
func shortBackend(b string) string {
	if b == "wasm" {
		return "CPU"
	}
	return backendLabel(b)
}
