// Package tokenizer is a pure-Go Hugging Face tokenizer.json tokenizer for
// byte-level BPE models (SmolLM / SmolVLM, GPT-2 style). Encode and Decode
// give exactly what the reference `tokenizers` library gives for the files it
// accepts; Load refuses the components it does not implement instead of
// approximating them. DESIGN.md says why it is not built on gotokenizers.
package tokenizer

import "math"

// Tokenizer encodes text to token ids and back. It is safe for concurrent
// use; it caches the ids of recent words.
type Tokenizer struct {
	pre       preTokenizer
	model     *bpe
	added     *addedVocab
	vocabSize int
}

func newTokenizer(pre preTokenizer, model *bpe, added *addedVocab) *Tokenizer {
	size := len(model.idToTok)
	for id := range added.byID {
		if id > math.MaxInt32 {
			continue
		}
		if _, inModel := model.idToTok[int32(id)]; !inModel {
			size++
		}
	}
	return &Tokenizer{pre: pre, model: model, added: added, vocabSize: size}
}

// Encode returns the ids of text as the reference's
// Tokenizer.encode(text).ids: added tokens are cut out first (their
// single_word/lstrip/rstrip flags honoured), then each remaining piece is
// pre-tokenized (Digits, ByteLevel's GPT-2 split) and BPE-encoded. The
// supported post-processors add nothing, so add_special_tokens makes no
// difference. Invalid UTF-8 is encoded byte by byte like any other bytes; a
// byte whose single-byte token the vocabulary lacks (SmolVLM has none for
// 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xF1, 0xF2, …) is dropped, as the
// reference's BPE drops unknown characters when unk_token is null.
func (t *Tokenizer) Encode(text string) []int64 {
	ids := make([]int64, 0, len(text)/3+1)
	encodeWord := func(word string) { ids = t.model.appendIDs(ids, word) }
	for _, seg := range t.added.split(text) {
		if seg.token != nil {
			ids = append(ids, seg.token.id)
			continue
		}
		t.pre.eachWord(seg.text, encodeWord)
	}
	return ids
}

// Decode turns ids back into text as the reference's decode(ids,
// skip_special_tokens) does with the ByteLevel decoder: tokens are mapped
// back to bytes and the whole is read as UTF-8, each ill-formed sequence
// replaced by U+FFFD (Rust's String::from_utf8_lossy). Unknown ids are
// skipped, as are special tokens when skipSpecial is set.
func (t *Tokenizer) Decode(ids []int64, skipSpecial bool) string {
	var buf []byte
	for _, id := range ids {
		buf = t.appendIDBytes(buf, id, skipSpecial)
	}
	return lossyString(buf)
}

// appendIDBytes appends the bytes one id decodes to.
func (t *Tokenizer) appendIDBytes(dst []byte, id int64, skipSpecial bool) []byte {
	if tok, ok := t.added.byID[id]; ok {
		if tok.special && skipSpecial {
			return dst
		}
		return appendTokenBytes(dst, tok.content)
	}
	if tok, ok := t.Token(id); ok {
		return appendTokenBytes(dst, tok)
	}
	return dst
}

// TokenID returns the id of a token written as in the vocabulary (alphabet
// form, e.g. "Ġworld" for " world") or of an added token ("<image>").
func (t *Tokenizer) TokenID(s string) (int64, bool) {
	if tok, ok := t.added.byContent[s]; ok {
		return tok.id, true
	}
	id, ok := t.model.vocab[s]
	return int64(id), ok
}

// Token returns the token of id as written in the vocabulary (alphabet form)
// or the content of an added token.
func (t *Tokenizer) Token(id int64) (string, bool) {
	if tok, ok := t.added.byID[id]; ok {
		return tok.content, true
	}
	if id < 0 || id > math.MaxInt32 {
		return "", false
	}
	s, ok := t.model.idToTok[int32(id)]
	return s, ok
}

// IsSpecial reports whether id is an added token marked special, the kind
// Decode drops when skipping special tokens.
func (t *Tokenizer) IsSpecial(id int64) bool {
	tok, ok := t.added.byID[id]
	return ok && tok.special
}

// VocabSize is the number of distinct ids, model vocabulary and added tokens
// together: the reference's get_vocab_size(with_added_tokens=True), which is
// the size of the model's embedding table.
func (t *Tokenizer) VocabSize() int {
	return t.vocabSize
}
