package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// ErrInvalid marks a tokenizer.json that is malformed or inconsistent
// (bad JSON, a merge naming a token the vocabulary lacks, a negative id…).
var ErrInvalid = errors.New("invalid tokenizer.json")

// ErrUnsupported marks a tokenizer.json that uses a component (normalizer,
// pre-tokenizer, model, decoder, post-processor, truncation, padding) or an
// option this package does not implement. Refusing it is safer than encoding
// differently from the reference.
var ErrUnsupported = errors.New("unsupported tokenizer.json component")

// fileJSON is the part of tokenizer.json this package reads.
type fileJSON struct {
	Truncation    json.RawMessage  `json:"truncation"`
	Padding       json.RawMessage  `json:"padding"`
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         *modelJSON       `json:"model"`
}

type addedTokenJSON struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int64 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

// componentJSON is any typed component: {"type": "...", ...}.
type componentJSON struct {
	Type string `json:"type"`
	// Sequence pre-tokenizer.
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	// Digits.
	IndividualDigits bool `json:"individual_digits"`
	// ByteLevel; use_regex defaults to true in the reference.
	AddPrefixSpace bool  `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
}

// LoadFile reads a Hugging Face tokenizer.json from path.
func LoadFile(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	t, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Load reads a Hugging Face tokenizer.json. It accepts the byte-level BPE
// family (GPT-2, SmolLM): no normalizer, a pre-tokenizer made of Digits and a
// final ByteLevel, a BPE model, a ByteLevel decoder, and no post-processor
// other than ByteLevel. Anything else is refused with an error wrapping
// ErrUnsupported; malformed input yields an error wrapping ErrInvalid.
func Load(r io.Reader) (*Tokenizer, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: read tokenizer.json: %w", err)
	}
	var f fileJSON
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %w: %w", ErrInvalid, err)
	}
	t, err := build(&f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

// build checks every section and assembles the tokenizer.
func build(f *fileJSON) (*Tokenizer, error) {
	if err := checkAbsent("normalizer", f.Normalizer); err != nil {
		return nil, err
	}
	if err := checkAbsent("truncation", f.Truncation); err != nil {
		return nil, err
	}
	if err := checkAbsent("padding", f.Padding); err != nil {
		return nil, err
	}
	if err := checkPostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	pre, err := parsePreTokenizer(f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	model, err := parseBPE(f.Model)
	if err != nil {
		return nil, err
	}
	added, err := newAddedVocab(f.AddedTokens)
	if err != nil {
		return nil, err
	}
	if err := checkAddedIDs(added, model); err != nil {
		return nil, err
	}
	return newTokenizer(pre, model, added), nil
}

// checkAddedIDs refuses added tokens whose id disagrees with the vocab. The
// reference would not use the id written in the file then (it keeps the
// vocab's id, or numbers the token after the vocab, and only logs a
// warning), so such a file cannot be trusted to say what the ids are.
func checkAddedIDs(added *addedVocab, model *bpe) error {
	for _, tok := range added.byID {
		if id, ok := model.vocab[tok.content]; ok && int64(id) != tok.id {
			return fmt.Errorf("added token %q has id %d but the vocab gives it %d: %w", tok.content, tok.id, id, ErrInvalid)
		}
		if other, ok := model.idToTok[int32(tok.id)]; ok && other != tok.content {
			return fmt.Errorf("added token %q has id %d, which the vocab gives to %q: %w", tok.content, tok.id, other, ErrInvalid)
		}
	}
	return nil
}

// isNull reports whether a JSON value is missing or null.
func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// checkAbsent refuses a section that would change encoding if it were set,
// since this package does not implement it.
func checkAbsent(name string, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var c componentJSON
	if json.Unmarshal(raw, &c) == nil && c.Type != "" {
		return fmt.Errorf("%s of type %q: %w", name, c.Type, ErrUnsupported)
	}
	return fmt.Errorf("%s is set: %w", name, ErrUnsupported)
}

func parseComponent(name string, raw json.RawMessage) (componentJSON, error) {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s: %w: %w", name, ErrInvalid, err)
	}
	return c, nil
}

// checkPostProcessor accepts none, or ByteLevel, which only trims offsets and
// leaves the ids alone; anything that adds tokens (TemplateProcessing…) is
// refused because Encode would then be missing them.
func checkPostProcessor(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	c, err := parseComponent("post_processor", raw)
	if err != nil {
		return err
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("post_processor of type %q: %w", c.Type, ErrUnsupported)
	}
	return nil
}

// checkDecoder requires the ByteLevel decoder, the one Decode implements.
func checkDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		return fmt.Errorf("decoder is missing (only ByteLevel is implemented): %w", ErrUnsupported)
	}
	c, err := parseComponent("decoder", raw)
	if err != nil {
		return err
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("decoder of type %q: %w", c.Type, ErrUnsupported)
	}
	return nil
}

// parsePreTokenizer flattens Sequence pre-tokenizers into steps and requires
// exactly one ByteLevel, last: the BPE model consumes its byte-mapped output.
func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	var p preTokenizer
	if isNull(raw) {
		return p, fmt.Errorf("pre_tokenizer is missing (a ByteLevel one is required): %w", ErrUnsupported)
	}
	if err := p.appendSteps(raw); err != nil {
		return p, err
	}
	if !p.hasByteLevel {
		return p, fmt.Errorf("pre_tokenizer has no ByteLevel step: %w", ErrUnsupported)
	}
	return p, nil
}

func (p *preTokenizer) appendSteps(raw json.RawMessage) error {
	c, err := parseComponent("pre_tokenizer", raw)
	if err != nil {
		return err
	}
	if p.hasByteLevel {
		return fmt.Errorf("pre_tokenizer step %q after ByteLevel: %w", c.Type, ErrUnsupported)
	}
	switch c.Type {
	case "Sequence":
		for _, sub := range c.PreTokenizers {
			if err := p.appendSteps(sub); err != nil {
				return err
			}
		}
	case "Digits":
		p.digits = append(p.digits, c.IndividualDigits)
	case "ByteLevel":
		p.hasByteLevel = true
		p.addPrefixSpace = c.AddPrefixSpace
		p.useRegex = c.UseRegex == nil || *c.UseRegex
	default:
		return fmt.Errorf("pre_tokenizer of type %q: %w", c.Type, ErrUnsupported)
	}
	return nil
}

// parseBPE checks the model options and builds the vocabulary and merge ranks.
func parseBPE(m *modelJSON) (*bpe, error) {
	if m == nil {
		return nil, fmt.Errorf("model is missing: %w", ErrInvalid)
	}
	if m.Type != "BPE" && m.Type != "" {
		return nil, fmt.Errorf("model of type %q: %w", m.Type, ErrUnsupported)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("BPE dropout %v makes encoding random: %w", *m.Dropout, ErrUnsupported)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("BPE continuing_subword_prefix: %w", ErrUnsupported)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("BPE end_of_word_suffix: %w", ErrUnsupported)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("BPE byte_fallback: %w", ErrUnsupported)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("model vocab is empty: %w", ErrInvalid)
	}
	for tok, id := range m.Vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("vocab token %q has id %d out of range: %w", tok, id, ErrInvalid)
		}
	}
	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	b, err := newBPE(m.Vocab, pairs, m.IgnoreMerges, m.FuseUnk)
	if err != nil {
		return nil, err
	}
	if m.UnkToken != nil {
		if err := b.setUnk(*m.UnkToken); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// parseMerges reads merges in either layout the reference writes: pairs
// [["a","b"], …] (tokenizers ≥ 0.20) or strings ["a b", …] (older files,
// merges.txt style).
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var asPairs [][]string
	if err := json.Unmarshal(raw, &asPairs); err == nil {
		out := make([][2]string, len(asPairs))
		for i, p := range asPairs {
			if len(p) != 2 {
				return nil, fmt.Errorf("merge %d has %d parts, want 2: %w", i, len(p), ErrInvalid)
			}
			out[i] = [2]string{p[0], p[1]}
		}
		return out, nil
	}
	var asLines []string
	if err := json.Unmarshal(raw, &asLines); err != nil {
		return nil, fmt.Errorf("merges are neither pairs nor strings: %w: %w", ErrInvalid, err)
	}
	out := make([][2]string, 0, len(asLines))
	for i, line := range asLines {
		// The reference skips a merges.txt header that leaked into the list.
		if strings.HasPrefix(line, "#version") {
			continue
		}
		parts := strings.Split(line, " ")
		if len(parts) != 2 {
			return nil, fmt.Errorf("merge %d %q is not two space-separated tokens: %w", i, line, ErrInvalid)
		}
		out = append(out, [2]string{parts[0], parts[1]})
	}
	return out, nil
}
