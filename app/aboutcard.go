package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// aboutCard tells, beside the picture on large screens, where the model
// runs and that nothing leaves the device.
type aboutCard struct {
	goapp.Compo
	Model    modelState
	ModelURL string
}

func newAboutCard(m modelState, modelURL string) *aboutCard {
	return &aboutCard{Model: m, ModelURL: modelURL}
}

func (a *aboutCard) Render() goapp.UI {
	m := a.Model
	return goapp.Section().Class("about card").Aria("label", "About this app").Body(
		goapp.H2().Class("about-title").Text("Private by design"),
		goapp.P().Class("muted small").Text("The model runs in this browser tab. Your pictures and questions never leave this device."),
		goapp.Dl().Class("about-facts").Body(
			a.fact("Model", a.ModelURL),
			goapp.If(m.Status == loaded, func() goapp.UI {
				return goapp.Div().Class("about-fact-group").Body(
					a.fact("Runs on", backendLabel(m.Backend)),
					a.fact("Variant", variantLabel(m.DType)),
					goapp.If(len(m.Unpacked) > 0, func() goapp.UI {
						return a.fact("4-bit weights", "unpacked to "+m.UnpackedTo+": "+partsLabel(m.Unpacked))
					}),
				)
			}),
		),
	)
}

func (a *aboutCard) fact(term, value string) goapp.UI {
	return goapp.Div().Class("about-fact").Body(goapp.Dt().Text(term), goapp.Dd().Text(value))
}
