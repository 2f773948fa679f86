// Package prompt turns a conversation into the text SmolVLM reads: it renders
// the model's Jinja chat template and expands each <image> placeholder into
// the tile markers and image tokens, exactly as transformers'
// Idefics3Processor does.
package prompt

import (
	"fmt"

	"github.com/ardanlabs/jinja"
)

// Roles of a conversation.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Content is one item of a message: text, or the placeholder of an image.
type Content struct {
	Text  string
	Image bool
}

// Message is one turn of a conversation.
type Message struct {
	Role    string
	Content []Content
}

// UserTurn is a user message made of an optional image followed by text, the
// shape the app sends.
func UserTurn(withImage bool, text string) Message {
	m := Message{Role: RoleUser}
	if withImage {
		m.Content = append(m.Content, Content{Image: true})
	}
	if text != "" {
		m.Content = append(m.Content, Content{Text: text})
	}
	return m
}

// AssistantTurn is an earlier answer of the model.
func AssistantTurn(text string) Message {
	return Message{Role: RoleAssistant, Content: []Content{{Text: text}}}
}

// Template is a compiled chat template.
type Template struct {
	tmpl *jinja.Template
}

// CompileTemplate compiles the chat_template of a model folder.
func CompileTemplate(source string) (*Template, error) {
	t, err := jinja.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{tmpl: t}, nil
}

// Render renders msgs the way transformers' apply_chat_template does, with
// content as a list of {"type": "text"|"image"} items.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		content := make([]any, len(m.Content))
		for j, c := range m.Content {
			if c.Image {
				content[j] = map[string]any{"type": "image"}
			} else {
				content[j] = map[string]any{"type": "text", "text": c.Text}
			}
		}
		list[i] = map[string]any{"role": m.Role, "content": content}
	}
	out, err := t.tmpl.Render(map[string]any{
		"messages":              list,
		"add_generation_prompt": addGenerationPrompt,
	})
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}
