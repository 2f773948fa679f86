// Package idefics3 is the Idefics3 (SmolVLM) image processor: it turns one
// RGB picture into the vision encoder's pixel_values and
// pixel_attention_mask, reproducing Transformers v5's PIL backend
// (models/idefics3/image_processing_pil_idefics3.py,
// Idefics3ImageProcessorPil) bit for bit: the same output sizes computed
// with Python float semantics, the same Pillow resampling
// (imageproc.Resize), the same tiling and the same float32 arithmetic for
// rescale and normalize.
package idefics3

import (
	"errors"
	"fmt"
	"math"

	"github.com/pocketvlm/smolvlm/imageproc"
)

// MaxImageSize is the reference's absolute cap on the longest edge after the
// first resize (MAX_IMAGE_SIZE = 4096, "4k resolution as absolute maximum").
// It is part of the algorithm, not a configuration value.
const MaxImageSize = 4096

// minLen is _resize_output_size_rescale_to_max_len's default min_len.
const minLen = 1

// maxResizePixels bounds any intermediate image (3 bytes a pixel), so that
// absurd options or inputs fail with an error instead of exhausting memory.
const maxResizePixels = 1 << 28

// Options are the image processor's settings; every field comes from
// preprocessor_config.json.
type Options struct {
	DoResize    bool
	LongestEdge int // size.longest_edge

	DoImageSplitting bool
	TileSize         int // max_image_size.longest_edge

	Resample imageproc.Filter // "resample", a Pillow filter number

	DoRescale     bool
	RescaleFactor float64 // rescale_factor

	DoNormalize bool
	Mean, Std   [3]float64 // image_mean, image_std
}

// Result is the processed image (batch of one image).
type Result struct {
	// Tiles are the uint8 frames before rescale/normalize: when split, the
	// row-major tiles followed by the global image; otherwise the single
	// resized image.
	Tiles []*imageproc.RGB
	// Rows and Cols are the split grid; 0, 0 when the image was not split.
	Rows, Cols int
	// PixelValues is the float32 tensor [1, n, 3, H, W] in row-major order,
	// padded with zeros to the largest frame.
	PixelValues []float32
	// PixelAttentionMask is [1, n, H, W]: true where a frame has pixels.
	PixelAttentionMask []bool
	// Shape is PixelValues' shape: [1, n, 3, H, W].
	Shape [5]int64
}

// Preprocess runs the reference's _preprocess on one image: resize so the
// longest edge is LongestEdge (do_resize), then either split into
// TileSize×TileSize tiles plus a global TileSize×TileSize image
// (do_image_splitting) or resize to TileSize×TileSize, then rescale,
// normalize and pad. It returns an error, never panics, on an empty or
// inconsistent image or invalid options.
func Preprocess(img *imageproc.RGB, opts Options) (*Result, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	var err error
	if opts.DoResize {
		if img, err = resizeLongestEdge(img, opts.LongestEdge, opts.Resample); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	if opts.DoImageSplitting {
		if img, err = resizeForVisionEncoder(img, opts.TileSize, opts.Resample); err != nil {
			return nil, err
		}
		if res.Tiles, res.Rows, res.Cols, err = splitImage(img, opts.TileSize, opts.Resample); err != nil {
			return nil, err
		}
	} else {
		if img, err = resize(img, opts.TileSize, opts.TileSize, opts.Resample); err != nil {
			return nil, fmt.Errorf("idefics3: resize to %d×%d: %w", opts.TileSize, opts.TileSize, err)
		}
		res.Tiles = []*imageproc.RGB{img}
	}
	res.PixelValues, res.PixelAttentionMask, res.Shape = rescaleNormalizePad(res.Tiles, opts)
	return res, nil
}

// checkImage rejects nil, empty and inconsistent images.
func checkImage(img *imageproc.RGB) error {
	if img == nil {
		return errors.New("idefics3: nil image")
	}
	if img.Width < 1 || img.Height < 1 {
		return fmt.Errorf("idefics3: empty image (%d×%d)", img.Width, img.Height)
	}
	if img.Width > math.MaxInt32/img.Height {
		return fmt.Errorf("idefics3: image %d×%d is too large", img.Width, img.Height)
	}
	if len(img.Pix) != img.Width*img.Height*3 {
		return fmt.Errorf("idefics3: image %d×%d has %d bytes, want %d", img.Width, img.Height, len(img.Pix), img.Width*img.Height*3)
	}
	return nil
}

// validate checks the options the algorithm divides by or sizes with.
func (o Options) validate() error {
	if _, err := imageproc.ParseFilter(int(o.Resample)); err != nil {
		return fmt.Errorf("idefics3: resample: %w", err)
	}
	if o.DoResize && o.LongestEdge < 1 {
		return fmt.Errorf("idefics3: size.longest_edge must be ≥ 1, got %d", o.LongestEdge)
	}
	if o.TileSize < 1 {
		return fmt.Errorf("idefics3: max_image_size.longest_edge must be ≥ 1, got %d", o.TileSize)
	}
	if o.DoRescale && (math.IsNaN(o.RescaleFactor) || math.IsInf(o.RescaleFactor, 0)) {
		return fmt.Errorf("idefics3: rescale_factor must be finite, got %v", o.RescaleFactor)
	}
	if o.DoNormalize {
		for c := range 3 {
			m, s := o.Mean[c], o.Std[c]
			if math.IsNaN(m) || math.IsInf(m, 0) || s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				return fmt.Errorf("idefics3: image_mean/image_std[%d] = %v/%v: mean must be finite and std finite and non-zero", c, m, s)
			}
		}
	}
	return nil
}

// resize is the PIL backend's resize to exactly width×height (Pillow's
// Image.resize, which copies when the size is unchanged).
func resize(img *imageproc.RGB, width, height int, f imageproc.Filter) (*imageproc.RGB, error) {
	if width < 1 || height < 1 {
		return nil, fmt.Errorf("cannot resize %d×%d to %d×%d: height and width must be > 0", img.Width, img.Height, width, height)
	}
	if width > maxResizePixels/height {
		return nil, fmt.Errorf("cannot resize %d×%d to %d×%d: more than %d pixels", img.Width, img.Height, width, height, maxResizePixels)
	}
	out := imageproc.Resize(img, width, height, f)
	if out == nil {
		return nil, fmt.Errorf("resize %d×%d to %d×%d with %v failed", img.Width, img.Height, width, height, f)
	}
	return out, nil
}

// resizeLongestEdge is the reference's resize with size={"longest_edge"}:
// get_resize_output_image_size, then a Pillow resize.
func resizeLongestEdge(img *imageproc.RGB, longestEdge int, f imageproc.Filter) (*imageproc.RGB, error) {
	h, w := resizeOutputSizeRescaleToMaxLen(img.Height, img.Width, longestEdge)
	h, w = resizeOutputSizeScaleBelowUpperBound(h, w, MaxImageSize)
	out, err := resize(img, w, h, f)
	if err != nil {
		return nil, fmt.Errorf("idefics3: resize to longest edge %d: %w", longestEdge, err)
	}
	return out, nil
}

// resizeOutputSizeRescaleToMaxLen is _resize_output_size_rescale_to_max_len
// (min_len 1): scale the longest edge to maxLen (up or down), keep the
// aspect ratio by truncation, and make the other edge even.
func resizeOutputSizeRescaleToMaxLen(height, width, maxLen int) (int, int) {
	aspect := float64(width) / float64(height)
	if width >= height {
		width = maxLen
		height = int(float64(width) / aspect)
		if height%2 != 0 {
			height++
		}
	} else {
		height = maxLen
		width = int(float64(height) * aspect)
		if width%2 != 0 {
			width++
		}
	}
	return max(height, minLen), max(width, minLen)
}

// resizeOutputSizeScaleBelowUpperBound is
// _resize_output_size_scale_below_upper_bound: shrink so that the longest
// edge is at most maxLen, keeping the aspect ratio by truncation.
func resizeOutputSizeScaleBelowUpperBound(height, width, maxLen int) (int, int) {
	aspect := float64(width) / float64(height)
	if width >= height && width > maxLen {
		width = maxLen
		height = int(float64(width) / aspect)
	} else if height > width && height > maxLen {
		height = maxLen
		width = int(float64(height) * aspect)
	}
	return max(height, 1), max(width, 1)
}

// resizeForVisionEncoder is resize_for_vision_encoder: round the longest
// edge up to a multiple of tile, derive the other from the aspect ratio
// (truncated) and round it up to a multiple of tile too, then resize.
func resizeForVisionEncoder(img *imageproc.RGB, tile int, f imageproc.Filter) (*imageproc.RGB, error) {
	h, w := visionEncoderSize(img.Height, img.Width, tile)
	out, err := resize(img, w, h, f)
	if err != nil {
		return nil, fmt.Errorf("idefics3: resize for vision encoder (tile %d): %w", tile, err)
	}
	return out, nil
}

// visionEncoderSize is resize_for_vision_encoder's size computation.
func visionEncoderSize(height, width, tile int) (int, int) {
	aspect := float64(width) / float64(height)
	if width >= height {
		width = ceilMultiple(float64(width), tile)
		height = int(float64(width) / aspect)
		height = ceilMultiple(float64(height), tile)
	} else {
		height = ceilMultiple(float64(height), tile)
		width = int(float64(height) * aspect)
		width = ceilMultiple(float64(width), tile)
	}
	return height, width
}

// ceilMultiple is math.ceil(v / tile) * tile with Python's true division.
func ceilMultiple(v float64, tile int) int {
	return int(math.Ceil(v/float64(tile))) * tile
}

// splitImage is split_images: when the image exceeds tile×tile it is cut
// into row-major tile×tile crops followed by the whole image resized to
// tile×tile (the global image); otherwise it is the only frame and the grid
// is 0×0.
func splitImage(img *imageproc.RGB, tile int, f imageproc.Filter) (frames []*imageproc.RGB, rows, cols int, err error) {
	if img.Height <= tile && img.Width <= tile {
		return []*imageproc.RGB{img}, 0, 0, nil
	}
	rows = floorDiv(img.Height-tile, tile) + 1
	cols = floorDiv(img.Width-tile, tile) + 1
	frames = make([]*imageproc.RGB, 0, rows*cols+1)
	for r := range rows {
		for c := range cols {
			x0, y0 := c*tile, r*tile
			frames = append(frames, cropClipped(img, x0, y0, x0+tile, y0+tile))
		}
	}
	global, err := resize(img, tile, tile, f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("idefics3: global image: %w", err)
	}
	return append(frames, global), rows, cols, nil
}

// cropClipped is numpy slicing image[:, y0:y1, x0:x1]: the rectangle clipped
// to the image (a crop never extends past the image when the size is a
// multiple of the tile, as resize_for_vision_encoder makes it).
func cropClipped(img *imageproc.RGB, x0, y0, x1, y1 int) *imageproc.RGB {
	return img.Crop(x0, y0, min(x1, img.Width), min(y1, img.Height))
}

// floorDiv is Python's // for a positive divisor.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// rescaleNormalizePad applies rescale (float64 product, stored as float32),
// normalize (float32 (x - mean) / std) and zero padding to the largest
// frame, returning pixel_values, pixel_attention_mask and the shape.
func rescaleNormalizePad(frames []*imageproc.RGB, opts Options) ([]float32, []bool, [5]int64) {
	maxH, maxW := 0, 0
	for _, f := range frames {
		maxH, maxW = max(maxH, f.Height), max(maxW, f.Width)
	}
	lut := pixelLUT(opts)
	plane := maxH * maxW
	values := make([]float32, len(frames)*3*plane)
	mask := make([]bool, len(frames)*plane)
	for i, f := range frames {
		chw := values[i*3*plane : (i+1)*3*plane]
		m := mask[i*plane : (i+1)*plane]
		for y := 0; y < f.Height; y++ {
			row := f.Pix[y*f.Width*3 : (y+1)*f.Width*3]
			for x := 0; x < f.Width; x++ {
				p := y*maxW + x
				chw[p] = lut[0][row[3*x]]
				chw[plane+p] = lut[1][row[3*x+1]]
				chw[2*plane+p] = lut[2][row[3*x+2]]
				m[p] = true
			}
		}
	}
	shape := [5]int64{1, int64(len(frames)), 3, int64(maxH), int64(maxW)}
	return values, mask, shape
}

// pixelLUT tabulates, per channel, the float32 value of every byte after
// rescale and normalize, with the reference's numpy arithmetic:
// rescale is (u8 as float64 · factor) cast to float32; normalize is
// (x − float32(mean)) / float32(std) in float32.
func pixelLUT(opts Options) [3][256]float32 {
	var lut [3][256]float32
	for c := range 3 {
		mean, std := float32(opts.Mean[c]), float32(opts.Std[c])
		for v := range 256 {
			x := float32(v)
			if opts.DoRescale {
				x = float32(float64(v) * opts.RescaleFactor)
			}
			if opts.DoNormalize {
				x = float32(x-mean) / std
			}
			lut[c][v] = x
		}
	}
	return lut
}
