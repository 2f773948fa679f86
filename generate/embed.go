package generate

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
)

// embedIDs runs embed_tokens on ids and returns inputs_embeds [1, n, hidden],
// converted to the decoder's element type when the two files disagree.
func (c *Conversation) embedIDs(ctx context.Context, ids []int64) (engine.Tensor, error) {
	out, err := c.runEmbed(ctx, ids)
	if err != nil {
		return nil, err
	}
	want := c.decoderEmbedsType()
	if out.DType() == want {
		return out, nil // stays wherever the engine keeps it
	}
	defer out.Release()
	host, err := out.Float32s(0, len(ids)*c.m.Dims.HiddenSize)
	if err != nil {
		return nil, fmt.Errorf("read embeddings: %w", err)
	}
	return c.m.Engine.NewTensor(want, out.Shape(), host)
}

func (c *Conversation) runEmbed(ctx context.Context, ids []int64) (engine.Tensor, error) {
	idsT, err := c.m.Engine.NewTensor(engine.Int64, []int64{1, int64(len(ids))}, ids)
	if err != nil {
		return nil, err
	}
	defer idsT.Release()
	outs, err := c.m.Embed.Run(ctx, map[string]engine.Tensor{inInputIDs: idsT}, []string{outInputsEmbeds})
	if err != nil {
		return nil, fmt.Errorf("embed_tokens: %w", err)
	}
	out := outs[outInputsEmbeds]
	if s := out.Shape(); len(s) != 3 || s[1] != int64(len(ids)) || s[2] != int64(c.m.Dims.HiddenSize) {
		out.Release()
		return nil, fmt.Errorf("embed_tokens returned shape %v, want [1, %d, %d]", s, len(ids), c.m.Dims.HiddenSize)
	}
	return out, nil
}

func (c *Conversation) decoderEmbedsType() engine.DType {
	info, _ := engine.Find(c.m.Decoder.Inputs(), inInputsEmbeds)
	return info.DType
}

// embedPrompt embeds ids and, when they hold image tokens, runs the vision
// encoder and writes its feature rows over the embeddings at the image token
// positions, in order (Idefics3Model.inputs_merger).
func (c *Conversation) embedPrompt(ctx context.Context, ids []int64, images []Image, res *Result) (engine.Tensor, error) {
	positions := imagePositions(ids, c.m.Dims.ImageTokenID)
	if len(positions) == 0 {
		if len(images) > 0 {
			return nil, fmt.Errorf("%d images given but the prompt has no image tokens", len(images))
		}
		return c.embedIDs(ctx, ids)
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("the prompt has %d image tokens but no image was given", len(positions))
	}
	start := time.Now()
	features, runs, err := c.m.encodeImages(ctx, images)
	if err != nil {
		return nil, err
	}
	if runs > 0 {
		res.Timings.Vision = time.Since(start)
	}
	res.VisionRuns += runs
	hidden := c.m.Dims.HiddenSize
	if len(features) != len(positions)*hidden {
		return nil, fmt.Errorf("the prompt has %d image tokens but the images have %g feature rows of %d values",
			len(positions), float64(len(features))/float64(hidden), hidden)
	}

	out, err := c.runEmbed(ctx, ids)
	if err != nil {
		return nil, err
	}
	embeds, err := out.Float32s(0, len(ids)*hidden)
	out.Release()
	if err != nil {
		return nil, fmt.Errorf("read embeddings: %w", err)
	}
	for i, p := range positions {
		copy(embeds[p*hidden:(p+1)*hidden], features[i*hidden:(i+1)*hidden])
	}
	return c.m.Engine.NewTensor(c.decoderEmbedsType(), []int64{1, int64(len(ids)), int64(hidden)}, embeds)
}

func imagePositions(ids []int64, imageToken int64) []int {
	var pos []int
	for i, id := range ids {
		if id == imageToken {
			pos = append(pos, i)
		}
	}
	return pos
}

// encodeImages concatenates the feature rows of images ([tiles, tokens per
// tile, hidden] each, as float32): an image's Features where it has them,
// else the vision encoder's; runs counts the encoder's runs.
func (m *Model) encodeImages(ctx context.Context, images []Image) (all []float32, runs int, err error) {
	for _, img := range images {
		f := img.Features
		if f == nil {
			if f, err = m.EncodeImage(ctx, img); err != nil {
				return nil, runs, err
			}
			runs++
		}
		all = append(all, f...)
	}
	return all, runs, nil
}

// EncodeImage runs the vision encoder on img's pixels and returns its
// feature rows, [tiles · tokens per tile · hidden] float32 values: what a
// later generation takes as the image's Features, for a picture encoded
// before its question (while the person types).
//
// The tiles go through the encoder TilesPerRun at a time (0: all in one
// run), and ctx is checked between runs, so Stop ends a long encoding at
// the next tile.
func (m *Model) EncodeImage(ctx context.Context, img Image) ([]float32, error) {
	if m.Vision == nil {
		return nil, fmt.Errorf("this model was loaded without a vision encoder")
	}
	tiles := img.Shape[0] * img.Shape[1]
	per := int64(m.TilesPerRun)
	if per <= 0 || per > tiles {
		per = tiles
	}
	tileValues := img.Shape[2] * img.Shape[3] * img.Shape[4]
	tileMask := img.Shape[3] * img.Shape[4]
	if int64(len(img.PixelValues)) != tiles*tileValues || int64(len(img.Mask)) != tiles*tileMask {
		return nil, fmt.Errorf("pixel values: %d values and %d mask entries for shape %v", len(img.PixelValues), len(img.Mask), img.Shape)
	}
	var all []float32
	for first := int64(0); first < tiles; first += per {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(per, tiles-first)
		f, err := m.encodeTiles(ctx,
			img.PixelValues[first*tileValues:(first+n)*tileValues], img.Mask[first*tileMask:(first+n)*tileMask],
			[]int64{1, n, img.Shape[2], img.Shape[3], img.Shape[4]})
		if err != nil {
			return nil, err
		}
		all = append(all, f...)
	}
	return all, nil
}

// encodeTiles runs the vision encoder once, on pixel values of shape
// [1, tiles, channels, height, width] and their mask.
func (m *Model) encodeTiles(ctx context.Context, values []float32, mask []bool, shape []int64) ([]float32, error) {
	pvInfo, _ := engine.Find(m.Vision.Inputs(), inPixelValues)
	pv, err := m.Engine.NewTensor(pvInfo.DType, shape, values)
	if err != nil {
		return nil, fmt.Errorf("pixel values: %w", err)
	}
	defer pv.Release()
	mt, err := m.Engine.NewTensor(engine.Bool, []int64{shape[0], shape[1], shape[3], shape[4]}, mask)
	if err != nil {
		return nil, fmt.Errorf("pixel attention mask: %w", err)
	}
	defer mt.Release()
	outs, err := m.Vision.Run(ctx, map[string]engine.Tensor{inPixelValues: pv, inPixelMask: mt}, []string{outImageFeats})
	if err != nil {
		return nil, fmt.Errorf("vision encoder: %w", err)
	}
	feats := outs[outImageFeats]
	defer feats.Release()
	n, err := engine.NumElements(feats.Shape())
	if err != nil {
		return nil, err
	}
	return feats.Float32s(0, n)
}
