package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// refCase is one entry of tokenizer_cases.json, made with the reference
// `tokenizers` library: encode(text).ids and decode(ids) with and without
// skip_special_tokens.
type refCase struct {
	Text               string  `json:"text"`
	IDs                []int64 `json:"ids"`
	Decoded            string  `json:"decoded"`
	DecodedSkipSpecial string  `json:"decoded_skip_special"`
}

var (
	loadOnce sync.Once
	shared   *Tokenizer
	cases    []refCase
	loadErr  error
)

// fixtureTokenizer loads the fixture's tokenizer.json and golden cases once.
func fixtureTokenizer(tb testing.TB) (*Tokenizer, []refCase) {
	tb.Helper()
	loadOnce.Do(func() {
		dir, err := fixture.Dir()
		if err != nil {
			loadErr = err
			return
		}
		shared, loadErr = LoadFile(filepath.Join(dir, "model", "tokenizer.json"))
		if loadErr != nil {
			return
		}
		raw, err := os.ReadFile(filepath.Join(dir, "tokenizer_cases.json"))
		if err != nil {
			loadErr = err
			return
		}
		loadErr = json.Unmarshal(raw, &cases)
	})
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
	return shared, cases
}

func TestReferenceCases(t *testing.T) {
	tok, cases := fixtureTokenizer(t)
	if len(cases) < 100 {
		t.Fatalf("only %d cases in tokenizer_cases.json", len(cases))
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
			if got := tok.Decode(c.IDs, false); got != c.Decoded {
				t.Errorf("Decode(%v, false) = %q, want %q", c.IDs, got, c.Decoded)
			}
			if got := tok.Decode(c.IDs, true); got != c.DecodedSkipSpecial {
				t.Errorf("Decode(%v, true) = %q, want %q", c.IDs, got, c.DecodedSkipSpecial)
			}
		})
	}
}

// TestEncodeCached encodes every case twice so the second pass reads the
// word cache, and concurrently to exercise its lock under -race.
func TestEncodeCached(t *testing.T) {
	tok, cases := fixtureTokenizer(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, c := range cases {
				if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
					t.Errorf("Encode(%q) = %v, want %v", c.Text, got, c.IDs)
				}
			}
		})
	}
	wg.Wait()
}

func TestLookups(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	tests := []struct {
		token   string
		id      int64
		special bool
	}{
		{"<|endoftext|>", 0, true},
		{"<|im_start|>", 1, true},
		{"<image>", 49190, true},
		{"<end_of_utterance>", 49279, true},
		{"Hello", 19556, false},
		{"Ġworld", 905, false},
	}
	for _, tc := range tests {
		id, ok := tok.TokenID(tc.token)
		if !ok || id != tc.id {
			t.Errorf("TokenID(%q) = %d, %v; want %d", tc.token, id, ok, tc.id)
		}
		s, ok := tok.Token(tc.id)
		if !ok || s != tc.token {
			t.Errorf("Token(%d) = %q, %v; want %q", tc.id, s, ok, tc.token)
		}
		if got := tok.IsSpecial(tc.id); got != tc.special {
			t.Errorf("IsSpecial(%d) = %v, want %v", tc.id, got, tc.special)
		}
	}
	for _, id := range []int64{-1, 49280, 1 << 40} {
		if s, ok := tok.Token(id); ok {
			t.Errorf("Token(%d) = %q, want none", id, s)
		}
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID of an unknown token succeeded")
	}
	// config.json's text vocab_size: 49152 merges-vocab + 128 added ids.
	if got := tok.VocabSize(); got != 49280 {
		t.Errorf("VocabSize() = %d, want 49280", got)
	}
}

// lossyCases pin String::from_utf8_lossy, which replaces each maximal
// ill-formed subpart once.
var lossyCases = []struct {
	name  string
	bytes string
	want  string
}{
	{"valid", "é", "é"},
	{"truncated 3-byte at end", "\xe6\x97", "\uFFFD"},
	{"truncated 3-byte then ASCII", "\xe6\x97a", "\uFFFDa"},
	{"truncated 4-byte", "\xf0\x9f\x98", "\uFFFD"},
	{"lone continuations", "\x80\x80", "\uFFFD\uFFFD"},
	{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
	{"truncated then new lead", "\xe6\xe6\x97\xa5", "\uFFFD日"},
	{"overlong", "\xc0\xaf", "\uFFFD\uFFFD"},
	{"above U+10FFFF", "\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
	{"bad lead", "\xffx", "\uFFFDx"},
}

func TestLossyString(t *testing.T) {
	for _, tc := range lossyCases {
		if got := lossyString([]byte(tc.bytes)); got != tc.want {
			t.Errorf("%s: lossyString(%q) = %q, want %q", tc.name, tc.bytes, got, tc.want)
		}
	}
}

// TestDecodeLossy decodes byte tokens forming ill-formed UTF-8. Bytes that
// never occur in UTF-8 text (C0, C1, F5–FF…) have no token in this
// vocabulary, so those cases are only checked on lossyString.
func TestDecodeLossy(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	for _, tc := range lossyCases {
		var ids []int64
		for i := range len(tc.bytes) {
			id, ok := tok.TokenID(string(byteToRune[tc.bytes[i]]))
			if !ok {
				ids = nil
				break
			}
			ids = append(ids, id)
		}
		if ids == nil {
			continue
		}
		if got := tok.Decode(ids, false); got != tc.want {
			t.Errorf("%s: Decode = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDecodeSkipsUnknownIDs(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	hello, _ := tok.TokenID("Hello")
	if got := tok.Decode([]int64{-5, hello, 1 << 40, 99999}, false); got != "Hello" {
		t.Errorf("Decode = %q, want %q", got, "Hello")
	}
}

func TestInvalidUTF8Input(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	for _, s := range []string{"\x80", "a\xe6\x97b", "<image>\x80 x", "\xed\xa0\x80"} {
		ids := tok.Encode(s)
		if got, want := tok.Decode(ids, false), lossyString([]byte(s)); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	}
	// A byte without a token is dropped, as the reference's BPE does when
	// unk_token is null.
	if ids := tok.Encode("a\xffb\x04"); len(ids) != 2 {
		t.Errorf("Encode(a\\xffb\\x04) = %v, want the ids of a and b only", ids)
	}
}

func TestGPT2Split(t *testing.T) {
	p := preTokenizer{hasByteLevel: true, useRegex: true}
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"  leading", []string{" ", " leading"}},
		{"trailing  ", []string{"trailing", "  "}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"a\n\n", []string{"a", "\n\n"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"a \n b", []string{"a", " \n", " b"}},
		{"a\tb", []string{"a", "\t", "b"}},
		{"don't DON'T we'll", []string{"don", "'t", " DON", "'", "T", " we", "'ll"}},
		{"x'rex've", []string{"x", "'re", "x", "'ve"}},
		{"?!'s", []string{"?!'", "s"}},
		{"C++ && Go", []string{"C", "++", " &&", " Go"}},
		{"\u00a0non\u2009thin", []string{"\u00a0", "non", "\u2009", "thin"}},
		{"x\u200by", []string{"x", "\u200b", "y"}},
		{"ab12 3", []string{"ab", "12", " 3"}},
		// Contractions are lowercase only: gotokenizers' IgnoreCase pattern
		// splits "'M" + "ary" here and gets different ids.
		{"'Mary 'Steve", []string{"'", "Mary", " '", "Steve"}},
		{" ", []string{" "}},
		{"a ", []string{"a", " "}},
	}
	for _, tc := range tests {
		got := collectWords(&p, tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func collectWords(p *preTokenizer, s string) []string {
	var out []string
	p.eachWord(s, func(w string) { out = append(out, w) })
	return out
}

func TestPrefixSpaceAndDigits(t *testing.T) {
	p := preTokenizer{digits: []bool{true}, hasByteLevel: true, addPrefixSpace: true, useRegex: true}
	got := collectWords(&p, "x12 y")
	want := []string{" x", " 1", " 2", " y"}
	if !slices.Equal(got, want) {
		t.Errorf("appendWords = %q, want %q", got, want)
	}
	p = preTokenizer{digits: []bool{false}, hasByteLevel: true, useRegex: false}
	got = collectWords(&p, "ab123c4")
	want = []string{"ab", "123", "c", "4"}
	if !slices.Equal(got, want) {
		t.Errorf("appendWords = %q, want %q", got, want)
	}
}

// miniJSON is a small tokenizer.json over the byte alphabet with the merges
// given, and added tokens to test the flags.
func miniJSON(merges string, added string) string {
	var vocab []string
	for b := range 256 {
		q, _ := json.Marshal(string(byteToRune[b]))
		vocab = append(vocab, string(q)+":"+itoa(b))
	}
	extra := []string{"ab", "abc", "bc", "ĠĠ"}
	for i, e := range extra {
		q, _ := json.Marshal(e)
		vocab = append(vocab, string(q)+":"+itoa(256+i))
	}
	return `{"version":"1.0","truncation":null,"padding":null,
	"added_tokens":[` + added + `],
	"normalizer":null,
	"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
	"post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
	"decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
	"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,
	"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
	"vocab":{` + strings.Join(vocab, ",") + `},"merges":` + merges + `}}`
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestMergeFormats(t *testing.T) {
	for _, merges := range []string{
		`[["a","b"],["ab","c"],["b","c"],["Ġ","Ġ"]]`,
		`["a b","ab c","b c","Ġ Ġ"]`,
		`["#version: 0.2","a b","ab c","b c","Ġ Ġ"]`,
	} {
		tok, err := Load(strings.NewReader(miniJSON(merges, "")))
		if err != nil {
			t.Fatalf("merges %s: %v", merges, err)
		}
		// "ab" (rank 0) beats "bc" (rank 2), then "ab"+"c" (rank 1).
		if got, want := tok.Encode("abc"), []int64{257}; !slices.Equal(got, want) {
			t.Errorf("merges %s: Encode(abc) = %v, want %v", merges, got, want)
		}
		if got := tok.Decode(tok.Encode("xabcbc  "), false); got != "xabcbc  " {
			t.Errorf("round trip = %q", got)
		}
	}
}

// TestMergePriority checks that the lowest rank wins over position: with
// "b c" ranked first, "abc" must become a + bc.
func TestMergePriority(t *testing.T) {
	tok, err := Load(strings.NewReader(miniJSON(`[["b","c"],["a","b"],["ab","c"]]`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("abc"), []int64{'a', 258}; !slices.Equal(got, want) {
		t.Errorf("Encode(abc) = %v, want %v", got, want)
	}
}

func TestAddedTokenFlags(t *testing.T) {
	added := `{"id":300,"content":"<x>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true},
	{"id":301,"content":"<y>","single_word":false,"lstrip":false,"rstrip":true,"normalized":false,"special":false},
	{"id":302,"content":"tok","single_word":true,"lstrip":false,"rstrip":false,"normalized":true,"special":false},
	{"id":303,"content":"<x>>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}`
	tok, err := Load(strings.NewReader(miniJSON(`[]`, added)))
	if err != nil {
		t.Fatal(err)
	}
	space, _ := tok.TokenID("Ġ")
	tests := []struct {
		in   string
		want []int64
	}{
		{"a  <x>b", []int64{'a', 300, 'b'}},                        // lstrip eats both spaces
		{"a<y>  b", []int64{'a', 301, 'b'}},                        // rstrip eats both spaces
		{"a <y> <x> b", []int64{'a', space, 301, 300, space, 'b'}}, // <x> lstrip finds the space already taken
		{"tok x", []int64{302, space, 'x'}},                        // single word
		{"atok", []int64{'a', 't', 'o', 'k'}},                      // inside a word: not matched
		{"tok_", []int64{'t', 'o', 'k', '_'}},                      // '_' is a word character
		{"<x>>", []int64{303}},                                     // longest match wins
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := tok.Decode([]int64{'a', 300, 301, 'b'}, true); got != "a<y>b" {
		t.Errorf("Decode skipping special = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	good := miniJSON(`[["a","b"]]`, "")
	tests := []struct {
		name string
		json string
		want error
	}{
		{"empty", ``, ErrInvalid},
		{"truncated", good[:len(good)/2], ErrInvalid},
		{"not an object", `[1,2]`, ErrInvalid},
		{"no model", `{"decoder":{"type":"ByteLevel"},"pre_tokenizer":{"type":"ByteLevel"}}`, ErrInvalid},
		{"wordpiece", strings.Replace(good, `"type":"BPE"`, `"type":"WordPiece"`, 1), ErrUnsupported},
		{"normalizer", strings.Replace(good, `"normalizer":null`, `"normalizer":{"type":"NFC"}`, 1), ErrUnsupported},
		{"metaspace", strings.Replace(good, `"pre_tokenizer":{"type":"ByteLevel"`, `"pre_tokenizer":{"type":"Metaspace"`, 1), ErrUnsupported},
		{"template", strings.Replace(good, `"post_processor":{"type":"ByteLevel"`, `"post_processor":{"type":"TemplateProcessing"`, 1), ErrUnsupported},
		{"wordpiece decoder", strings.Replace(good, `"decoder":{"type":"ByteLevel"`, `"decoder":{"type":"WordPiece"`, 1), ErrUnsupported},
		{"truncation", strings.Replace(good, `"truncation":null`, `"truncation":{"max_length":5}`, 1), ErrUnsupported},
		{"dropout", strings.Replace(good, `"dropout":null`, `"dropout":0.1`, 1), ErrUnsupported},
		{"merge not in vocab", miniJSON(`[["a","zz"]]`, ""), ErrInvalid},
		{"merge result not in vocab", miniJSON(`[["x","y"]]`, ""), ErrInvalid},
		{"merge of three", miniJSON(`[["a","b","c"]]`, ""), ErrInvalid},
		{"merge string without space", miniJSON(`["ab"]`, ""), ErrInvalid},
		{"merges wrong type", miniJSON(`{"a":"b"}`, ""), ErrInvalid},
		{"vocab wrong type", strings.Replace(good, `"vocab":{`, `"vocab":{"qq":"x",`, 1), ErrInvalid},
		{"negative id", strings.Replace(good, `"vocab":{`, `"vocab":{"qq":-3,`, 1), ErrInvalid},
		{"unk missing", strings.Replace(good, `"unk_token":null`, `"unk_token":"<unk>"`, 1), ErrInvalid},
		{"duplicate added", miniJSON(`[]`, `{"id":300,"content":"<x>"},{"id":301,"content":"<x>"}`), ErrInvalid},
		{"duplicate added id", miniJSON(`[]`, `{"id":300,"content":"<x>"},{"id":300,"content":"<y>"}`), ErrInvalid},
		{"added id taken by vocab", miniJSON(`[]`, `{"id":97,"content":"<x>"}`), ErrInvalid},
		{"added token in vocab elsewhere", miniJSON(`[]`, `{"id":300,"content":"ab"}`), ErrInvalid},
		{"added id out of range", miniJSON(`[]`, `{"id":-1,"content":"<x>"}`), ErrInvalid},
		{"duplicate vocab id", strings.Replace(good, `"vocab":{`, `"vocab":{"qq":97,`, 1), ErrInvalid},
		{"no pre_tokenizer", strings.Replace(good, `"pre_tokenizer":{"type":"ByteLevel"`, `"pre_tokenizer":null,"x":{"type":"ByteLevel"`, 1), ErrUnsupported},
		{"digits after bytelevel", strings.Replace(good, `"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`,
			`"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"},{"type":"Digits"}]}`, 1), ErrUnsupported},
		{"no decoder", strings.Replace(good, `"decoder":{"type":"ByteLevel"`, `"decoder":null,"y":{"type":"ByteLevel"`, 1), ErrUnsupported},
	}
	for _, tc := range tests {
		tok, err := Load(strings.NewReader(tc.json))
		if err == nil {
			t.Errorf("%s: Load succeeded (%v)", tc.name, tok != nil)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %q does not wrap %v", tc.name, err, tc.want)
		}
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile of a missing file: %v", err)
	}
}
