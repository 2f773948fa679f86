// Package sample picks the next token from a row of logits: greedy argmax,
// Hugging Face's repetition penalty, and temperature / top-k / top-p sampling
// with a seeded generator. Each step is a small pure function.
package sample

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Options configures a Sampler. The zero value is greedy decoding.
type Options struct {
	// RepetitionPenalty divides positive logits (multiplies negative ones) of
	// every token id already in the sequence, prompt included; 1 or 0 is off.
	RepetitionPenalty float64
	// Temperature 0 means greedy; otherwise logits are divided by it and a
	// token is drawn from the softmax restricted by TopK and TopP.
	Temperature float64
	TopK        int     // 0 keeps all tokens
	TopP        float64 // 0 or 1 keeps all tokens
	Seed        uint64
}

// Sampler chooses tokens. It is not safe for concurrent use.
type Sampler struct {
	opts Options
	rng  *rand.Rand
	seen map[int64]bool
	// scratch for sampling, reused between steps
	cands []candidate
}

// New returns a Sampler for opts.
func New(opts Options) *Sampler {
	return &Sampler{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		seen: map[int64]bool{},
	}
}

// Observe records ids as part of the sequence (for the repetition penalty).
func (s *Sampler) Observe(ids ...int64) {
	for _, id := range ids {
		s.seen[id] = true
	}
}

// Next picks the next token from logits (modified in place) and observes it.
func (s *Sampler) Next(logits []float32) int64 {
	if p := s.opts.RepetitionPenalty; p != 0 && p != 1 {
		RepetitionPenalty(logits, s.seen, float32(p))
	}
	var id int64
	if s.opts.Temperature <= 0 {
		id = int64(Greedy(logits))
	} else {
		id = int64(s.draw(logits))
	}
	s.Observe(id)
	return id
}

// Greedy returns the index of the largest logit, the first one among equals
// (as torch.argmax does).
func Greedy(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// RepetitionPenalty applies transformers' RepetitionPenaltyLogitsProcessor:
// the logit of each seen id is divided by penalty if positive, multiplied if
// negative.
func RepetitionPenalty(logits []float32, seen map[int64]bool, penalty float32) {
	for id := range seen {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		if v := logits[id]; v > 0 {
			logits[id] = v / penalty
		} else {
			logits[id] = v * penalty
		}
	}
}

type candidate struct {
	id    int
	logit float32
	prob  float64
}

// draw samples with temperature, then top-k, then top-p, the order of
// transformers' default logits warpers.
func (s *Sampler) draw(logits []float32) int {
	c := TopK(s.cands[:0], logits, s.opts.TopK)
	for i := range c {
		c[i].logit /= float32(s.opts.Temperature)
	}
	softmax(c)
	c = TopP(c, s.opts.TopP)
	s.cands = c
	var total float64
	for _, x := range c {
		total += x.prob
	}
	r := s.rng.Float64() * total
	for _, x := range c {
		r -= x.prob
		if r < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// TopK appends the k highest logits to c in decreasing order, ties in index
// order (all logits when k <= 0). Dividing by a positive temperature later
// keeps this order.
func TopK(c []candidate, logits []float32, k int) []candidate {
	if k <= 0 || k >= len(logits) {
		for i, v := range logits {
			c = append(c, candidate{id: i, logit: v})
		}
		sort.SliceStable(c, func(i, j int) bool { return c[i].logit > c[j].logit })
		return c
	}
	// Insertion into a short sorted list: O(n) for the usual small k, since
	// most logits fall below the current k-th best and are rejected at once.
	for i, v := range logits {
		if len(c) == k && v <= c[k-1].logit {
			continue
		}
		pos := sort.Search(len(c), func(j int) bool { return c[j].logit < v })
		if len(c) < k {
			c = append(c, candidate{})
		}
		copy(c[pos+1:], c[pos:len(c)-1])
		c[pos] = candidate{id: i, logit: v}
	}
	return c
}

// softmax fills prob from logit; c is sorted so c[0] holds the maximum.
func softmax(c []candidate) {
	var sum float64
	for i := range c {
		c[i].prob = math.Exp(float64(c[i].logit - c[0].logit))
		sum += c[i].prob
	}
	for i := range c {
		c[i].prob /= sum
	}
}

// TopP keeps the smallest prefix of the sorted candidates whose probability
// reaches p (at least one).
func TopP(c []candidate, p float64) []candidate {
	if p <= 0 || p >= 1 {
		return c
	}
	var cum float64
	for i, x := range c {
		cum += x.prob
		if cum >= p {
			return c[:i+1]
		}
	}
	return c
}
