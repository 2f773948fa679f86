package pipeline_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/pipeline"
)

// Names of the public SmolVLM ONNX export that the faults touch.
const (
	inputsEmbeds  = "inputs_embeds" // embed_tokens output and decoder input
	attentionMask = "attention_mask"
	positionIDs   = "position_ids"
	pastPrefix    = "past_key_values."
)

// faults are the three classic bugs of a VLM generation loop. injectFaults
// makes them happen from outside the loop, by wrapping the loaded sessions,
// so that the production loop carries no switch for them.
type faults struct {
	SkipMerge     bool // the decoder gets embed_tokens' output, without the image features
	ZeroPositions bool // position_ids restart at 0 on every decoder run
	DropCache     bool // every decoder run gets an empty past and a mask of its own tokens only
}

// injectFaults puts sessions that inject f's bugs in place of p's embed and
// decoder sessions, and returns the function that puts the loaded ones back.
// The generation loop reads the sessions from the model on every run, so a
// chat opened before or after sees the wrapped ones until restore.
func injectFaults(p *pipeline.Pipeline, f faults) (restore func()) {
	m := p.Model
	embed, dec := m.Embed, m.Decoder
	faulty := &faultyDecoder{Session: dec, eng: m.Engine, f: f}
	if f.SkipMerge {
		faulty.embeds = &embedRecorder{Session: embed}
		m.Embed = faulty.embeds
	}
	m.Decoder = faulty
	return func() { m.Embed, m.Decoder = embed, dec }
}

// embedRecorder is an embed_tokens session that keeps a host copy of its
// last output: the embeddings of the prompt before any image feature is
// merged in.
type embedRecorder struct {
	engine.Session
	last  []float32
	shape []int64
}

// Run runs embed_tokens and copies its inputs_embeds to the host.
func (s *embedRecorder) Run(ctx context.Context, in map[string]engine.Tensor, out []string) (map[string]engine.Tensor, error) {
	outs, err := s.Session.Run(ctx, in, out)
	if err != nil {
		return nil, err
	}
	if err := s.record(outs[inputsEmbeds]); err != nil {
		releaseOutputs(outs)
		return nil, fmt.Errorf("record embeddings: %w", err)
	}
	return outs, nil
}

func (s *embedRecorder) record(t engine.Tensor) error {
	if t == nil {
		return fmt.Errorf("no output %s", inputsEmbeds)
	}
	n, err := engine.NumElements(t.Shape())
	if err != nil {
		return err
	}
	last, err := t.Float32s(0, n)
	if err != nil {
		return err
	}
	s.last, s.shape = last, slices.Clone(t.Shape())
	return nil
}

func releaseOutputs(outs map[string]engine.Tensor) {
	for _, t := range outs {
		t.Release()
	}
}

// faultyDecoder is a decoder session that rewrites its inputs before each
// run as f says. The caller's tensors are left alone: the ones it passes
// and the wrapper replaces stay the caller's to release, and the ones the
// wrapper makes are released after the run.
type faultyDecoder struct {
	engine.Session
	eng    engine.Engine
	f      faults
	embeds *embedRecorder // set with f.SkipMerge
}

// Run runs the decoder on the rewritten inputs.
func (s *faultyDecoder) Run(ctx context.Context, in map[string]engine.Tensor, out []string) (map[string]engine.Tensor, error) {
	r := &rewrite{eng: s.eng, in: maps.Clone(in)}
	defer r.release()
	if err := s.inject(r); err != nil {
		return nil, fmt.Errorf("inject %+v: %w", s.f, err)
	}
	return s.Session.Run(ctx, r.in, out)
}

func (s *faultyDecoder) inject(r *rewrite) error {
	embeds, ok := r.in[inputsEmbeds]
	if !ok || len(embeds.Shape()) != 3 {
		return fmt.Errorf("no %s [1, seq, hidden] among the decoder inputs", inputsEmbeds)
	}
	seq := embeds.Shape()[1]
	if s.f.SkipMerge {
		if !slices.Equal(embeds.Shape(), s.embeds.shape) {
			return fmt.Errorf("decoder %s has shape %v, the last embed_tokens output %v", inputsEmbeds, embeds.Shape(), s.embeds.shape)
		}
		if err := r.set(inputsEmbeds, embeds.DType(), embeds.Shape(), s.embeds.last); err != nil {
			return err
		}
	}
	if s.f.ZeroPositions {
		if err := r.set(positionIDs, engine.Int64, []int64{1, seq}, count(seq, func(i int) int64 { return int64(i) })); err != nil {
			return err
		}
	}
	if s.f.DropCache {
		return dropCache(r, seq)
	}
	return nil
}

// dropCache gives every past_key_values.* input no positions, and the
// attention mask only the run's own seq tokens.
func dropCache(r *rewrite, seq int64) error {
	if err := r.set(attentionMask, engine.Int64, []int64{1, seq}, count(seq, func(int) int64 { return 1 })); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(r.in)) {
		if !strings.HasPrefix(name, pastPrefix) {
			continue
		}
		t := r.in[name]
		sh := t.Shape()
		if len(sh) != 4 {
			return fmt.Errorf("decoder input %s has shape %v, want [1, kv_heads, past, head_dim]", name, sh)
		}
		if err := r.set(name, t.DType(), []int64{sh[0], sh[1], 0, sh[3]}, emptyData(t.DType())); err != nil {
			return err
		}
	}
	return nil
}

// count returns n values, the i-th being v(i).
func count(n int64, v func(i int) int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v(i)
	}
	return out
}

// emptyData is no elements of type d, as NewTensor takes them.
func emptyData(d engine.DType) any {
	if d == engine.Float16 {
		return []uint16{}
	}
	return []float32{}
}

// rewrite is one run's inputs with some replaced by tensors it owns.
type rewrite struct {
	eng   engine.Engine
	in    map[string]engine.Tensor
	owned []engine.Tensor
}

// set replaces input name by a new tensor of the given type, shape and data.
func (r *rewrite) set(name string, d engine.DType, shape []int64, data any) error {
	t, err := r.eng.NewTensor(d, shape, data)
	if err != nil {
		return fmt.Errorf("decoder input %s: %w", name, err)
	}
	r.in[name] = t
	r.owned = append(r.owned, t)
	return nil
}

// release frees the tensors set made.
func (r *rewrite) release() {
	for _, t := range r.owned {
		t.Release()
	}
}
