package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// byteIDs returns the single-byte token ids spelling s, so a test can split a
// character across tokens at will.
func byteIDs(t *testing.T, tok *Tokenizer, s string) []int64 {
	t.Helper()
	var ids []int64
	for i := range len(s) {
		id, ok := tok.TokenID(string(byteToRune[s[i]]))
		if !ok {
			t.Fatalf("no token for byte %#x", s[i])
		}
		ids = append(ids, id)
	}
	return ids
}

func pushAll(d *StreamDecoder, ids []int64) []string {
	var chunks []string
	for _, id := range ids {
		chunks = append(chunks, d.Push(id))
	}
	return chunks
}

func TestStreamSplitsOnlyWholeCharacters(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	image, _ := tok.TokenID("<image>")
	tests := []struct {
		name   string
		ids    []int64
		skip   bool
		chunks []string
		flush  string
	}{
		{"emoji", byteIDs(t, tok, "😀!"), false, []string{"", "", "", "😀", "!"}, ""},
		{"CJK", byteIDs(t, tok, "日本"), false, []string{"", "", "日", "", "", "本"}, ""},
		{"special between", append(append(byteIDs(t, tok, "é"), image), byteIDs(t, tok, "x")...), false,
			[]string{"", "é", "<image>", "x"}, ""},
		{"special skipped", append(append(byteIDs(t, tok, "\xe6\x97"), image), byteIDs(t, tok, "\xa5")...), true,
			[]string{"", "", "", "日"}, ""},
		// A special token inside a character breaks it, exactly as Decode
		// sees the concatenated bytes.
		{"special inside character", append(append(byteIDs(t, tok, "\xe6\x97"), image), byteIDs(t, tok, "\xa5")...), false,
			[]string{"", "", "\uFFFD<image>", "\uFFFD"}, ""},
		{"lone continuation emitted at once", byteIDs(t, tok, "\x80a"), false, []string{"\uFFFD", "a"}, ""},
		{"broken lead resolved by next byte", byteIDs(t, tok, "\xe6a"), false, []string{"", "\uFFFDa"}, ""},
		{"unfinished at end", byteIDs(t, tok, "a\xf0\x9f\x98"), false, []string{"a", "", "", ""}, "\uFFFD"},
	}
	for _, tc := range tests {
		d := NewStreamDecoder(tok, tc.skip)
		chunks := pushAll(d, tc.ids)
		flush := d.Flush()
		if !slices.Equal(chunks, tc.chunks) || flush != tc.flush {
			t.Errorf("%s: chunks %q + flush %q, want %q + %q", tc.name, chunks, flush, tc.chunks, tc.flush)
		}
		if got, want := strings.Join(chunks, "")+flush, tok.Decode(tc.ids, tc.skip); got != want {
			t.Errorf("%s: stream %q != Decode %q", tc.name, got, want)
		}
		// Flush empties the stream, so it can be reused.
		if got := d.Push(tc.ids[0]) + d.Flush(); got != tok.Decode(tc.ids[:1], tc.skip) {
			t.Errorf("%s: reuse after Flush gave %q", tc.name, got)
		}
	}
}

// TestStreamMatchesDecode streams every reference case, both ways, token by
// token: the chunks must add up to Decode and each must be whole UTF-8 that
// Decode also produces (no U+FFFD from a character cut in two).
func TestStreamMatchesDecode(t *testing.T) {
	tok, cases := fixtureTokenizer(t)
	for _, c := range cases {
		for _, skip := range []bool{false, true} {
			d := NewStreamDecoder(tok, skip)
			chunks := pushAll(d, c.IDs)
			got := strings.Join(chunks, "") + d.Flush()
			if want := tok.Decode(c.IDs, skip); got != want {
				t.Errorf("%q skip=%v: stream %q != Decode %q", c.Text, skip, got, want)
			}
			for _, ch := range chunks {
				if !utf8.ValidString(ch) || strings.ContainsRune(ch, utf8.RuneError) {
					t.Errorf("%q: chunk %q is not whole characters", c.Text, ch)
				}
			}
		}
	}
}
