package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// answerFigures are the measurements shown under an answer: time to first
// token (and whether the picture was read while the person typed), decode
// speed, backend and variant.
type answerFigures struct {
	goapp.Compo
	Figures figures
	Stop    protocol.StopReason
}

func newAnswerFigures(f figures, stop protocol.StopReason) *answerFigures {
	return &answerFigures{Figures: f, Stop: stop}
}

func (a *answerFigures) Render() goapp.UI {
	f := a.Figures
	return goapp.Dl().Class("figures").Body(
		a.item("First token", formatMs(f.TTFTMs)),
		goapp.If(f.LookedAhead, func() goapp.UI { return a.item("Picture", "read while you typed") }),
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
	case protocol.StopCancelled:
		return "stopped by you"
	case protocol.StopMaxTokens:
		return "length limit reached"
	case protocol.StopContextFull:
		return "the model's context is full; start a new chat to go on"
	}
	return ""
}
