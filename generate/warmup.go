package generate

import (
	"context"
	"fmt"
)

// WarmUp runs the sessions once on placeholder inputs, so that the first
// question does not pay for what a first run costs: on WebGPU the shaders
// of every kernel are compiled then, on every backend the first buffers are
// allocated. The embeddings and the decoder see a two-token prefill and one
// decode step; the vision encoder, when tile > 0, one blank tile of
// tile × tile pixels. Nothing of it is kept.
func (m *Model) WarmUp(ctx context.Context, tile int) error {
	c := m.NewConversation()
	defer c.Close()
	if tile > 0 && m.Vision != nil {
		n := tile * tile
		mask := make([]bool, n)
		for i := range mask {
			mask[i] = true
		}
		img := Image{PixelValues: make([]float32, 3*n), Mask: mask, Shape: [5]int64{1, 1, 3, int64(tile), int64(tile)}}
		if _, err := m.EncodeImage(ctx, img); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	if _, err := c.Generate(ctx, []int64{0, 1}, nil, Options{MaxNewTokens: 2}); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}
