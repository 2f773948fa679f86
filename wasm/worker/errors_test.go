package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/generate"
)

func TestSentenceOfContextFull(t *testing.T) {
	err := fmt.Errorf("ask: %w: 8200 tokens, the limit is 8192", generate.ErrContextFull)
	if s := sentence(err, "fallback"); !strings.Contains(s, "start a new chat") {
		t.Errorf("sentence %q, want one that says to start a new chat", s)
	}
}
