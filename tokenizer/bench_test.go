package tokenizer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// benchText is a realistic prompt: chat markers, an image placeholder, prose
// with punctuation, numbers and a little non-ASCII.
const benchText = "<|im_start|>User:<image>Describe this image in detail. " +
	"What is the person doing, and what time of day does it seem to be? " +
	"The photograph was taken on 12 March 2023 near the café at 45 Rue de Rivoli, Paris; " +
	"it shows a street market with stalls selling fruit, bread and flowers. " +
	"A woman in a red coat is paying for apples while a dog waits beside her. " +
	"In the background, the sky is overcast and the lamps are already lit, " +
	"which suggests late afternoon in winter. Count the stalls and list the items you can read " +
	"on the signs (prices like €3.50 or \"2 for €5\").<end_of_utterance>\nAssistant:"

func BenchmarkEncode(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		tok.Encode(benchText)
	}
}

// BenchmarkEncodeUncached measures the BPE merge loop itself: the word
// cache is emptied before every encode.
func BenchmarkEncodeUncached(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		tok.model.cache.mu.Lock()
		clear(tok.model.cache.m)
		tok.model.cache.mu.Unlock()
		tok.Encode(benchText)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	ids := tok.Encode(benchText)
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		tok.Decode(ids, false)
	}
}

func BenchmarkLoad(b *testing.B) {
	dir, err := fixture.ModelDir()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := LoadFile(filepath.Join(dir, "tokenizer.json")); err != nil {
			b.Fatal(err)
		}
	}
}
