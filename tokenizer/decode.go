package tokenizer

import (
	"unicode/utf8"
)

// utf8Step says how the sequence at the start of a byte slice decodes.
type utf8Step uint8

const (
	stepValid     utf8Step = iota // a well-formed character
	stepInvalid                   // a maximal ill-formed subpart: one U+FFFD
	stepTruncated                 // a well-formed prefix cut off by the end
)

// scanUTF8 measures the sequence at the start of b (non-empty), following the
// Unicode "maximal subpart" practice that Rust's from_utf8_lossy implements:
// the bytes of a character that are consistent so far make up one
// replacement, and the first byte that breaks it starts the next sequence.
// (Go's utf8.DecodeRune instead gives up after one byte, which turns a
// truncated 3-byte character into two or three U+FFFD instead of one.)
func scanUTF8(b []byte) (int, utf8Step) {
	c := b[0]
	if c < utf8.RuneSelf {
		return 1, stepValid
	}
	size, lo, hi := leadInfo(c)
	if size == 0 {
		return 1, stepInvalid
	}
	for k := 1; k < size; k++ {
		if k == len(b) {
			return k, stepTruncated
		}
		if b[k] < lo || b[k] > hi {
			return k, stepInvalid
		}
		lo, hi = 0x80, 0xBF
	}
	return size, stepValid
}

// leadInfo gives a lead byte's sequence length and the allowed range of the
// second byte (narrower after E0, ED, F0, F4 to exclude overlong forms,
// surrogates and code points above U+10FFFF); size 0 if c cannot lead.
func leadInfo(c byte) (size int, lo, hi byte) {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2, 0x80, 0xBF
	case c == 0xE0:
		return 3, 0xA0, 0xBF
	case c == 0xED:
		return 3, 0x80, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		return 3, 0x80, 0xBF
	case c == 0xF0:
		return 4, 0x90, 0xBF
	case c >= 0xF1 && c <= 0xF3:
		return 4, 0x80, 0xBF
	case c == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// lossyString is String::from_utf8_lossy.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		n, step := scanUTF8(b)
		if step == stepValid {
			out = append(out, b[:n]...)
		} else {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
		b = b[n:]
	}
	return string(out)
}

// completeLen is how much of b can be decoded now: all of it but a trailing
// well-formed prefix of a character that later bytes may complete.
func completeLen(b []byte) int {
	done := 0
	for done < len(b) {
		n, step := scanUTF8(b[done:])
		if step == stepTruncated {
			break
		}
		done += n
	}
	return done
}

// StreamDecoder decodes ids one at a time, as a model generates them. The
// chunks it returns, followed by Flush, concatenate to exactly
// Decode(all ids, skipSpecial), and no chunk ends inside a character: bytes
// of a character split across tokens (emoji, CJK) wait for the rest.
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	pending     []byte // bytes of an incomplete trailing character
}

// NewStreamDecoder starts an empty stream over t.
func NewStreamDecoder(t *Tokenizer, skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Push adds one id and returns the text it completes, possibly "".
func (d *StreamDecoder) Push(id int64) string {
	d.pending = d.t.appendIDBytes(d.pending, id, d.skipSpecial)
	n := completeLen(d.pending)
	if n == 0 {
		return ""
	}
	out := lossyString(d.pending[:n])
	d.pending = d.pending[:copy(d.pending, d.pending[n:])]
	return out
}

// Flush returns what is still held, an unfinished character becoming
// U+FFFD as Decode would make it at the end of the text, and empties the
// stream so it can be reused.
func (d *StreamDecoder) Flush() string {
	out := lossyString(d.pending)
	d.pending = d.pending[:0]
	return out
}
