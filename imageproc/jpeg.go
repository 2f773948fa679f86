package imageproc

import (
	"bytes"
	"encoding/binary"
	"image"
)

// This file turns the planes that Go's image/jpeg decodes into RGB the way
// libjpeg-turbo does with its default settings, which are the settings Pillow
// uses (src/libImaging/JpegDecode.c only changes them in draft mode):
// do_fancy_upsampling = TRUE and the fixed-point YCbCr→RGB conversion of
// jdcolor.c. Go's own conversion (image/color.YCbCrToRGB after replicating
// chroma) differs from libjpeg by up to ~130 levels at sharp colour edges;
// with the code below the remaining difference comes only from the two
// libraries' inverse DCTs (Go 1.26's Loeffler IDCT versus libjpeg's
// jidctint.c): at most 3 levels, on 2-3% of the pixels of the fixture JPEGs.
//
// References (libjpeg-turbo, src/):
//   - jdsample.c: h2v1_fancy_upsample, h1v2_fancy_upsample,
//     h2v2_fancy_upsample, h2v1_upsample, h2v2_upsample, int_upsample and the
//     method selection in jinit_upsampler.
//   - jdmainct.c: the context rows above the first and below the last chroma
//     row are copies of that row (make_funny_pointers, set_bottom_pointers).
//   - jdcolor.c: build_ycc_rgb_table and ycc_rgb_convert.

// Fixed-point constants of jdcolor.c: FIX(x) = round(x * 2^16).
const (
	yccScaleBits = 16
	yccOneHalf   = 1 << (yccScaleBits - 1)
	fixCrToR     = 91881  // FIX(1.40200)
	fixCbToB     = 116130 // FIX(1.77200)
	fixCrToG     = 46802  // FIX(0.71414)
	fixCbToG     = 22554  // FIX(0.34414)
	yccCenter    = 128    // CENTERJSAMPLE: chroma is stored offset by this
)

// yccTables holds libjpeg's per-sample lookup tables (Cr_r_tab, Cb_b_tab,
// Cr_g_tab, Cb_g_tab). The green terms stay scaled by 2^16 and are summed
// before rounding; ONE_HALF is folded into cbG, as jdcolor.c does.
type yccTables struct {
	crR, cbB, crG, cbG [256]int32
}

var ycc = buildYCCTables()

func buildYCCTables() *yccTables {
	t := new(yccTables)
	for i := range 256 {
		x := int32(i - yccCenter)
		// Go's >> on a negative int is an arithmetic shift, like RIGHT_SHIFT.
		t.crR[i] = (fixCrToR*x + yccOneHalf) >> yccScaleBits
		t.cbB[i] = (fixCbToB*x + yccOneHalf) >> yccScaleBits
		t.crG[i] = -fixCrToG * x
		t.cbG[i] = -fixCbToG*x + yccOneHalf
	}
	return t
}

// clampByte is libjpeg's range_limit: results outside 0..255 come from
// quantisation noise and are clipped.
func clampByte(v int32) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// convertRow writes len(y) RGB pixels from full-resolution Y, Cb and Cr
// samples (jdcolext.c ycc_rgb_convert).
func (t *yccTables) convertRow(dst, y, cb, cr []byte) {
	dst = dst[:len(y)*3]
	cb = cb[:len(y)]
	cr = cr[:len(y)]
	for i, yv := range y {
		Y, b, r := int32(yv), cb[i], cr[i]
		d := dst[i*3 : i*3+3 : i*3+3]
		d[0] = clampByte(Y + t.crR[r])
		d[1] = clampByte(Y + (t.cbG[b]+t.crG[r])>>yccScaleBits)
		d[2] = clampByte(Y + t.cbB[b])
	}
}

// upsampleMethod names libjpeg's choice of chroma upsampler.
type upsampleMethod int

const (
	upFullSize  upsampleMethod = iota // 4:4:4, nothing to do
	upH2V1Fancy                       // 4:2:2, triangle filter across columns
	upH1V2Fancy                       // 4:4:0, triangle filter across rows
	upH2V2Fancy                       // 4:2:0, triangle filter both ways
	upReplicate                       // box filter: each sample copied hExp×vExp times
)

// fancyMinWidth: jinit_upsampler only uses the h2v1/h2v2 triangle filters
// when the chroma row has more than two samples; narrower rows are replicated.
const fancyMinWidth = 3

// chromaUpsampler produces, for each output row, full-width Cb and Cr rows
// exactly as libjpeg's upsampler would feed them to the colour converter.
type chromaUpsampler struct {
	method     upsampleMethod
	hExp, vExp int // chroma subsampling factors (1, 2 or 4)
	cw, ch     int // chroma plane size that holds real samples
	width      int // output width
	cb, cr     []byte
	stride     int
	sums       []int32 // h2v2's column sums, reused across rows
}

// subsampleFactors maps Go's ratio names to (horizontal, vertical) factors.
func subsampleFactors(r image.YCbCrSubsampleRatio) (h, v int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// pickUpsampleMethod mirrors jinit_upsampler's selection with
// do_fancy_upsampling on. Ratios of 4 (4:1:1, 4:1:0) use libjpeg's generic
// int_upsample, a plain replicate.
func pickUpsampleMethod(hExp, vExp, cw int) upsampleMethod {
	switch {
	case hExp == 1 && vExp == 1:
		return upFullSize
	case hExp == 2 && vExp == 1 && cw >= fancyMinWidth:
		return upH2V1Fancy
	case hExp == 1 && vExp == 2:
		return upH1V2Fancy
	case hExp == 2 && vExp == 2 && cw >= fancyMinWidth:
		return upH2V2Fancy
	}
	return upReplicate
}

// ceilDiv is jdiv_round_up for positive operands.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

func newChromaUpsampler(m *image.YCbCr, hExp, vExp int) *chromaUpsampler {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	u := &chromaUpsampler{
		hExp: hExp, vExp: vExp,
		// downsampled_width/height in jdinput.c: the samples that cover the
		// image; anything beyond is MCU padding that libjpeg never reads.
		cw: ceilDiv(w, hExp), ch: ceilDiv(h, vExp),
		width: w, cb: m.Cb, cr: m.Cr, stride: m.CStride,
	}
	u.method = pickUpsampleMethod(hExp, vExp, u.cw)
	if u.method == upH2V2Fancy {
		u.sums = make([]int32, u.cw)
	}
	return u
}

// chromaRow returns chroma row cy of plane p, clamped to the real rows: this is
// how jdmainct.c manufactures the context rows above the top and below the
// bottom of the image.
func (u *chromaUpsampler) chromaRow(p []byte, cy int) []byte {
	cy = max(0, min(cy, u.ch-1))
	return p[cy*u.stride : cy*u.stride+u.cw]
}

// rows fills cbOut and crOut (at least width+hExp long) for output row y.
func (u *chromaUpsampler) rows(y int, cbOut, crOut []byte) {
	u.row(u.cb, y, cbOut)
	u.row(u.cr, y, crOut)
}

// row upsamples plane p for output row y into out.
func (u *chromaUpsampler) row(p []byte, y int, out []byte) {
	switch u.method {
	case upFullSize:
		copy(out, u.chromaRow(p, y))
	case upH2V1Fancy:
		h2v1Fancy(out, u.chromaRow(p, y))
	case upH1V2Fancy:
		near, far, bias := u.verticalPair(p, y)
		h1v2Fancy(out, near, far, bias)
	case upH2V2Fancy:
		near, far, _ := u.verticalPair(p, y)
		h2v2Fancy(out, near, far, u.sums)
	default:
		replicate(out[:u.width], u.chromaRow(p, y/u.vExp), u.hExp)
	}
}

// verticalPair returns the nearer and farther chroma rows for output row y of
// a vertically 2× subsampled plane, and h1v2_fancy_upsample's rounding bias:
// the upper output row of each pair leans on the row above (bias 1), the lower
// one on the row below (bias 2), so that halves round alternately.
func (u *chromaUpsampler) verticalPair(p []byte, y int) (near, far []byte, bias int) {
	cy := y / 2
	if y%2 == 0 {
		return u.chromaRow(p, cy), u.chromaRow(p, cy-1), 1
	}
	return u.chromaRow(p, cy), u.chromaRow(p, cy+1), 2
}

// h2v1Fancy is h2v1_fancy_upsample: each output sample is 3/4 of the nearer
// input plus 1/4 of the further one; the edge samples copy the edge input.
// The biases 1 and 2 alternate so that exact halves round down then up.
// len(in) ≥ 3; out receives 2*len(in) samples.
func h2v1Fancy(out, in []byte) {
	n := len(in)
	out = out[:2*n]
	out[0] = in[0]
	out[1] = byte((int(in[0])*3 + int(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := int(in[i]) * 3
		out[2*i] = byte((v + int(in[i-1]) + 1) >> 2)
		out[2*i+1] = byte((v + int(in[i+1]) + 2) >> 2)
	}
	last := int(in[n-1])
	out[2*n-2] = byte((last*3 + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = byte(last)
}

// h1v2Fancy is h1v2_fancy_upsample for one output row.
func h1v2Fancy(out, near, far []byte, bias int) {
	out = out[:len(near)]
	far = far[:len(near)]
	for i, v := range near {
		out[i] = byte((int(v)*3 + int(far[i]) + bias) >> 2)
	}
}

// h2v2Fancy is h2v2_fancy_upsample for one output row: first the vertical
// triangle (3×nearer row + further row), then the horizontal one on those
// column sums, with biases 8 and 7 alternating; the first and last outputs
// use the edge column sum alone. sums is scratch of len(near); len(near) ≥ 3.
func h2v2Fancy(out, near, far []byte, sums []int32) {
	n := len(near)
	out = out[:2*n]
	far = far[:n]
	sums = sums[:n]
	for i, v := range near {
		sums[i] = int32(v)*3 + int32(far[i])
	}
	out[0] = byte((sums[0]*4 + 8) >> 4)
	out[1] = byte((sums[0]*3 + sums[1] + 7) >> 4)
	for i := 1; i < n-1; i++ {
		this := sums[i] * 3
		out[2*i] = byte((this + sums[i-1] + 8) >> 4)
		out[2*i+1] = byte((this + sums[i+1] + 7) >> 4)
	}
	out[2*n-2] = byte((sums[n-1]*3 + sums[n-2] + 8) >> 4)
	out[2*n-1] = byte((sums[n-1]*4 + 7) >> 4)
}

// replicate is libjpeg's box filter (h2v1_upsample, h2v2_upsample,
// int_upsample): every chroma sample is copied across hExp output columns.
// This is also the fallback for ratios libjpeg has no triangle filter for.
func replicate(out, in []byte, hExp int) {
	for x := range out {
		out[x] = in[x/hExp]
	}
}

// jpegYCbCrToRGB converts a YCbCr image decoded by image/jpeg into RGB the way
// libjpeg-turbo's default decompression does (see the file comment). It
// reports false for layouts it does not know (a sub-image not anchored at the
// origin, an unknown ratio), so the caller can fall back.
func jpegYCbCrToRGB(m *image.YCbCr) (*RGB, bool) {
	hExp, vExp, ok := subsampleFactors(m.SubsampleRatio)
	if !ok || m.Rect.Min != (image.Point{}) {
		return nil, false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	u := newChromaUpsampler(m, hExp, vExp)
	if !chromaPlanesCover(m, u) {
		return nil, false
	}
	out := NewRGB(w, h)
	// The fancy filters write 2*cw samples, one more than w for odd widths.
	cb := make([]byte, w+hExp)
	cr := make([]byte, w+hExp)
	for y := range h {
		u.rows(y, cb, cr)
		ycc.convertRow(out.Pix[y*w*3:(y+1)*w*3], m.Y[y*m.YStride:y*m.YStride+w], cb, cr)
	}
	return out, true
}

// chromaPlanesCover checks that the planes hold every sample the upsampler
// will read, so that a malformed image cannot make it index out of range.
func chromaPlanesCover(m *image.YCbCr, u *chromaUpsampler) bool {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	needY := (h-1)*m.YStride + w
	needC := (u.ch-1)*u.stride + u.cw
	return m.YStride >= w && u.stride >= u.cw &&
		len(m.Y) >= needY && len(m.Cb) >= needC && len(m.Cr) >= needC
}

// JPEG markers (ITU T.81 table B.1) that the segment walker distinguishes.
const (
	jpegSOI   = 0xD8
	jpegEOI   = 0xD9
	jpegSOS   = 0xDA
	jpegAPP1  = 0xE1
	jpegAPP14 = 0xEE
	jpegTEM   = 0x01
	jpegRST0  = 0xD0
	jpegRST7  = 0xD7
	jpegSOF0  = 0xC0
	jpegSOF15 = 0xCF
	jpegDHT   = 0xC4
	jpegJPG   = 0xC8
	jpegDAC   = 0xCC
)

// jpegSegments calls fn with each marker segment's marker and payload before
// the first scan, walking the file as JpegImagePlugin does: bytes between
// segments that are not 0xFF are skipped, fill bytes are ignored. It stops at
// SOS, EOI, a truncated segment, or when fn returns false.
func jpegSegments(data []byte, fn func(marker byte, payload []byte) bool) {
	for pos := 2; pos+1 < len(data); {
		if data[pos] != 0xFF {
			pos++
			continue
		}
		marker := data[pos+1]
		if marker == 0xFF || marker == 0x00 {
			pos++ // fill byte, or a stuffed zero
			continue
		}
		pos += 2
		if marker == jpegSOS || marker == jpegEOI {
			return
		}
		if marker == jpegSOI || marker == jpegTEM || (marker >= jpegRST0 && marker <= jpegRST7) {
			continue // standalone markers carry no length
		}
		if pos+2 > len(data) {
			return
		}
		n := int(binary.BigEndian.Uint16(data[pos:])) - 2
		if n < 0 || pos+2+n > len(data) {
			return
		}
		if !fn(marker, data[pos+2:pos+2+n]) {
			return
		}
		pos += 2 + n
	}
}

// isJPEGSOF reports a start-of-frame marker (SOF0..SOF15 less DHT, JPG, DAC).
func isJPEGSOF(m byte) bool {
	return m >= jpegSOF0 && m <= jpegSOF15 && m != jpegDHT && m != jpegJPG && m != jpegDAC
}

// adobeCMYKSegment is an APP14 "Adobe" segment with transform 0 (CMYK, stored
// inverted), the 12 payload bytes image/jpeg reads.
var adobeCMYKSegment = []byte{0xFF, jpegAPP14, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}

// withAdobeMarker returns data unchanged unless it is a four-component JPEG
// without an Adobe APP14 segment. image/jpeg refuses those, while libjpeg
// takes them as CMYK and Pillow reads them with its "CMYK;I" raw mode (it
// assumes Adobe's inverted polarity for every CMYK JPEG); adding the marker
// that says exactly that lets Go decode them the same way.
func withAdobeMarker(data []byte) []byte {
	components, adobe := 0, false
	jpegSegments(data, func(marker byte, seg []byte) bool {
		switch {
		case marker == jpegAPP14 && bytes.HasPrefix(seg, []byte("Adobe")):
			adobe = true
		case isJPEGSOF(marker) && len(seg) >= 6:
			components = int(seg[5])
		}
		return true
	})
	if components != 4 || adobe || len(data) < 2 {
		return data
	}
	out := make([]byte, 0, len(data)+len(adobeCMYKSegment))
	out = append(out, data[:2]...)
	out = append(out, adobeCMYKSegment...)
	return append(out, data[2:]...)
}
