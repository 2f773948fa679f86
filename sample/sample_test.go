package sample

import (
	"math/rand/v2"
	"testing"
)

func TestGreedyFirstOfEquals(t *testing.T) {
	if got := Greedy([]float32{1, 3, 3, 2}); got != 1 {
		t.Fatalf("got %d, want 1", got)
	}
	if got := Greedy([]float32{-5, -2, -9}); got != 1 {
		t.Fatalf("got %d, want 1", got)
	}
}

func TestRepetitionPenaltyHFSemantics(t *testing.T) {
	logits := []float32{2, -2, 4, 1}
	RepetitionPenalty(logits, map[int64]bool{0: true, 1: true, 99: true}, 2)
	want := []float32{1, -4, 4, 1}
	for i := range want {
		if logits[i] != want[i] {
			t.Fatalf("got %v, want %v", logits, want)
		}
	}
}

func TestPenaltyChangesGreedyChoice(t *testing.T) {
	s := New(Options{RepetitionPenalty: 1.5})
	s.Observe(0)
	if got := s.Next([]float32{3, 2.5, 1}); got != 1 {
		t.Fatalf("got %d, want 1 (token 0 penalised to 2)", got)
	}
}

func TestSamplingSeededAndRestricted(t *testing.T) {
	logits := func() []float32 { return []float32{5, 4.9, 0, -1, 4.8} }
	a, b := New(Options{Temperature: 1, TopK: 2, Seed: 7}), New(Options{Temperature: 1, TopK: 2, Seed: 7})
	counts := map[int64]int{}
	for range 200 {
		x, y := a.Next(logits()), b.Next(logits())
		if x != y {
			t.Fatal("same seed gave different tokens")
		}
		counts[x]++
	}
	if counts[0] == 0 || counts[1] == 0 || len(counts) != 2 {
		t.Fatalf("top-k 2 should draw only ids 0 and 1, got %v", counts)
	}
	s := New(Options{Temperature: 1, TopP: 0.01, Seed: 1})
	for range 20 {
		if got := s.Next(logits()); got != 0 {
			t.Fatalf("top-p 0.01 keeps only the best token, got %d", got)
		}
	}
}

func BenchmarkGreedyVocab(b *testing.B) {
	logits := make([]float32, 49280)
	for i := range logits {
		logits[i] = rand.Float32()
	}
	for b.Loop() {
		Greedy(logits)
	}
}

func BenchmarkSampleTopPVocab(b *testing.B) {
	base := make([]float32, 49280)
	for i := range base {
		base[i] = rand.Float32() * 10
	}
	s := New(Options{Temperature: 0.7, TopK: 50, TopP: 0.9, Seed: 1})
	logits := make([]float32, len(base))
	for b.Loop() {
		copy(logits, base)
		s.Next(logits)
	}
}
