// Package generate runs SmolVLM's generation loop over an engine: embed the
// prompt, encode the image tiles, merge the image features at the image token
// positions, prefill the decoder, then decode one token per step, feeding the
// decoder's present key/values back as its past without reading them.
//
// This is the loop documented in the fixture README (and used by the public
// ONNX export's transformers.js runner); every dimension comes from the model
// config and every element type from the sessions.
package generate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/sample"
)

// Input and output names of the public SmolVLM ONNX export.
const (
	inPixelValues   = "pixel_values"
	inPixelMask     = "pixel_attention_mask"
	outImageFeats   = "image_features"
	inInputIDs      = "input_ids"
	outInputsEmbeds = "inputs_embeds"
	inInputsEmbeds  = "inputs_embeds"
	inAttentionMask = "attention_mask"
	inPositionIDs   = "position_ids"
	outLogits       = "logits"
	pastPrefix      = "past_key_values."
	presentPrefix   = "present."
)

// Dims are the numbers the loop needs, all from the model's config files.
type Dims struct {
	ImageTokenID int64
	NumKVHeads   int
	HeadDim      int
	HiddenSize   int
	MaxPositions int // 0: no limit
	EOSTokenIDs  []int64
}

// Model is the three sessions of a SmolVLM export on one engine.
type Model struct {
	Engine  engine.Engine
	Vision  engine.Session
	Embed   engine.Session
	Decoder engine.Session
	Dims    Dims
	// TilesPerRun is how many of a picture's tiles each vision encoder run
	// takes (EncodeImage); 0 takes all in one run.
	TilesPerRun int

	pastNames []string // decoder inputs past_key_values.*, in session order
}

// NewModel checks the sessions' inputs and outputs against the export's
// contract and dims.
func NewModel(eng engine.Engine, vision, embed, decoder engine.Session, dims Dims) (*Model, error) {
	m := &Model{Engine: eng, Vision: vision, Embed: embed, Decoder: decoder, Dims: dims}
	for _, req := range []struct {
		s    engine.Session
		part string
		ins  []string
		outs []string
	}{
		{vision, "vision encoder", []string{inPixelValues, inPixelMask}, []string{outImageFeats}},
		{embed, "embed_tokens", []string{inInputIDs}, []string{outInputsEmbeds}},
		{decoder, "decoder", []string{inInputsEmbeds, inAttentionMask, inPositionIDs}, []string{outLogits}},
	} {
		if req.s == nil {
			continue // the vision encoder is optional for text-only use
		}
		for _, name := range req.ins {
			if _, ok := engine.Find(req.s.Inputs(), name); !ok {
				return nil, fmt.Errorf("%s model has no input %q", req.part, name)
			}
		}
		for _, name := range req.outs {
			if _, ok := engine.Find(req.s.Outputs(), name); !ok {
				return nil, fmt.Errorf("%s model has no output %q", req.part, name)
			}
		}
	}
	for _, in := range decoder.Inputs() {
		if !strings.HasPrefix(in.Name, pastPrefix) {
			continue
		}
		if _, ok := engine.Find(decoder.Outputs(), presentName(in.Name)); !ok {
			return nil, fmt.Errorf("decoder has input %s but no output %s", in.Name, presentName(in.Name))
		}
		if err := checkKVShape(in, dims); err != nil {
			return nil, err
		}
		m.pastNames = append(m.pastNames, in.Name)
	}
	if len(m.pastNames) == 0 {
		return nil, errors.New("decoder has no past_key_values inputs")
	}
	return m, nil
}

// presentName maps past_key_values.3.key to present.3.key.
func presentName(past string) string {
	return presentPrefix + strings.TrimPrefix(past, pastPrefix)
}

// checkKVShape compares the static dimensions of a cache input, where the
// file states them, with the config's kv heads and head_dim.
func checkKVShape(in engine.IOInfo, d Dims) error {
	if len(in.Shape) != 4 {
		return fmt.Errorf("decoder input %s has rank %d, want 4", in.Name, len(in.Shape))
	}
	if h := in.Shape[1]; h > 0 && int(h) != d.NumKVHeads {
		return fmt.Errorf("decoder input %s has %d kv heads, config says %d", in.Name, h, d.NumKVHeads)
	}
	if h := in.Shape[3]; h > 0 && int(h) != d.HeadDim {
		return fmt.Errorf("decoder input %s has head_dim %d, config says %d", in.Name, h, d.HeadDim)
	}
	return nil
}

// Image is one preprocessed picture: pixel values [1, n, 3, H, W] and the
// mask [1, n, H, W].
type Image struct {
	PixelValues []float32
	Mask        []bool
	Shape       [5]int64
	// Features, when not nil, are the picture's vision encoder outputs,
	// computed ahead by Model.EncodeImage: the generation uses them instead
	// of running the encoder (and PixelValues and Mask may be nil).
	Features []float32
}

// Options control one generation.
type Options struct {
	MaxNewTokens int
	// MinNewTokens keeps the end-of-sequence tokens from being chosen before
	// this many tokens (Hugging Face's min_new_tokens); 0 is off.
	MinNewTokens int
	Sampling     sample.Options
	// OnToken, if set, receives each new token as soon as it is chosen.
	OnToken func(id int64)
}

// StopReason says why generation ended.
type StopReason string

// Stop reasons.
const (
	StopEOS       StopReason = "eos"
	StopMaxTokens StopReason = "max_new_tokens"
	StopCancelled StopReason = "cancelled"
	// StopContextFull: the conversation filled the model's position range
	// (max_position_embeddings); a follow-up is refused with ErrContextFull.
	StopContextFull StopReason = "context_full"
)

// Timings of one generation.
type Timings struct {
	Vision       time.Duration // vision encoder
	FirstToken   time.Duration // from the start to the first new token (embed, vision, prefill, sample)
	Decode       time.Duration // the steps after the first token
	DecodeTokens int           // tokens produced by those steps
}

// DecodeTokensPerSecond is the decode speed after the first token.
func (t Timings) DecodeTokensPerSecond() float64 {
	if t.Decode <= 0 {
		return 0
	}
	return float64(t.DecodeTokens) / t.Decode.Seconds()
}

// Result of one generation.
type Result struct {
	Tokens  []int64
	Stop    StopReason
	Timings Timings
	// VisionRuns counts vision encoder runs in this call (0 on follow-ups).
	VisionRuns int
}
