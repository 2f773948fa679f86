//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"testing"

	"github.com/pocketvlm/smolvlm/engine"
)

// BenchmarkDecoderStep measures one cached decoder step (one new token after
// a 32-token prefill) per fixture variant, including reading the last
// logits row as float32, as a greedy loop does.
func BenchmarkDecoderStep(b *testing.B) {
	e, dir, cfg := setup(b)
	const past = 32
	for _, v := range variants {
		b.Run("decoder"+v, func(b *testing.B) {
			emb := load(b, e, dir, "embed_tokens"+v)
			dec := load(b, e, dir, "decoder_model_merged"+v)
			cache := run(b, dec, "", decoderInputs(b, e, dec, cfg, embed(b, e, emb, iota64(1, past)), nil, 0))
			in := decoderInputs(b, e, dec, cfg, embed(b, e, emb, []int64{42}), cache, past)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				out, err := dec.Run(ctx, in, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := out["logits"].Float32s(0, cfg.Vocab); err != nil {
					b.Fatal(err)
				}
				releaseAll(out)
			}
		})
	}
}

func releaseAll(m map[string]engine.Tensor) {
	for _, t := range m {
		t.Release()
	}
}
