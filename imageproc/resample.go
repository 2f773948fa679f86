package imageproc

// This file ports Pillow's Image.resize for 8-bit RGB images
// (src/PIL/Image.py Image.resize, src/_imaging.c _resize,
// src/libImaging/Resample.c and the nearest-neighbour scale of
// src/libImaging/Geometry.c). The output is byte-identical to Pillow's for the
// whole-image case (no box, no reducing_gap): the same double-precision filter
// weights, the same fixed-point rounding, the same pass order and the same
// intermediate clipping to 8 bits.

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Filter is a resampling filter, numbered as Pillow's Image.Resampling (the
// integer stored as "resample" in Hugging Face preprocessor configs).
type Filter int

// Pillow's Image.Resampling values.
const (
	Nearest  Filter = 0
	Lanczos  Filter = 1
	Bilinear Filter = 2
	Bicubic  Filter = 3
	Box      Filter = 4
	Hamming  Filter = 5
)

// String returns Pillow's name of the filter.
func (f Filter) String() string {
	switch f {
	case Nearest:
		return "NEAREST"
	case Lanczos:
		return "LANCZOS"
	case Bilinear:
		return "BILINEAR"
	case Bicubic:
		return "BICUBIC"
	case Box:
		return "BOX"
	case Hamming:
		return "HAMMING"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// valid reports whether f is one of Pillow's six resampling filters.
func (f Filter) valid() bool { return f >= Nearest && f <= Hamming }

// ParseFilter converts a Pillow resample number (as found in
// preprocessor_config.json) into a Filter. Every filter Pillow's
// Image.resize accepts is supported.
func ParseFilter(pilResample int) (Filter, error) {
	f := Filter(pilResample)
	if !f.valid() {
		return 0, fmt.Errorf("imageproc: unsupported PIL resample value %d (want 0..5: NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING)", pilResample)
	}
	return f, nil
}

// Resize returns src resized to width×height the way Pillow's
// Image.resize((width, height), resample=f) does on an "RGB" image, byte for
// byte. As in Pillow, an unchanged size returns a copy, Nearest is Pillow's
// affine nearest-neighbour scale, and the other filters are the two-pass
// separable convolution (horizontal pass first, except for images more than
// 100 times taller than wide that get shorter, which Pillow ≥ 12.2 resizes
// vertically first).
//
// Resize returns nil when src is nil or inconsistent (Pix shorter than
// Width×Height×3, a zero dimension), when width or height is below 1, when
// width×height exceeds 2^31-1 pixels or when f is not a Pillow filter;
// callers that take sizes from outside validate them first.
func Resize(src *RGB, width, height int, f Filter) *RGB {
	if !validImage(src) || width < 1 || height < 1 || width > math.MaxInt32/height || !f.valid() {
		return nil
	}
	if width == src.Width && height == src.Height {
		return src.Crop(0, 0, src.Width, src.Height) // Image.resize: self.copy()
	}
	if f == Nearest {
		return resizeNearest(src, width, height)
	}
	if src.Height > src.Width*tallRatio && height < src.Height {
		return resizeTall(src, width, height, f)
	}
	return resampleInner(src, width, height, f)
}

// validImage reports whether m is non-nil, non-empty, at most 2^31-1
// pixels and has enough bytes.
func validImage(m *RGB) bool {
	return m != nil && m.Width > 0 && m.Height > 0 && m.Width <= math.MaxInt32/m.Height &&
		len(m.Pix) >= m.Width*m.Height*rgbBytes
}

const (
	rgbBytes = 3

	// precisionBits is Pillow's PRECISION_BITS (32 - 8 - 2): fixed-point
	// fraction bits of the 8-bit resampling weights, leaving room for the
	// 8-bit sample and two bits of overshoot of negative-lobed filters.
	precisionBits = 32 - 8 - 2

	// roundHalf is the accumulator's initial value, 1 << (PRECISION_BITS-1):
	// adding half a unit before the arithmetic shift rounds to nearest.
	roundHalf = 1 << (precisionBits - 1)

	// tallRatio: Image.resize resizes vertically first when
	// height > width*100 and the height shrinks (Pillow ≥ 12.2.0,
	// "Resize tall images vertically first").
	tallRatio = 100
)

// resampleInner is ImagingResampleInner for a whole-image box: the
// horizontal pass (restricted to the source rows the vertical pass reads,
// ybox_first..ybox_last) into an 8-bit intermediate, then the vertical pass.
// A pass whose size is unchanged is skipped.
func resampleInner(src *RGB, width, height int, f Filter) *RGB {
	needHorizontal := width != src.Width
	needVertical := height != src.Height
	vert := coeffsFor(src.Height, height, f)
	yFirst := vert.bounds[0]
	yLast := vert.bounds[2*height-2] + vert.bounds[2*height-1]

	img := src
	shift := 0
	if needHorizontal {
		img = resampleHorizontal(src, yFirst, yLast-yFirst, coeffsFor(src.Width, width, f))
		shift = yFirst
	}
	if needVertical {
		img = resampleVertical(img, shift, vert)
	}
	if img == src {
		return src.Crop(0, 0, src.Width, src.Height) // ImagingCopy
	}
	return img
}

// resizeTall mirrors Image.resize's branch for very tall images: a
// vertical-only resize followed by a horizontal-only one.
func resizeTall(src *RGB, width, height int, f Filter) *RGB {
	img := resampleVertical(src, 0, coeffsFor(src.Height, height, f))
	if width != src.Width {
		img = resampleHorizontal(img, 0, img.Height, coeffsFor(src.Width, width, f))
	}
	return img
}

// kernel is Pillow's struct filter: a weight function and its support
// (half-width) at scale 1.
type kernel struct {
	fn      func(x float64) float64
	support float64
}

func (f Filter) kernel() kernel {
	switch f {
	case Box:
		return kernel{boxFilter, 0.5}
	case Bilinear:
		return kernel{bilinearFilter, 1}
	case Hamming:
		return kernel{hammingFilter, 1}
	case Bicubic:
		return kernel{bicubicFilter, 2}
	default:
		return kernel{lanczosFilter, 3}
	}
}

// The filter functions follow Resample.c exactly, including evaluation
// order; explicit float64 conversions keep the compiler from fusing a
// multiply and an add into one FMA (Pillow's x86-64 build does not fuse).

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// Hamming's window constants are C float literals (0.54f, 0.46f) promoted
// to double.
var (
	hammingA = float64(float32(0.54))
	hammingB = float64(float32(0.46))
)

func hammingFilter(x float64) float64 {
	x = math.Abs(x)
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x *= math.Pi
	return math.Sin(x) / x * (hammingA + float64(hammingB*math.Cos(x)))
}

// bicubicA is the "a" of Keys' cubic convolution used by Pillow.
const bicubicA = -0.5

func bicubicFilter(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return float64(float64(float64((bicubicA+2)*x)-(bicubicA+3))*x*x) + 1
	}
	if x < 2 {
		return (float64(float64(float64(float64(x-5)*x)+8)*x) - 4) * bicubicA
	}
	return 0
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return sincFilter(x) * sincFilter(x/3)
	}
	return 0
}

// axisCoeffs holds one axis' resampling weights: for output index i,
// bounds[2i] is the first input index and bounds[2i+1] the number of inputs,
// whose fixed-point weights are k[i*ksize : i*ksize+bounds[2i+1]].
// Values are immutable once built and shared between goroutines.
type axisCoeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precomputeCoeffs is Resample.c's precompute_coeffs for the box
// [0, inSize) followed by normalize_coeffs_8bpc.
func precomputeCoeffs(inSize, outSize int, kern kernel) *axisCoeffs {
	// box[] is float in Pillow: in1-in0 is a float subtraction.
	in0, in1 := float32(0), float32(inSize)
	scale := float64(in1-in0) / float64(outSize)
	filterscale := max(scale, 1)
	support := kern.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1

	c := &axisCoeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	invFilterscale := 1 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(in0) + float64((float64(xx)+0.5)*scale)
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w[x] = kern.fn((float64(x+xmin) - center + 0.5) * invFilterscale)
			ww += w[x]
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			k[x] = fixedWeight(v)
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

// fixedWeight is normalize_coeffs_8bpc for one weight: scale by
// 2^PRECISION_BITS and round half away from zero (C's truncating cast of
// v±0.5).
func fixedWeight(v float64) int32 {
	if v < 0 {
		return int32(-0.5 + float64(v*(1<<precisionBits)))
	}
	return int32(0.5 + float64(v*(1<<precisionBits)))
}

// coeffsKey identifies a set of weights; they depend on nothing else.
type coeffsKey struct {
	in, out int
	f       Filter
}

// maxCachedCoeffs bounds the weight cache; it is emptied when full.
const maxCachedCoeffs = 64

var coeffsCache struct {
	sync.Mutex
	m map[coeffsKey]*axisCoeffs
}

// coeffsFor returns the (cached) weights for resampling an axis of inSize
// samples to outSize with filter f.
func coeffsFor(inSize, outSize int, f Filter) *axisCoeffs {
	key := coeffsKey{inSize, outSize, f}
	coeffsCache.Lock()
	c, ok := coeffsCache.m[key]
	coeffsCache.Unlock()
	if ok {
		return c
	}
	c = precomputeCoeffs(inSize, outSize, f.kernel())
	coeffsCache.Lock()
	if coeffsCache.m == nil || len(coeffsCache.m) >= maxCachedCoeffs {
		coeffsCache.m = make(map[coeffsKey]*axisCoeffs)
	}
	coeffsCache.m[key] = c
	coeffsCache.Unlock()
	return c
}

// clip8 is Resample.c's clip8: drop the fraction bits (arithmetic shift)
// and saturate to 0..255.
func clip8(ss int32) byte {
	v := ss >> precisionBits
	if uint32(v) <= 255 {
		return byte(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// resampleHorizontal is ImagingResampleHorizontal_8bpc: it resamples rows
// [offset, offset+rows) of src to len(c.bounds)/2 columns.
func resampleHorizontal(src *RGB, offset, rows int, c *axisCoeffs) *RGB {
	outW := len(c.bounds) / 2
	dst := NewRGB(outW, rows)
	inStride, outStride := src.Width*rgbBytes, outW*rgbBytes
	parallelRows(rows, outW*c.ksize, func(y0, y1 int) {
		for yy := y0; yy < y1; yy++ {
			in := src.Pix[(yy+offset)*inStride : (yy+offset+1)*inStride]
			out := dst.Pix[yy*outStride : (yy+1)*outStride]
			for xx := 0; xx < outW; xx++ {
				xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
				k := c.k[xx*c.ksize : xx*c.ksize+n]
				px := in[xmin*rgbBytes : (xmin+n)*rgbBytes]
				ss0, ss1, ss2 := int32(roundHalf), int32(roundHalf), int32(roundHalf)
				for len(k) >= 4 && len(px) >= 4*rgbBytes {
					w0, w1, w2, w3 := k[0], k[1], k[2], k[3]
					ss0 += int32(px[0])*w0 + int32(px[3])*w1 + int32(px[6])*w2 + int32(px[9])*w3
					ss1 += int32(px[1])*w0 + int32(px[4])*w1 + int32(px[7])*w2 + int32(px[10])*w3
					ss2 += int32(px[2])*w0 + int32(px[5])*w1 + int32(px[8])*w2 + int32(px[11])*w3
					k, px = k[4:], px[4*rgbBytes:]
				}
				for len(k) >= 2 && len(px) >= 2*rgbBytes {
					w0, w1 := k[0], k[1]
					ss0 += int32(px[0])*w0 + int32(px[3])*w1
					ss1 += int32(px[1])*w0 + int32(px[4])*w1
					ss2 += int32(px[2])*w0 + int32(px[5])*w1
					k, px = k[2:], px[2*rgbBytes:]
				}
				for len(k) > 0 && len(px) >= rgbBytes {
					w := k[0]
					ss0 += int32(px[0]) * w
					ss1 += int32(px[1]) * w
					ss2 += int32(px[2]) * w
					k, px = k[1:], px[rgbBytes:]
				}
				o := out[xx*rgbBytes : xx*rgbBytes+rgbBytes]
				o[0], o[1], o[2] = clip8(ss0), clip8(ss1), clip8(ss2)
			}
		}
	})
	return dst
}

// resampleVertical is ImagingResampleVertical_8bpc: it resamples the
// columns of src to len(c.bounds)/2 rows; shift is subtracted from the
// source row bounds (src holds only rows shift.. of the original image).
// Each output byte depends on one input column only, so whole rows are
// accumulated at once, two source rows per sweep.
func resampleVertical(src *RGB, shift int, c *axisCoeffs) *RGB {
	outH := len(c.bounds) / 2
	dst := NewRGB(src.Width, outH)
	stride := src.Width * rgbBytes
	parallelRows(outH, stride*c.ksize/rgbBytes, func(y0, y1 int) {
		acc := make([]int32, stride)
		for yy := y0; yy < y1; yy++ {
			ymin, n := c.bounds[2*yy]-shift, c.bounds[2*yy+1]
			k := c.k[yy*c.ksize : yy*c.ksize+n]
			rows := src.Pix[ymin*stride : (ymin+n)*stride]
			for i := range acc {
				acc[i] = roundHalf
			}
			for ; len(k) >= 4; k, rows = k[4:], rows[4*stride:] {
				w0, w1, w2, w3 := k[0], k[1], k[2], k[3]
				r0, r1 := rows[:len(acc)], rows[stride:stride+len(acc)]
				r2, r3 := rows[2*stride:2*stride+len(acc)], rows[3*stride:3*stride+len(acc)]
				for i := range acc {
					acc[i] += int32(r0[i])*w0 + int32(r1[i])*w1 + int32(r2[i])*w2 + int32(r3[i])*w3
				}
			}
			for ; len(k) >= 2; k, rows = k[2:], rows[2*stride:] {
				w0, w1 := k[0], k[1]
				r0, r1 := rows[:len(acc)], rows[stride:stride+len(acc)]
				for i := range acc {
					acc[i] += int32(r0[i])*w0 + int32(r1[i])*w1
				}
			}
			if len(k) == 1 {
				w0, r0 := k[0], rows[:len(acc)]
				for i := range acc {
					acc[i] += int32(r0[i]) * w0
				}
			}
			out := dst.Pix[yy*stride : (yy+1)*stride]
			out = out[:len(acc)]
			for i, s := range acc {
				out[i] = clip8(s)
			}
		}
	})
	return dst
}

// resizeNearest is _resize's nearest path: ImagingTransform with the affine
// scale a = [(w_in)/w, 0, 0, 0, (h_in)/h, 0], which is ImagingScaleAffine:
// the source coordinate of pixel centre x is accumulated in double as
// a[2] + a[0]/2 + x·a[0] (by repeated addition, as Pillow does) and
// truncated; out-of-range samples stay black (fill=1).
func resizeNearest(src *RGB, width, height int) *RGB {
	dst := NewRGB(width, height)
	a0 := float64(float32(src.Width)) / float64(width)
	a4 := float64(float32(src.Height)) / float64(height)
	xin := make([]int, width)
	xo := a0 * 0.5
	for x := range xin {
		xin[x] = affineCoord(xo)
		xo += a0
	}
	inStride, outStride := src.Width*rgbBytes, width*rgbBytes
	yo := a4 * 0.5
	for y := 0; y < height; y++ {
		yi := affineCoord(yo)
		yo += a4
		if yi < 0 || yi >= src.Height {
			continue
		}
		in := src.Pix[yi*inStride : (yi+1)*inStride]
		out := dst.Pix[y*outStride : (y+1)*outStride]
		for x, xi := range xin {
			if xi >= 0 && xi < src.Width {
				o, p := out[x*rgbBytes:x*rgbBytes+rgbBytes], in[xi*rgbBytes:xi*rgbBytes+rgbBytes]
				o[0], o[1], o[2] = p[0], p[1], p[2]
			}
		}
	}
	return dst
}

// affineCoord is Geometry.c's COORD: -1 for negative values, else
// truncation.
func affineCoord(v float64) int {
	if v < 0 {
		return -1
	}
	return int(v)
}

// parallelMinWork is the number of multiply-adds below which a pass runs on
// the calling goroutine.
const parallelMinWork = 1 << 16

// parallelRows runs fn over [0, rows) split into contiguous chunks, one per
// CPU when the pass is big enough (workPerRow multiply-adds per row). The
// result does not depend on the split: every output row is computed alone.
func parallelRows(rows, workPerRow int, fn func(y0, y1 int)) {
	workers := min(runtime.GOMAXPROCS(0), rows)
	if workers <= 1 || rows*workPerRow < parallelMinWork {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	chunk := (rows + workers - 1) / workers
	for y0 := 0; y0 < rows; y0 += chunk {
		y1 := min(y0+chunk, rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(y0, y1)
		}()
	}
	wg.Wait()
}
