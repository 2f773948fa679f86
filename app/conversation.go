package app

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

type conversationProps struct {
	Turns      []turn
	HasPicture bool
	OnNewChat  func(ctx goapp.Context)
}

// conversation lists the questions and answers of the chat. The latest
// answer is #answer; its data attributes carry the state and, once done,
// the token ids and figures (tests read them; people read the figures).
type conversation struct {
	goapp.Compo
	Props conversationProps
}

func newConversation(props conversationProps) *conversation { return &conversation{Props: props} }

func (c *conversation) Render() goapp.UI {
	turns := c.Props.Turns
	if len(turns) == 0 {
		return c.renderEmpty()
	}
	return goapp.Div().Class("conversation").Body(
		goapp.Div().Class("conversation-head").Body(
			goapp.H2().Class("conversation-title").Text("Conversation"),
			goapp.Button().ID("new-chat").Class("button ghost small").Type("button").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnNewChat(ctx) }).
				Body(icon(iconPlus), goapp.Span().Text("New chat")),
		),
		goapp.Ol().Class("turns").Body(
			goapp.Range(turns).Slice(func(i int) goapp.UI { return c.renderTurn(i, turns[i], i == len(turns)-1) }),
		),
	)
}

func (c *conversation) renderEmpty() goapp.UI {
	first := "Add a picture"
	if c.Props.HasPicture {
		first = "Picture added ✓"
	}
	return goapp.Div().Class("conversation is-empty").Body(
		goapp.Div().Class("empty-art").Body(icon(iconSpark)),
		goapp.H2().Class("empty-title").Text("Ask anything about a picture"),
		goapp.Ol().Class("steps").Body(
			goapp.Li().Text(first),
			goapp.Li().Text("Ask a question, or tap a suggestion"),
			goapp.Li().Text("Watch the answer appear, computed on your device"),
		),
	)
}

func (c *conversation) renderTurn(i int, t turn, last bool) goapp.UI {
	return goapp.Li().Class("turn").Body(
		goapp.Div().Class("bubble question").Body(
			goapp.If(t.Picture != "", func() goapp.UI {
				return goapp.Span().Class("question-picture").Body(icon(iconPicture), goapp.Span().Text(t.Picture))
			}),
			goapp.P().Text(t.Question),
		),
		c.renderAnswer(i, t, last),
		goapp.If(t.State == answerDone, func() goapp.UI { return newAnswerFigures(t.Figures, t.Stop) }),
	)
}

// renderAnswer is one answer bubble; the latest one is #answer.
func (c *conversation) renderAnswer(i int, t turn, last bool) goapp.UI {
	div := goapp.Div().
		Class("bubble answer", "is-"+t.State.String()).
		DataSet("state", t.State.String()).
		DataSet("turn", i).
		Aria("live", "polite").
		Aria("busy", t.State == answerGenerating)
	if last {
		div = div.ID("answer")
	}
	if t.State == answerDone {
		div = div.DataSets(doneData(t))
	}
	return div.Body(c.answerBody(t))
}

func (c *conversation) answerBody(t turn) goapp.UI {
	switch {
	case t.State == answerFailed:
		return goapp.P().Class("answer-error").Role("alert").Text(t.Error)
	case t.State == answerGenerating && t.Answer == "":
		return goapp.P().Class("answer-status").Body(
			goapp.Span().Class("typing").Aria("hidden", true).Body(goapp.Span(), goapp.Span(), goapp.Span()),
			goapp.Span().Text(t.Status),
		)
	}
	return goapp.P().Class("answer-text").Body(
		goapp.Text(strings.TrimLeft(t.Answer, " \n")), // answers start with the space of their first word
		goapp.If(t.State == answerGenerating, func() goapp.UI {
			return goapp.Span().Class("cursor").Aria("hidden", true)
		}),
	)
}

// doneData are the data attributes of a finished answer.
func doneData(t turn) map[string]any {
	ids, err := json.Marshal(t.Tokens)
	if err != nil {
		ids = []byte("[]")
	}
	f := t.Figures
	return map[string]any{
		"token-ids":         string(ids),
		"ttft-ms":           strconv.FormatFloat(f.TTFTMs, 'f', 1, 64),
		"decode-tps":        strconv.FormatFloat(f.DecodeTPS, 'f', 2, 64),
		"vision-runs":       strconv.Itoa(f.VisionRuns),
		"vision-runs-total": strconv.Itoa(f.VisionRunsTotal),
		"looked-ahead":      strconv.FormatBool(f.LookedAhead),
		"stop":              t.Stop,
		"backend":           f.Backend,
		"dtype":             fmt.Sprint(variantLabel(f.DType)),
	}
}
