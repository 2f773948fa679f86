package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// preTokenizer is the flattened pre_tokenizer section: zero or more Digits
// steps followed by the ByteLevel step.
type preTokenizer struct {
	digits         []bool // one Digits step each; true = individual_digits
	hasByteLevel   bool
	addPrefixSpace bool
	useRegex       bool
}

// eachWord splits one text piece (not an added token) into the words the
// BPE model sees, as raw bytes, and calls fn on each in order. Each step
// works on every piece the previous step produced, as the reference's
// Sequence does. Callbacks rather than slices keep encoding allocation-free.
func (p *preTokenizer) eachWord(piece string, fn func(word string)) {
	p.splitFrom(0, piece, fn)
}

func (p *preTokenizer) splitFrom(step int, s string, fn func(string)) {
	if step == len(p.digits) {
		p.eachByteLevelSplit(s, fn)
		return
	}
	eachDigitSplit(s, p.digits[step], func(piece string) {
		p.splitFrom(step+1, piece, fn)
	})
}

// eachDigitSplit is the Digits pre-tokenizer: numeric characters (Unicode N,
// Rust's char::is_numeric) are cut out, each alone when individual, else as
// runs; the text between them is kept as is.
func eachDigitSplit(s string, individual bool, fn func(string)) {
	start := 0
	for i := 0; i < len(s); {
		numeric, size := numericAt(s[i:])
		if !numeric {
			i += size
			continue
		}
		end := i + size
		for !individual && end < len(s) {
			numeric, size := numericAt(s[end:])
			if !numeric {
				break
			}
			end += size
		}
		if start < i {
			fn(s[start:i])
		}
		fn(s[i:end])
		start, i = end, end
	}
	if start < len(s) {
		fn(s[start:])
	}
}

// numericAt reports whether the character starting s is numeric, and its
// size (1 for a stray byte). In ASCII only the digits are numeric.
func numericAt(s string) (bool, int) {
	if c := s[0]; c < utf8.RuneSelf {
		return c >= '0' && c <= '9', 1
	}
	r, size := utf8.DecodeRuneInString(s)
	return unicode.IsNumber(r), size
}

// eachByteLevelSplit is the ByteLevel pre-tokenizer's split: an optional
// leading space, then the GPT-2 pattern. The byte-to-alphabet mapping is left
// to the BPE model, which works on bytes directly.
func (p *preTokenizer) eachByteLevelSplit(s string, fn func(string)) {
	if s == "" {
		return
	}
	if p.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !p.useRegex {
		fn(s)
		return
	}
	for i := 0; i < len(s); {
		end := gpt2PieceEnd(s, i)
		fn(s[i:end])
		i = end
	}
}

// charClass partitions characters the way the GPT-2 pattern does.
type charClass uint8

const (
	classOther  charClass = iota // [^\s\p{L}\p{N}]
	classLetter                  // \p{L}
	classNumber                  // \p{N}
	classSpace                   // \s
)

// asciiClass is classify for the ASCII range, the common case.
var asciiClass [utf8.RuneSelf]charClass

func init() {
	for r := range rune(utf8.RuneSelf) {
		asciiClass[r] = classifySlow(r)
	}
}

func classify(r rune) charClass {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	return classifySlow(r)
}

// classifySlow uses Go's Unicode tables. Oniguruma's \s is White_Space, which
// is exactly unicode.IsSpace's set. An invalid byte decodes as U+FFFD, an
// "other" symbol, so it stays with its punctuation neighbours.
func classifySlow(r rune) charClass {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

func classAt(s string, i int) (charClass, int) {
	if s[i] < utf8.RuneSelf {
		return asciiClass[s[i]], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return classify(r), size
}

// gpt2PieceEnd returns where the match of
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// starting at s[i] ends, trying the alternatives in order as the
// backtracking engine does. Every character belongs to one alternative, so
// successive matches tile s. Go's regexp lacks the lookahead, hence by hand.
func gpt2PieceEnd(s string, i int) int {
	if s[i] == '\'' {
		if n := contractionLen(s[i+1:]); n > 0 {
			return i + 1 + n
		}
	}
	// " ?X+": take an ASCII space if a non-space follows it. When s[i] is a
	// space followed by whitespace (or nothing), both the with-space and the
	// without-space branches fail and the whitespace alternatives decide.
	j := i
	if s[j] == ' ' && j+1 < len(s) {
		j++
	}
	if c, _ := classAt(s, j); c != classSpace {
		return runEnd(s, j, c)
	}
	return whitespaceEnd(s, i)
}

// contractionLen matches s|t|re|ve|m|ll|d at the start of s (after the
// apostrophe); case-sensitive, as in the reference pattern.
func contractionLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && s[1] == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && s[1] == 'l' {
			return 2
		}
	}
	return 0
}

// runEnd consumes characters of class c from s[j].
func runEnd(s string, j int, c charClass) int {
	for j < len(s) {
		cc, size := classAt(s, j)
		if cc != c {
			break
		}
		j += size
	}
	return j
}

// whitespaceEnd is `\s+(?!\S)|\s+` at s[i], which is whitespace: the whole
// run when it ends the string; otherwise the run less its last character, so
// that character can lead the next word (" word"); a single whitespace
// character before a non-space is matched alone by the second alternative.
func whitespaceEnd(s string, i int) int {
	end, lastStart, n := i, i, 0
	for end < len(s) {
		c, size := classAt(s, end)
		if c != classSpace {
			break
		}
		lastStart = end
		end += size
		n++
	}
	if end == len(s) || n == 1 {
		return end
	}
	return lastStart
}
