package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/sample"
)

// Conversation holds the decoder's key/value cache across turns, so a
// follow-up question only runs the new tokens through the model.
type Conversation struct {
	m *Model
	// past holds present.* of the last decoder run, keyed by the
	// past_key_values.* input each feeds. Empty before the first run.
	past map[string]engine.Tensor
	// ids are the tokens whose keys/values are in past, in order.
	ids []int64
	// pending is the last sampled token, chosen but not yet run through the
	// decoder; it starts the next turn's input.
	pending []int64
}

// NewConversation starts an empty conversation.
func (m *Model) NewConversation() *Conversation {
	return &Conversation{m: m, past: map[string]engine.Tensor{}}
}

// Tokens returns every token of the conversation so far: those in the cache
// and the last sampled one.
func (c *Conversation) Tokens() []int64 {
	return append(slices.Clone(c.ids), c.pending...)
}

// Close releases the cache.
func (c *Conversation) Close() {
	for k, t := range c.past {
		t.Release()
		delete(c.past, k)
	}
	c.ids, c.pending = nil, nil
}

// Generate appends newIDs (after any token still pending from the previous
// turn) to the conversation and generates the answer. images holds one entry
// per picture whose image tokens appear in newIDs, in order.
//
// On cancellation it returns the tokens made so far with Stop = StopCancelled
// and a nil error; the conversation stays usable.
//
// The answer ends with Stop = StopContextFull when the next token would run
// past max_position_embeddings (Dims.MaxPositions); that token is kept.
func (c *Conversation) Generate(ctx context.Context, newIDs []int64, images []Image, opts Options) (*Result, error) {
	start := time.Now()
	input := append(slices.Clone(c.pending), newIDs...)
	if len(input) == 0 {
		return nil, errors.New("nothing to generate from: the prompt is empty")
	}
	if err := c.checkContext(len(input), opts.MaxNewTokens); err != nil {
		return nil, err
	}
	if opts.MaxNewTokens <= 0 {
		return nil, fmt.Errorf("max new tokens must be positive (got %d)", opts.MaxNewTokens)
	}
	res := &Result{}
	embeds, err := c.embedPrompt(ctx, input, images, res)
	if err != nil {
		return nil, err
	}
	sampler := sample.New(opts.Sampling)
	sampler.Observe(c.ids...)
	sampler.Observe(input...)

	next, err := c.step(ctx, embeds, input, sampler, opts.MinNewTokens > 0)
	embeds.Release()
	if err != nil {
		return nil, err
	}
	res.Timings.FirstToken = time.Since(start)
	decodeStart := time.Now()
	for {
		res.Tokens = append(res.Tokens, next)
		c.pending = []int64{next}
		if opts.OnToken != nil {
			opts.OnToken(next)
		}
		if slices.Contains(c.m.Dims.EOSTokenIDs, next) {
			res.Stop = StopEOS
			break
		}
		if len(res.Tokens) >= opts.MaxNewTokens {
			res.Stop = StopMaxTokens
			break
		}
		if ctx.Err() != nil {
			res.Stop = StopCancelled
			break
		}
		if c.contextFull() {
			// next would run at a position past max_position_embeddings.
			res.Stop = StopContextFull
			break
		}
		embeds, err := c.embedIDs(ctx, []int64{next})
		if err != nil {
			return nil, err
		}
		tok, err := c.step(ctx, embeds, []int64{next}, sampler, len(res.Tokens) < opts.MinNewTokens)
		embeds.Release()
		if err != nil {
			if ctx.Err() != nil {
				res.Stop = StopCancelled
				break
			}
			return nil, err
		}
		next = tok
		res.Timings.DecodeTokens++
	}
	res.Timings.Decode = time.Since(decodeStart)
	return res, nil
}

// ErrContextFull refuses a turn whose prompt does not fit the model's
// position range (max_position_embeddings); the conversation is unchanged.
var ErrContextFull = errors.New("prompt too long for the model's context")

// checkContext refuses a turn that cannot fit the model's position range.
func (c *Conversation) checkContext(inputLen, maxNew int) error {
	limit := c.m.Dims.MaxPositions
	if limit <= 0 {
		return nil
	}
	if total := len(c.ids) + inputLen; total >= limit {
		return fmt.Errorf("%w: %d tokens, the limit is %d", ErrContextFull, total, limit)
	}
	return nil
}

// contextFull reports whether every position of the model's range is in the
// cache, so that the pending token cannot run.
func (c *Conversation) contextFull() bool {
	limit := c.m.Dims.MaxPositions
	return limit > 0 && len(c.ids) >= limit
}

// step runs the decoder on embeds (the embeddings of ids), keeps the new
// cache and returns the next token. Only the last row of the logits is read.
// With noEOS the end-of-sequence tokens cannot be chosen.
func (c *Conversation) step(ctx context.Context, embeds engine.Tensor, ids []int64, sampler *sample.Sampler, noEOS bool) (int64, error) {
	inputs, owned, err := c.decoderInputs(embeds, len(ids))
	defer releaseAll(owned)
	if err != nil {
		return 0, err
	}
	outNames := []string{outLogits}
	for _, p := range c.m.pastNames {
		outNames = append(outNames, presentName(p))
	}
	outs, err := c.m.Decoder.Run(ctx, inputs, outNames)
	if err != nil {
		return 0, fmt.Errorf("decoder: %w", err)
	}
	logits := outs[outLogits]
	defer logits.Release()
	c.swapCache(outs)
	c.ids = append(c.ids, ids...)
	c.pending = nil

	last, vocab, err := lastLogitsRow(logits.Shape(), len(ids))
	if err != nil {
		return 0, err
	}
	row, err := logits.Float32s(last*vocab, vocab)
	if err != nil {
		return 0, fmt.Errorf("read logits: %w", err)
	}
	if noEOS {
		for _, id := range c.m.Dims.EOSTokenIDs {
			if id >= 0 && int(id) < len(row) {
				row[id] = float32(math.Inf(-1))
			}
		}
	}
	return sampler.Next(row), nil
}

// decoderInputs builds attention_mask, position_ids and the cache inputs. The
// tensors it creates are returned in owned, for the caller to release after
// the run.
func (c *Conversation) decoderInputs(embeds engine.Tensor, seq int) (inputs map[string]engine.Tensor, owned []engine.Tensor, err error) {
	past := len(c.ids)
	mask := make([]int64, past+seq)
	for i := range mask {
		mask[i] = 1
	}
	positions := make([]int64, seq)
	for i := range positions {
		positions[i] = int64(past + i)
	}
	inputs = map[string]engine.Tensor{inInputsEmbeds: embeds}
	newTensor := func(name string, d engine.DType, shape []int64, data any) error {
		t, err := c.m.Engine.NewTensor(d, shape, data)
		if err != nil {
			return fmt.Errorf("decoder input %s: %w", name, err)
		}
		inputs[name] = t
		owned = append(owned, t)
		return nil
	}
	if err := newTensor(inAttentionMask, engine.Int64, []int64{1, int64(past + seq)}, mask); err != nil {
		return nil, owned, err
	}
	if err := newTensor(inPositionIDs, engine.Int64, []int64{1, int64(seq)}, positions); err != nil {
		return nil, owned, err
	}
	for _, name := range c.m.pastNames {
		if t, ok := c.past[name]; ok {
			inputs[name] = t
			continue
		}
		info, _ := engine.Find(c.m.Decoder.Inputs(), name)
		shape := []int64{1, int64(c.m.Dims.NumKVHeads), 0, int64(c.m.Dims.HeadDim)}
		if err := newTensor(name, info.DType, shape, emptyData(info.DType)); err != nil {
			return nil, owned, err
		}
	}
	return inputs, owned, nil
}

func releaseAll(ts []engine.Tensor) {
	for _, t := range ts {
		t.Release()
	}
}

func emptyData(d engine.DType) any {
	if d == engine.Float16 {
		return []uint16{}
	}
	return []float32{}
}

// lastLogitsRow locates the last position's row in logits of the given
// shape: [1, seq, vocab] from the public export, or [1, 1, vocab] from a
// decoder rewritten to compute only the last position (package onnxedit).
func lastLogitsRow(shape []int64, seq int) (row, vocab int, err error) {
	if len(shape) != 3 || shape[0] != 1 || (shape[1] != int64(seq) && shape[1] != 1) {
		return 0, 0, fmt.Errorf("decoder logits have shape %v, want [1, %d, vocab] or [1, 1, vocab]", shape, seq)
	}
	return int(shape[1]) - 1, int(shape[2]), nil
}

// swapCache releases the cache that fed this step and keeps its outputs
// present.* as the next step's past_key_values.*, without reading them.
func (c *Conversation) swapCache(outs map[string]engine.Tensor) {
	for _, name := range c.m.pastNames {
		if old, ok := c.past[name]; ok {
			old.Release()
		}
		c.past[name] = outs[presentName(name)]
	}
}
