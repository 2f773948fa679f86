package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of added_tokens: a string matched verbatim in the
// input before pre-tokenization and given its own id.
type addedToken struct {
	id         int64
	content    string
	singleWord bool // only match when not inside a word
	lstrip     bool // swallow whitespace on the left
	rstrip     bool // swallow whitespace on the right
	normalized bool // matched against normalized text (second pass)
	special    bool // dropped by Decode when skipping special tokens
}

// addedVocab is the reference's AddedVocabulary.
type addedVocab struct {
	byID      map[int64]*addedToken
	byContent map[string]*addedToken
	// The reference matches tokens with normalized=false on the raw text
	// first, then normalized ones on what is left after normalizing it.
	raw, norm matcher
}

func newAddedVocab(list []addedTokenJSON) (*addedVocab, error) {
	v := &addedVocab{
		byID:      map[int64]*addedToken{},
		byContent: map[string]*addedToken{},
		raw:       newMatcher(),
		norm:      newMatcher(),
	}
	for _, j := range list {
		// The reference ignores empty added tokens.
		if j.Content == "" {
			continue
		}
		if j.ID < 0 || j.ID > 1<<31-1 {
			return nil, fmt.Errorf("added token %q has id %d out of range: %w", j.Content, j.ID, ErrInvalid)
		}
		if _, dup := v.byID[j.ID]; dup {
			return nil, fmt.Errorf("added token id %d is used twice: %w", j.ID, ErrInvalid)
		}
		if _, dup := v.byContent[j.Content]; dup {
			return nil, fmt.Errorf("added token %q is listed twice: %w", j.Content, ErrInvalid)
		}
		tok := &addedToken{
			id: j.ID, content: j.Content, singleWord: j.SingleWord,
			lstrip: j.LStrip, rstrip: j.RStrip, normalized: j.Normalized, special: j.Special,
		}
		v.byID[tok.id] = tok
		v.byContent[tok.content] = tok
		if tok.normalized {
			v.norm.add(tok)
		} else {
			v.raw.add(tok)
		}
	}
	return v, nil
}

// segment is a piece of the input: an added token, or text for the model.
type segment struct {
	text  string
	token *addedToken // nil for text
}

// split cuts text into added tokens and the text between them. There is no
// normalizer, so the normalized pass runs on the raw leftovers.
func (v *addedVocab) split(text string) []segment {
	first := v.raw.appendSplits(nil, text)
	if v.norm.empty() {
		return first
	}
	var out []segment
	for _, s := range first {
		if s.token != nil {
			out = append(out, s)
			continue
		}
		out = v.norm.appendSplits(out, s.text)
	}
	return out
}

// matcher finds added tokens leftmost-longest, as the reference's
// Aho-Corasick automaton (MatchKind::LeftmostLongest) does, with a byte trie.
type matcher struct {
	nodes []trieNode
	first [256]bool // bytes that start some token: a quick reject
}

type trieNode struct {
	next  map[byte]int32
	token *addedToken // token ending here, if any
}

func newMatcher() matcher {
	return matcher{nodes: []trieNode{{}}}
}

func (m *matcher) empty() bool { return len(m.nodes) == 1 }

func (m *matcher) add(tok *addedToken) {
	n := int32(0)
	for i := range len(tok.content) {
		c := tok.content[i]
		child, ok := m.nodes[n].next[c]
		if !ok {
			child = int32(len(m.nodes))
			m.nodes = append(m.nodes, trieNode{})
			if m.nodes[n].next == nil {
				m.nodes[n].next = map[byte]int32{}
			}
			m.nodes[n].next[c] = child
		}
		n = child
	}
	m.nodes[n].token = tok
	m.first[tok.content[0]] = true
}

// find returns the leftmost match at or after from, the longest one there.
func (m *matcher) find(s string, from int) (start, end int, tok *addedToken) {
	for i := from; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		n := int32(0)
		for j := i; j < len(s); j++ {
			child, ok := m.nodes[n].next[s[j]]
			if !ok {
				break
			}
			n = child
			if t := m.nodes[n].token; t != nil {
				end, tok = j+1, t
			}
		}
		if tok != nil {
			return i, end, tok
		}
	}
	return len(s), len(s), nil
}

// appendSplits is the reference's find_matches: every match becomes a token
// segment, widened over surrounding whitespace for lstrip/rstrip and skipped
// when single_word and touching a word character; the text between matches
// becomes text segments. Searching resumes after each raw match, as the
// reference's match iterator does, even when the match was skipped.
func (m *matcher) appendSplits(dst []segment, s string) []segment {
	if m.empty() {
		return appendText(dst, s)
	}
	done := 0 // s[:done] is already in dst
	for from := 0; from < len(s); {
		start, end, tok := m.find(s, from)
		if tok == nil {
			break
		}
		from = end
		if tok.singleWord && !standsAlone(s, start, end) {
			continue
		}
		if tok.lstrip {
			start = max(trailingSpaceStart(s[:start]), done)
		}
		stop := end
		if tok.rstrip {
			stop += leadingSpaceLen(s[end:])
		}
		// Only a token starting with whitespace could reach back into the
		// previous match's stripped space; never emit text twice.
		start = max(start, done)
		if start >= stop {
			continue
		}
		dst = appendText(dst, s[done:start])
		dst = append(dst, segment{text: s[start:stop], token: tok})
		done = stop
	}
	return appendText(dst, s[done:])
}

func appendText(dst []segment, s string) []segment {
	if s == "" {
		return dst
	}
	return append(dst, segment{text: s})
}

// standsAlone reports whether s[start:end] has no word character right
// before or after it (the reference's \w with Unicode semantics).
func standsAlone(s string, start, end int) bool {
	if r, _ := utf8.DecodeLastRuneInString(s[:start]); start > 0 && isWordChar(r) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(s[end:]); end < len(s) && isWordChar(r) {
		return false
	}
	return true
}

// isWordChar is Rust regex's Unicode \w:
// [\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}].
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Nl, unicode.Other_Alphabetic,
		unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
}

// trailingSpaceStart is where the whitespace run ending s begins (\s*$).
func trailingSpaceStart(s string) int {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return len(s)
}

// leadingSpaceLen is the length of the whitespace run starting s (^\s*).
func leadingSpaceLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsSpace(r) {
			break
		}
		n += size
	}
	return n
}
