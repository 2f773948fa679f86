package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// answerFigures are the measurements shown under an answer: time to first
// token, decode speed, backend and variant.
type answerFigures struct {
	goapp.Compo
	Figures figures
	Stop    string
}

func newAnswerFigures(f figures, stop string) *answerFigures {
	return &answerFigures{Figures: f, Stop: stop}
}

func (a *answerFigures) Render() goapp.UI {
	f := a.Figures
	return goapp.Dl().Class("figures").Body(
		a.item("First token", formatMs(f.TTFTMs)),
		goapp.If(f.DecodeTPS > 0, func() goapp.UI { return a.item("Speed", formatRate(f.DecodeTPS)) }),
		a.item("Ran on", backendLabel(f.Backend)),
		goapp.If(variantLabel(f.DType) != "", func() goapp.UI { return a.item("Variant", variantLabel(f.DType)) }),
		a.item("Tokens", fmt.Sprint(f.Tokens)),
		goapp.If(a.stopText() != "", func() goapp.UI { return a.item("Ended", a.stopText()) }),
	)
}

func (a *answerFigures) item(term, value string) goapp.UI {
	return goapp.Div().Class("figure").Body(goapp.Dt().Text(term), goapp.Dd().Text(value))
}

func (a *answerFigures) stopText() string {
	switch a.Stop {
	case stopCancelled:
		return "stopped by you"
	case stopMaxTokens:
		return "length limit reached"
	case stopContextFull:
		return "the model's context is full; start a new chat to go on"
	}
	return ""
}
