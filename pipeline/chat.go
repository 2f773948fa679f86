package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/prompt"
)

// Chat is a conversation about pictures. Follow-up questions reuse the
// decoder's cache: only the new turn's tokens run through the model, and the
// vision encoder runs only for new pictures.
type Chat struct {
	p    *Pipeline
	conv *generate.Conversation
	msgs []prompt.Message
	// lastAnswer holds the previous answer's tokens (for the stop token check).
	lastAnswer []int64
}

// ErrChatReset marks a turn that failed after the decoder had taken part of
// it: the cache no longer matched the chat, so the chat started over and
// holds nothing now (the next turn must bring the picture again).
var ErrChatReset = errors.New("the conversation was started over")

// answerSentinel stands in for an answer while rendering the template, to
// find where the next turn's text begins. It cannot come from a user, who
// cannot type NUL bytes into the app or the command line.
const answerSentinel = "\x00answer\x00"

// NewChat starts a conversation. The pipeline's model must be loaded.
func (p *Pipeline) NewChat() (*Chat, error) {
	if p.Model == nil {
		return nil, errors.New("the model is not loaded")
	}
	return &Chat{p: p, conv: p.Model.NewConversation()}, nil
}

// Close releases the conversation's cache.
func (c *Chat) Close() { c.conv.Close() }

// startOver forgets the whole conversation.
func (c *Chat) startOver() {
	c.conv.Close()
	c.conv = c.p.Model.NewConversation()
	c.msgs, c.lastAnswer = nil, nil
}

// Turn is one question: an optional new picture and the text.
type Turn struct {
	Image *idefics3.Result // nil: no new picture
	// Features, when not nil, are Image's vision encoder outputs, computed
	// ahead by Pipeline.EncodeImage; the turn runs no vision encoder then.
	Features []float32
	Text     string
}

// Answer of one turn.
type Answer struct {
	*generate.Result
	Text     string
	InputIDs []int64 // the tokens this turn added before generating
}

// Ask adds a user turn and generates the answer. If it fails before the
// decoder has taken any of the turn, the chat is as it was; if it fails
// later, the chat starts over and the error wraps ErrChatReset.
func (c *Chat) Ask(ctx context.Context, t Turn, opts generate.Options) (*Answer, error) {
	if strings.TrimSpace(t.Text) == "" && t.Image == nil {
		return nil, errors.New("ask a question or add a picture")
	}
	user := prompt.UserTurn(t.Image != nil, t.Text)
	var grids []prompt.Grid
	var images []generate.Image
	if t.Image != nil {
		grids = []prompt.Grid{GridOf(t.Image)}
		img := ImageInput(t.Image)
		img.Features = t.Features
		images = []generate.Image{img}
	}
	ids, err := c.turnIDs(user, grids)
	if err != nil {
		return nil, err
	}
	before := len(c.conv.Tokens())
	res, err := c.conv.Generate(ctx, ids, images, opts)
	if err != nil {
		if len(c.conv.Tokens()) != before {
			c.startOver()
			return nil, fmt.Errorf("%w: %w", ErrChatReset, err)
		}
		return nil, err // nothing of the turn reached the cache
	}
	text := c.p.Tokenizer.Decode(res.Tokens, true)
	c.msgs = append(c.msgs, user, prompt.AssistantTurn(strings.TrimSpace(text)))
	c.lastAnswer = res.Tokens
	return &Answer{Result: res, Text: text, InputIDs: ids}, nil
}

// turnIDs is the token ids the new user turn adds to the conversation. The
// first turn is the whole rendered prompt. For a follow-up, the template is
// rendered with a sentinel in place of the last answer; the text after the
// sentinel (less the stop token the model already produced) is the new part.
// The answer itself is never re-tokenized: the cache holds the model's own
// tokens.
func (c *Chat) turnIDs(user prompt.Message, grids []prompt.Grid) ([]int64, error) {
	if len(c.msgs) == 0 {
		return c.p.PromptIDs([]prompt.Message{user}, grids)
	}
	msgs := append(append([]prompt.Message{}, c.msgs...), user)
	msgs[len(msgs)-2] = prompt.AssistantTurn(answerSentinel)
	text, err := c.p.Template.Render(msgs, true)
	if err != nil {
		return nil, err
	}
	_, suffix, ok := strings.Cut(text, answerSentinel)
	if !ok || strings.Contains(suffix, answerSentinel) {
		return nil, errors.New("chat template does not render the previous answer once")
	}
	if n := len(c.lastAnswer); n > 0 {
		last, _ := c.p.Tokenizer.Token(c.lastAnswer[n-1])
		if c.p.Tokenizer.IsSpecial(c.lastAnswer[n-1]) {
			suffix = strings.TrimPrefix(suffix, last)
		}
	}
	suffix, err = c.p.Expander.Expand(suffix, grids)
	if err != nil {
		return nil, fmt.Errorf("follow-up: %w", err)
	}
	return c.p.Tokenizer.Encode(suffix), nil
}
