package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// withoutTokenlessBytes drops the bytes whose byte-level token is missing
// from the vocabulary; Encode drops them too (unk_token is null). In the
// SmolVLM vocabulary these are U+0004, U+0006, U+0013, U+0014, U+0016,
// U+001D and the lead bytes F1, F2 (code points U+40000–U+BFFFF), plus C0, C1
// and F5–FF, which valid UTF-8 never holds.
func withoutTokenlessBytes(tok *Tokenizer, s string) (string, bool) {
	var b strings.Builder
	dropped := false
	for i := range len(s) {
		if tok.model.byteID[s[i]] < 0 {
			dropped = true
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), dropped
}

// FuzzEncode checks that Encode never panics and that decoding gives the
// text back: exactly for valid UTF-8 made of bytes the vocabulary has, and
// in general as the input less the tokenless bytes, read lossily. (The
// added tokens here are ASCII, so the bytes they cover always have tokens.)
func FuzzEncode(f *testing.F) {
	tok, cases := fixtureTokenizer(f)
	for _, c := range cases {
		f.Add(c.Text)
	}
	f.Add("a\x04b\U00040000c")
	f.Add("\xe6\x97<image>\xa5")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		got := tok.Decode(ids, false)
		kept, dropped := withoutTokenlessBytes(tok, s)
		if utf8.ValidString(s) && !dropped && got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if want := lossyString([]byte(kept)); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		for _, id := range ids {
			if _, ok := tok.Token(id); !ok {
				t.Fatalf("Encode(%q) gave unknown id %d", s, id)
			}
		}
	})
}
