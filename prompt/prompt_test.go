package prompt

import (
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

func fixtureTemplate(t *testing.T) *Template {
	t.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modelconfig.Load(modelconfig.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := CompileTemplate(cfg.ChatTemplate)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestRenderMatchesReferenceChatText(t *testing.T) {
	tmpl := fixtureTemplate(t)
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got, err := tmpl.Render([]Message{UserTurn(true, c.Prompt)}, true)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.ChatText {
			t.Errorf("%s:\n got %q\nwant %q", c.ID, got, c.ChatText)
		}
	}
}

func TestRenderTextOnlyAndFollowUp(t *testing.T) {
	tmpl := fixtureTemplate(t)
	got, err := tmpl.Render([]Message{UserTurn(false, "Hi")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>User: Hi<end_of_utterance>\nAssistant:"; got != want {
		t.Errorf("text-only: got %q want %q", got, want)
	}
	got, err = tmpl.Render([]Message{
		UserTurn(true, "What is this?"),
		AssistantTurn("A cat."),
		UserTurn(false, "What colour?"),
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>User:<image>What is this?<end_of_utterance>\nAssistant: A cat.<end_of_utterance>\nUser: What colour?<end_of_utterance>\nAssistant:"
	if got != want {
		t.Errorf("follow-up:\n got %q\nwant %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	e := Expander{ImageToken: "<image>", ImageSeqLen: 2}
	got, err := e.Expand("A<image>B", []Grid{{Rows: 1, Cols: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := "A<fake_token_around_image><row_1_col_1><image><image><fake_token_around_image><row_1_col_2><image><image>\n" +
		"\n<fake_token_around_image><global-img><image><image><fake_token_around_image>B"
	if got != want {
		t.Errorf("split:\n got %q\nwant %q", got, want)
	}
	got, _ = e.Expand("<image>x", []Grid{{}})
	if want := "<fake_token_around_image><global-img><image><image><fake_token_around_image>x"; got != want {
		t.Errorf("single: got %q want %q", got, want)
	}
	if _, err := e.Expand("no image", []Grid{{}}); err == nil || !strings.Contains(err.Error(), "0 image placeholders") {
		t.Errorf("mismatch: err = %v", err)
	}
}
