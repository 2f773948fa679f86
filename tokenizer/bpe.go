package tokenizer

import (
	"fmt"
	"strings"
	"sync"
)

// bpe is the BPE model over the byte-level alphabet.
type bpe struct {
	vocab        map[string]int32 // alphabet-form token → id
	idToTok      map[int32]string
	byteID       [256]int32       // id of each single-byte token; -1 if absent
	merges       map[uint64]merge // pairKey(left, right) → merge
	unkID        int32            // -1: no unk_token, unknown bytes are dropped
	fuseUnk      bool
	ignoreMerges bool // ignore_merges: a word found whole in vocab is one token
	cache        wordCache
}

// merge is one line of the merges list: its rank (position, lower merges
// first) and the id of the token it makes.
type merge struct {
	rank int32
	id   int32
}

func pairKey(left, right int32) uint64 {
	return uint64(uint32(left))<<32 | uint64(uint32(right))
}

// newBPE builds the id maps and the merge table. As in the reference, every
// merge's two parts and their concatenation must be in the vocabulary, and a
// pair listed twice keeps its last rank.
func newBPE(vocab map[string]int64, pairs [][2]string, ignoreMerges, fuseUnk bool) (*bpe, error) {
	b := &bpe{
		vocab:        make(map[string]int32, len(vocab)),
		idToTok:      make(map[int32]string, len(vocab)),
		merges:       make(map[uint64]merge, len(pairs)),
		unkID:        -1,
		fuseUnk:      fuseUnk,
		ignoreMerges: ignoreMerges,
		cache:        wordCache{m: map[string][]int64{}},
	}
	for tok, id := range vocab {
		if other, dup := b.idToTok[int32(id)]; dup {
			return nil, fmt.Errorf("vocab gives id %d to both %q and %q: %w", id, other, tok, ErrInvalid)
		}
		b.vocab[tok] = int32(id)
		b.idToTok[int32(id)] = tok
	}
	for i, r := range byteToRune {
		id, ok := b.vocab[string(r)]
		if !ok {
			id = -1
		}
		b.byteID[i] = id
	}
	for rank, p := range pairs {
		left, okL := b.vocab[p[0]]
		right, okR := b.vocab[p[1]]
		if !okL || !okR {
			return nil, fmt.Errorf("merge %d (%q %q) names a token missing from the vocab: %w", rank, p[0], p[1], ErrInvalid)
		}
		id, ok := b.vocab[p[0]+p[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d (%q %q) makes %q, missing from the vocab: %w", rank, p[0], p[1], p[0]+p[1], ErrInvalid)
		}
		b.merges[pairKey(left, right)] = merge{rank: int32(rank), id: id}
	}
	return b, nil
}

func (b *bpe) setUnk(tok string) error {
	id, ok := b.vocab[tok]
	if !ok {
		return fmt.Errorf("BPE unk_token %q is not in the vocab: %w", tok, ErrInvalid)
	}
	b.unkID = id
	return nil
}

// appendIDs tokenizes one pre-tokenized word, given as raw bytes, and appends
// its ids.
func (b *bpe) appendIDs(dst []int64, word string) []int64 {
	if ids, ok := b.cache.get(word); ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = b.tokenize(dst, word)
	b.cache.put(word, dst[start:])
	return dst
}

func (b *bpe) tokenize(dst []int64, word string) []int64 {
	if b.ignoreMerges {
		if id, ok := b.vocab[byteLevelString(word)]; ok {
			return append(dst, int64(id))
		}
	}
	w := wordPool.Get().(*symbolWord)
	defer wordPool.Put(w)
	b.initialSymbols(w, word)
	w.mergeAll(b.merges)
	for _, s := range w.syms {
		if s.len > 0 {
			dst = append(dst, int64(s.id))
		}
	}
	return dst
}

// wordPool recycles the merge loop's buffers between words.
var wordPool = sync.Pool{New: func() any { return new(symbolWord) }}

// initialSymbols is the reference's merge_word before merging: one symbol per
// character (here per byte, the alphabet being one rune per byte). A byte
// whose token is missing becomes unk_token, consecutive ones fused into one
// if fuse_unk, or is dropped when there is no unk_token.
func (b *bpe) initialSymbols(w *symbolWord, word string) {
	w.syms = w.syms[:0]
	for i := range len(word) {
		id := b.byteID[word[i]]
		if id >= 0 {
			w.add(id, false)
			continue
		}
		if b.unkID < 0 {
			continue
		}
		if last := len(w.syms) - 1; b.fuseUnk && last >= 0 && w.syms[last].unk {
			w.syms[last].len++
			continue
		}
		w.add(b.unkID, true)
	}
}

// symbol is one node of the doubly linked list the merge loop edits in place.
type symbol struct {
	id         int32
	prev, next int32 // indices into syms; -1 at the ends
	len        int32 // bytes covered; 0 marks a symbol merged away
	unk        bool
}

type symbolWord struct {
	syms  []symbol
	queue candidateHeap
}

func (w *symbolWord) add(id int32, unk bool) {
	n := int32(len(w.syms))
	prev := n - 1
	if prev >= 0 {
		w.syms[prev].next = n
	}
	w.syms = append(w.syms, symbol{id: id, prev: prev, next: -1, len: 1, unk: unk})
}

// candidate is a queued merge of the symbol at pos with its right neighbour.
type candidate struct {
	rank, pos, id int32
}

func (c candidate) less(o candidate) bool {
	if c.rank != o.rank {
		return c.rank < o.rank
	}
	return c.pos < o.pos
}

// mergeAll is the reference's Word::merge_all without dropout: repeatedly
// apply the lowest-ranked merge (leftmost among equals) until none applies.
// Queue entries go stale when a neighbour changes; they are recognised by
// the pair no longer producing the queued token, exactly as the reference
// checks, so ties resolve identically.
func (w *symbolWord) mergeAll(merges map[uint64]merge) {
	q := w.queue[:0]
	defer func() { w.queue = q[:0] }()
	for i := 0; i+1 < len(w.syms); i++ {
		if m, ok := merges[pairKey(w.syms[i].id, w.syms[i+1].id)]; ok {
			q = append(q, candidate{rank: m.rank, pos: int32(i), id: m.id})
		}
	}
	q.init()
	for len(q) > 0 {
		top := q.pop()
		cur := &w.syms[top.pos]
		if cur.len == 0 || cur.next < 0 {
			continue
		}
		right := w.syms[cur.next]
		if m, ok := merges[pairKey(cur.id, right.id)]; !ok || m.id != top.id {
			continue
		}
		w.syms[cur.next].len = 0
		cur.id, cur.len, cur.next, cur.unk = top.id, cur.len+right.len, right.next, false
		if right.next >= 0 {
			w.syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if m, ok := merges[pairKey(w.syms[cur.prev].id, cur.id)]; ok {
				q.push(candidate{rank: m.rank, pos: cur.prev, id: m.id})
			}
		}
		if cur.next >= 0 {
			if m, ok := merges[pairKey(cur.id, w.syms[cur.next].id)]; ok {
				q.push(candidate{rank: m.rank, pos: top.pos, id: m.id})
			}
		}
	}
}

// candidateHeap is a binary min-heap by (rank, pos). Hand-rolled rather than
// container/heap to avoid boxing every entry in an interface.
type candidateHeap []candidate

func (h candidateHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candidateHeap) push(c candidate) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s[i].less(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *candidateHeap) pop() candidate {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h candidateHeap) down(i int) {
	for {
		smallest := i
		if l := 2*i + 1; l < len(h) && h[l].less(h[smallest]) {
			smallest = l
		}
		if r := 2*i + 2; r < len(h) && h[r].less(h[smallest]) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}

// wordCache remembers the ids of recent words. It is bounded: when full it is
// emptied rather than evicting one by one, which keeps it simple and lets it
// follow the text currently being encoded. Long words are not cached, as in
// the reference, since they rarely repeat.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int64
}

const (
	cacheCapacity   = 10000
	cacheMaxWordLen = 256
)

func (c *wordCache) get(word string) ([]int64, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int64) {
	if len(word) >= cacheMaxWordLen {
		return
	}
	// Copies, so that the cache holds neither the caller's text nor its ids.
	word = strings.Clone(word)
	kept := append([]int64(nil), ids...)
	c.mu.Lock()
	if len(c.m) >= cacheCapacity {
		clear(c.m)
	}
	c.m[word] = kept
	c.mu.Unlock()
}
