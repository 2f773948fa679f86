package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"strings"

	"golang.org/x/image/webp"
)

// This file decodes a user's picture into RGB bytes equal to what the Python
// reference gives: transformers' load_image does PIL.Image.open, then
// PIL.ImageOps.exif_transpose, then .convert("RGB"). Go's decoders do the
// entropy decoding; the conversion to RGB is Pillow's, mode by mode.
//
// Exactness: PNG, GIF and WebP (lossless and lossy: libwebp's upsampler is
// reproduced below) come out byte-identical. YCbCr and grayscale JPEG go
// through libjpeg-turbo's upsampling and colour conversion (jpeg.go), so only
// the inverse DCT differs, by at most a few levels on a few percent of the
// pixels. Rarer JPEGs keep Go's own conversion: YCCK/CMYK (Go's YCbCr→RGB
// and replicated chroma before Pillow's CMYK→RGB) and subsampled RGB.
//
// Where Pillow accepts a file that Go's decoders refuse (arithmetic-coded or
// 12-bit JPEG, animated WebP, a GIF frame larger than its screen, a GIF
// without colour table or with indices past its table), Decode returns an
// error.

// DefaultMaxPixels is the largest picture, in pixels, that Decode accepts
// when DecodeOptions.MaxPixels is zero. 50 megapixels decode to 150 MB of RGB.
const DefaultMaxPixels = 50_000_000

// DecodeOptions tunes Decode.
type DecodeOptions struct {
	// MaxPixels refuses pictures whose header declares more than this many
	// pixels (width×height), before any pixel is decoded. 0 means
	// DefaultMaxPixels.
	MaxPixels int64
}

func (o DecodeOptions) maxPixels() int64 {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// Errors returned by Decode and FromRGBA; test for them with errors.Is.
var (
	ErrUnsupportedFormat  = errors.New("unsupported image format: expected PNG, JPEG, GIF or WebP")
	ErrTooManyPixels      = errors.New("image has too many pixels")
	ErrEmptyImage         = errors.New("image has zero width or height")
	ErrCorruptImage       = errors.New("image is corrupt or truncated")
	ErrUnsupportedVariant = errors.New("unsupported image variant")
)

// Format names, as the decoders register themselves with package image.
const (
	formatPNG  = "png"
	formatJPEG = "jpeg"
	formatGIF  = "gif"
	formatWebP = "webp"
)

// decoders are the formats Decode accepts. Other packages may register more
// formats with package image; we refuse them rather than convert them in
// ways not checked against Pillow.
var decoders = map[string]func(*bytes.Reader) (image.Image, error){
	formatPNG:  func(r *bytes.Reader) (image.Image, error) { return png.Decode(r) },
	formatJPEG: func(r *bytes.Reader) (image.Image, error) { return jpeg.Decode(r) },
	formatGIF:  func(r *bytes.Reader) (image.Image, error) { return gif.Decode(r) },
	formatWebP: func(r *bytes.Reader) (image.Image, error) { return webp.Decode(r) },
}

// Decode decodes a PNG, JPEG, GIF (first frame) or WebP picture, detected from
// its content, applies its EXIF orientation and converts it to RGB, matching
// load_image in transformers (see the file comment). It reads the header
// first and refuses pictures over opts.MaxPixels before decoding any pixel.
// Errors wrap ErrUnsupportedFormat, ErrUnsupportedVariant, ErrTooManyPixels,
// ErrEmptyImage or ErrCorruptImage. Corrupt input returns an error, never a
// panic.
func Decode(data []byte, opts DecodeOptions) (*RGB, error) {
	cfg, format, err := decodeConfig(data)
	if err != nil {
		return nil, err
	}
	if err := checkSize(cfg.Width, cfg.Height, opts.maxPixels()); err != nil {
		return nil, err
	}
	img, err := decodePixels(data, format)
	if err != nil {
		return nil, err
	}
	rgb, err := convertDecoded(img, data, format, cfg)
	if err != nil {
		return nil, err
	}
	return Orient(rgb, imageOrientation(data, format)), nil
}

// decodeConfig sniffs the format and reads the header only.
func decodeConfig(data []byte) (cfg image.Config, format string, err error) {
	defer recoverAsCorrupt(&err, "")
	cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
	switch {
	case errors.Is(err, image.ErrFormat):
		return cfg, "", ErrUnsupportedFormat
	case err != nil:
		return cfg, "", decodeError(format, "header", err)
	case decoders[format] == nil:
		return cfg, "", ErrUnsupportedFormat
	}
	return cfg, format, nil
}

// decodeError wraps a decoder's error: ErrUnsupportedVariant for features
// Go's decoders lack (arithmetic-coded or 12-bit JPEG, ...), ErrCorruptImage
// otherwise.
func decodeError(format, part string, err error) error {
	var jpegErr jpeg.UnsupportedError
	var pngErr png.UnsupportedError
	if errors.As(err, &jpegErr) || errors.As(err, &pngErr) {
		return fmt.Errorf("%w: the %s decoder cannot read this file (%w)", ErrUnsupportedVariant, formatLabel(format), err)
	}
	return fmt.Errorf("%w: cannot read the %s %s: %w", ErrCorruptImage, formatLabel(format), part, err)
}

// formatLabel names a format in messages.
func formatLabel(format string) string {
	switch format {
	case formatPNG, formatJPEG, formatGIF:
		return strings.ToUpper(format)
	case formatWebP:
		return "WebP"
	}
	return "image"
}

// checkSize refuses empty pictures and decompression bombs.
func checkSize(w, h int, limit int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w (%dx%d)", ErrEmptyImage, w, h)
	}
	if n := int64(w) * int64(h); n > limit {
		return fmt.Errorf("%w: %dx%d is %d pixels, over the limit of %d", ErrTooManyPixels, w, h, n, limit)
	}
	return nil
}

// decodePixels runs the registered decoder of format on data.
func decodePixels(data []byte, format string) (img image.Image, err error) {
	defer recoverAsCorrupt(&err, format)
	if format == formatJPEG {
		data = withAdobeMarker(data)
	}
	img, err = decoders[format](bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(format, "data", err)
	}
	return img, nil
}

// recoverAsCorrupt turns a panic inside a standard-library decoder into an
// error. The decoders are meant not to panic on bad input; this is the last
// line of defence for a server that decodes strangers' files.
func recoverAsCorrupt(err *error, format string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: the %s decoder failed: %v", ErrCorruptImage, formatLabel(format), r)
	}
}

// convertDecoded converts the decoder's image to RGB as Pillow's
// convert("RGB") would convert the image Pillow decodes from the same file.
func convertDecoded(img image.Image, data []byte, format string, cfg image.Config) (*RGB, error) {
	if format == formatGIF {
		return gifToRGB(img, data, cfg)
	}
	if img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height {
		return nil, fmt.Errorf("%w: the %s header says %dx%d but the data decodes to %dx%d",
			ErrCorruptImage, formatLabel(format), cfg.Width, cfg.Height, img.Bounds().Dx(), img.Bounds().Dy())
	}
	if format == formatPNG && isPNGGray16(data) {
		return gray16ToRGB(img), nil
	}
	switch m := img.(type) {
	case *image.YCbCr:
		if rgb, ok := yccToRGB(m, format); ok {
			return rgb, nil
		}
	case *image.NYCbCrA: // lossy WebP with alpha: the colour planes ignore alpha
		if rgb, ok := yccToRGB(&m.YCbCr, format); ok {
			return rgb, nil
		}
	}
	return toRGB(img), nil
}

// yccToRGB picks the upsampler of the library Pillow uses for the format.
func yccToRGB(m *image.YCbCr, format string) (*RGB, bool) {
	if format == formatWebP {
		return webpYCbCrToRGB(m)
	}
	return jpegYCbCrToRGB(m)
}

// FromRGBA converts straight (not premultiplied) RGBA bytes, as a browser's
// getImageData returns them, to RGB like Pillow's RGBA→RGB conversion, which
// drops alpha without compositing. len(rgba) must be width*height*4.
func FromRGBA(width, height int, rgba []byte) (*RGB, error) {
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("%w (%dx%d)", ErrEmptyImage, width, height)
	}
	if width > math.MaxInt/4/height || len(rgba) != width*height*4 {
		return nil, fmt.Errorf("RGBA data holds %d bytes, not the %dx%dx4 its size implies", len(rgba), width, height)
	}
	out := NewRGB(width, height)
	dropAlpha(out.Pix, rgba)
	return out, nil
}

// dropAlpha copies RGB out of 4-byte pixels.
func dropAlpha(dst, src []byte) {
	n := len(dst) / 3
	src = src[:n*4]
	for i := range n {
		copy(dst[i*3:i*3+3], src[i*4:i*4+3])
	}
}

// toRGB converts the concrete image types Go's decoders return, reading Pix
// directly. The 8-bit-per-channel mapping is Pillow's: gray is replicated
// (L→RGB), alpha is dropped (RGBA→RGB, LA→RGB), palette indices are looked
// up (P→RGB), 16-bit channels keep their high byte (PngImagePlugin's
// "RGB;16B"/"RGBA;16B"/"LA;16B" raw modes), CMYK uses Convert.c's cmyk2rgb.
// *image.RGBA and *image.RGBA64 are premultiplied, but Go's decoders only
// return them for opaque pictures, where that makes no difference.
func toRGB(img image.Image) *RGB {
	b := img.Bounds()
	out := NewRGB(b.Dx(), b.Dy())
	switch m := img.(type) {
	case *image.Gray:
		forRows(out, m.Pix, m.Stride, 1, grayRow)
	case *image.Gray16:
		forRows(out, m.Pix, m.Stride, 2, gray16ClipRow)
	case *image.RGBA:
		forRows(out, m.Pix, m.Stride, 4, dropAlpha)
	case *image.NRGBA:
		forRows(out, m.Pix, m.Stride, 4, dropAlpha)
	case *image.RGBA64:
		forRows(out, m.Pix, m.Stride, 8, highBytesRow)
	case *image.NRGBA64:
		forRows(out, m.Pix, m.Stride, 8, highBytesRow)
	case *image.CMYK:
		forRows(out, m.Pix, m.Stride, 4, cmykRow)
	case *image.Paletted:
		lut := paletteLUT(m.Palette)
		forRows(out, m.Pix, m.Stride, 1, func(dst, src []byte) { lookupRow(dst, src, &lut) })
	default:
		genericToRGB(out, img)
	}
	return out
}

// forRows calls row for each row of a Pix buffer whose pixels are bpp bytes.
func forRows(out *RGB, pix []byte, stride, bpp int, row func(dst, src []byte)) {
	w := out.Width
	for y := range out.Height {
		row(out.Pix[y*w*3:(y+1)*w*3], pix[y*stride:y*stride+w*bpp])
	}
}

func grayRow(dst, src []byte) {
	for i, v := range src {
		dst[i*3], dst[i*3+1], dst[i*3+2] = v, v, v
	}
}

// gray16ClipRow is Pillow's I;16→RGB (Convert.c I16_RGB): values above 255
// become 255; it does not scale. Pillow opens 16-bit grayscale PNG as I;16,
// so such pictures come out nearly white in the reference too.
func gray16ClipRow(dst, src []byte) {
	for i := range len(src) / 2 {
		v := byte(255)
		if src[2*i] == 0 { // big-endian: high byte first
			v = src[2*i+1]
		}
		dst[i*3], dst[i*3+1], dst[i*3+2] = v, v, v
	}
}

// highBytesRow keeps the high byte of each 16-bit R, G, B sample.
func highBytesRow(dst, src []byte) {
	for i := range len(dst) / 3 {
		dst[i*3], dst[i*3+1], dst[i*3+2] = src[i*8], src[i*8+2], src[i*8+4]
	}
}

// cmykRow is Pillow's cmyk2rgb (src/libImaging/Convert.c):
// out = CLIP8(nk - MULDIV255(c, nk)) with nk = 255 - k. Go's image/jpeg hands
// back the same CMYK values as Pillow's "CMYK;I" raw mode: both undo Adobe's
// inverted storage (and libjpeg's YCCK→CMYK maps like Go's applyBlack).
func cmykRow(dst, src []byte) {
	for i := range len(dst) / 3 {
		p := src[i*4 : i*4+4 : i*4+4]
		nk := 255 - int(p[3])
		dst[i*3] = byte(nk - mulDiv255(int(p[0]), nk))
		dst[i*3+1] = byte(nk - mulDiv255(int(p[1]), nk))
		dst[i*3+2] = byte(nk - mulDiv255(int(p[2]), nk))
	}
}

// mulDiv255 is Pillow's MULDIV255: a*b/255 rounded, without a division.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// paletteLUT expands a palette to 256 straight RGB entries. Entries past the
// palette's end are black, as in Pillow's palette (calloc'd in
// ImagingPaletteNew) and Go's PNG decoder.
func paletteLUT(p color.Palette) [256][3]byte {
	var lut [256][3]byte
	for i, c := range p[:min(len(p), 256)] {
		lut[i] = straightRGB(c)
	}
	return lut
}

// straightRGB returns a colour's non-premultiplied RGB. Go's PNG decoder
// stores palette entries with tRNS alpha as color.NRGBA, so their colour is
// exact; others fall back to Go's un-premultiplying conversion.
func straightRGB(c color.Color) [3]byte {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]byte{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff {
			return [3]byte{c.R, c.G, c.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]byte{n.R, n.G, n.B}
}

func lookupRow(dst, src []byte, lut *[256][3]byte) {
	for i, v := range src {
		copy(dst[i*3:i*3+3], lut[v][:])
	}
}

// genericToRGB handles image types none of our decoders return today, through
// the slow per-pixel interface.
func genericToRGB(out *RGB, img image.Image) {
	b := img.Bounds()
	for y := range out.Height {
		for x := range out.Width {
			c := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
			copy(out.Pix[(y*out.Width+x)*3:], c[:])
		}
	}
}

// PNG header layout: signature, IHDR length and type, width, height, then
// bit depth and colour type.
const (
	pngBitDepthOffset  = 24
	pngColorTypeOffset = 25
	pngColorGray       = 0
)

// isPNGGray16 reports a 16-bit grayscale PNG, which Pillow opens as I;16 and
// converts to RGB by clipping. Go returns it as Gray16, or as NRGBA64 when it
// has a tRNS chunk, so the file header is what tells it apart from RGB.
func isPNGGray16(data []byte) bool {
	return len(data) > pngColorTypeOffset && string(data[12:16]) == "IHDR" &&
		data[pngBitDepthOffset] == 16 && data[pngColorTypeOffset] == pngColorGray
}

// gray16ToRGB converts a 16-bit grayscale PNG (Gray16, or NRGBA64 with gray
// replicated) with Pillow's clipping.
func gray16ToRGB(img image.Image) *RGB {
	m, ok := img.(*image.NRGBA64)
	if !ok {
		return toRGB(img)
	}
	out := NewRGB(m.Rect.Dx(), m.Rect.Dy())
	forRows(out, m.Pix, m.Stride, 8, func(dst, src []byte) {
		for i := range len(dst) / 3 {
			v := byte(255)
			if src[i*8] == 0 { // R holds the gray value, high byte first
				v = src[i*8+1]
			}
			dst[i*3], dst[i*3+1], dst[i*3+2] = v, v, v
		}
	})
	return out
}

// gifFrameInfo is what Pillow's GifImagePlugin reads about the first frame
// and Go's image/gif does not keep: the colour table as stored (Go blanks the
// transparent entry) and the transparent index, which Pillow uses to fill the
// canvas outside the frame.
type gifFrameInfo struct {
	palette     []byte // RGB triples; nil when the file has no colour table
	transparent int    // -1 when unset
}

// GIF block introducers and flags (GIF89a spec).
const (
	gifHeaderLen       = 13
	gifExtension       = 0x21
	gifImageDescriptor = 0x2C
	gifTrailer         = 0x3B
	gifGraphicControl  = 0xF9
	gifHasColorTable   = 0x80
	gifTableSizeMask   = 0x07
	gifTransparentFlag = 0x01
	gifDescriptorLen   = 9
)

// parseGIFFrameInfo walks the blocks up to the first image descriptor like
// GifImagePlugin._seek(0): the last graphic control extension with the
// transparency flag sets the transparent index; a local colour table replaces
// the global one.
func parseGIFFrameInfo(data []byte) (gifFrameInfo, bool) {
	info := gifFrameInfo{transparent: -1}
	if len(data) < gifHeaderLen {
		return info, false
	}
	pos := gifHeaderLen
	if table, n, ok := gifColorTable(data, pos, data[10]); ok {
		info.palette, pos = table, pos+n
	}
	for pos < len(data) {
		switch data[pos] {
		case gifExtension:
			if pos+1 >= len(data) {
				return info, false
			}
			label := data[pos+1]
			first, next, ok := gifSubBlocks(data, pos+2)
			if !ok {
				return info, false
			}
			if label == gifGraphicControl && len(first) >= 4 && first[0]&gifTransparentFlag != 0 {
				info.transparent = int(first[3])
			}
			pos = next
		case gifImageDescriptor:
			if pos+1+gifDescriptorLen > len(data) {
				return info, false
			}
			flags := data[pos+gifDescriptorLen]
			if table, _, ok := gifColorTable(data, pos+1+gifDescriptorLen, flags); ok {
				info.palette = table
			}
			return info, true
		default: // the trailer or garbage: no image
			return info, false
		}
	}
	return info, false
}

// gifColorTable returns the colour table announced by flags at pos.
func gifColorTable(data []byte, pos int, flags byte) ([]byte, int, bool) {
	if flags&gifHasColorTable == 0 {
		return nil, 0, false
	}
	n := 3 << (flags&gifTableSizeMask + 1)
	if pos+n > len(data) {
		return nil, 0, false
	}
	return data[pos : pos+n], n, true
}

// gifSubBlocks skips a chain of data sub-blocks starting at pos, returning the
// first sub-block's bytes and the position after the terminator.
func gifSubBlocks(data []byte, pos int) (first []byte, next int, ok bool) {
	for i := 0; pos < len(data); i++ {
		n := int(data[pos])
		if n == 0 {
			return first, pos + 1, true
		}
		if pos+1+n > len(data) {
			return nil, 0, false
		}
		if i == 0 {
			first = data[pos+1 : pos+1+n]
		}
		pos += 1 + n
	}
	return nil, 0, false
}

// gifToRGB renders the first frame like Pillow (GifImagePlugin._seek and
// load_prepare): a canvas of the logical screen size, filled with the
// transparent index (or index 0) outside the frame, each index looked up in
// the colour table as stored in the file (Pillow's P→RGB ignores
// transparency; indices past the table are black). Without a colour table
// Pillow uses mode L, the index itself as gray; image/gif refuses such files
// today, but the table below is ready for them.
func gifToRGB(img image.Image, data []byte, cfg image.Config) (*RGB, error) {
	m, ok := img.(*image.Paletted)
	info, parsed := parseGIFFrameInfo(data)
	if !ok || !parsed {
		return nil, fmt.Errorf("%w: cannot read the GIF frame header", ErrCorruptImage)
	}
	lut := gifLUT(info.palette)
	fill := 0
	if info.transparent >= 0 {
		fill = info.transparent
	}
	out := NewRGB(cfg.Width, cfg.Height)
	for i := range cfg.Width * cfg.Height {
		copy(out.Pix[i*3:i*3+3], lut[fill][:])
	}
	frame := m.Rect.Intersect(image.Rect(0, 0, cfg.Width, cfg.Height))
	for y := frame.Min.Y; y < frame.Max.Y; y++ {
		src := m.Pix[m.PixOffset(frame.Min.X, y):m.PixOffset(frame.Max.X, y)]
		lookupRow(out.Pix[(y*cfg.Width+frame.Min.X)*3:(y*cfg.Width+frame.Max.X)*3], src, &lut)
	}
	return out, nil
}

// gifLUT builds the index→RGB table from a stored colour table.
func gifLUT(table []byte) [256][3]byte {
	var lut [256][3]byte
	if table == nil {
		for i := range lut {
			lut[i] = [3]byte{byte(i), byte(i), byte(i)}
		}
		return lut
	}
	for i := 0; i < 256 && 3*i+2 < len(table); i++ {
		lut[i] = [3]byte{table[3*i], table[3*i+1], table[3*i+2]}
	}
	return lut
}

// libwebp's YUV→RGB constants (src/dsp/yuv.h): 14-bit fixed point via
// MultHi(v, c) = (v*c) >> 8, then 6 fractional bits dropped by VP8Clip8.
const (
	webpYUVFix2  = 6
	webpYUVMask2 = (256 << webpYUVFix2) - 1
	webpKY       = 19077
	webpKVR      = 26149
	webpKUG      = 6419
	webpKVG      = 13320
	webpKUB      = 33050
	webpOffR     = 14234
	webpOffG     = 8708
	webpOffB     = 17685
)

func webpClip8(v int) byte {
	if v&^webpYUVMask2 == 0 {
		return byte(v >> webpYUVFix2)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// webpYUVToRGB is libwebp's VP8YuvToRgb.
func webpYUVToRGB(y, u, v int, dst []byte) {
	yy := (y * webpKY) >> 8
	dst[0] = webpClip8(yy + (v*webpKVR)>>8 - webpOffR)
	dst[1] = webpClip8(yy - (u*webpKUG)>>8 - (v*webpKVG)>>8 + webpOffG)
	dst[2] = webpClip8(yy + (u*webpKUB)>>8 - webpOffB)
}

// webpYCbCrToRGB converts a lossy WebP's 4:2:0 planes like libwebp's default
// decoding ("fancy upsampling", src/dsp/upsampling.c UpsampleRgbLinePair and
// src/dec/io_dec.c EmitFancyRGB), which Pillow's WebP plugin goes through.
func webpYCbCrToRGB(m *image.YCbCr) (*RGB, bool) {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return nil, false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	if len(m.Y) < (h-1)*m.YStride+w || m.CStride < cw ||
		len(m.Cb) < (ch-1)*m.CStride+cw || len(m.Cr) < (ch-1)*m.CStride+cw {
		return nil, false
	}
	out := NewRGB(w, h)
	for y := range h {
		upper, lower, isLower := webpChromaRows(y, ch)
		row := func(p []byte, cy int) []byte { return p[cy*m.CStride : cy*m.CStride+cw] }
		webpUpsampleRow(out.Pix[y*w*3:(y+1)*w*3], m.Y[y*m.YStride:y*m.YStride+w],
			row(m.Cb, upper), row(m.Cr, upper), row(m.Cb, lower), row(m.Cr, lower), isLower)
	}
	return out, true
}

// webpChromaRows says which two chroma rows surround output row y: EmitFancyRGB
// upsamples rows in pairs (2k-1, 2k) between chroma rows k-1 and k; the first
// row, and the last one of an even height, mirror their single chroma row.
func webpChromaRows(y, ch int) (upper, lower int, isLower bool) {
	if y == 0 {
		return 0, 0, false
	}
	k := (y + 1) / 2
	return k - 1, min(k, ch-1), y%2 == 0
}

// webpUpsampleRow is one output row of libwebp's UPSAMPLE_FUNC. Chroma between
// rows tu/tv (upper) and cu/cv (lower) is interpolated with the 9-3-3-1
// weights, computed through libwebp's two rounded diagonal averages so that
// it matches bit for bit (the C code packs U and V in one word; the halves
// never carry into each other, so computing them apart is the same).
func webpUpsampleRow(dst, yRow, tu, tv, cu, cv []byte, isLower bool) {
	w := len(yRow)
	near := func(a, b byte) int { return (3*int(a) + int(b) + 2) >> 2 }
	edge := func(t, c []byte, i int) int {
		if isLower {
			return near(c[i], t[i])
		}
		return near(t[i], c[i])
	}
	webpYUVToRGB(int(yRow[0]), edge(tu, cu, 0), edge(tv, cv, 0), dst)
	for x := 1; x <= (w-1)/2; x++ {
		u1, u2 := webpDiagonals(tu, cu, x, isLower)
		v1, v2 := webpDiagonals(tv, cv, x, isLower)
		webpYUVToRGB(int(yRow[2*x-1]), u1, v1, dst[(2*x-1)*3:])
		webpYUVToRGB(int(yRow[2*x]), u2, v2, dst[(2*x)*3:])
	}
	if w%2 == 0 {
		last := (w - 1) / 2
		webpYUVToRGB(int(yRow[w-1]), edge(tu, cu, last), edge(tv, cv, last), dst[(w-1)*3:])
	}
}

// webpDiagonals returns the chroma of output columns 2x-1 and 2x from the
// 2×2 neighbourhood tl=t[x-1], tr=t[x], bl=c[x-1], br=c[x].
func webpDiagonals(t, c []byte, x int, isLower bool) (left, right int) {
	tl, tr, bl, br := int(t[x-1]), int(t[x]), int(c[x-1]), int(c[x])
	avg := tl + tr + bl + br + 8
	diag12 := (avg + 2*(tr+bl)) >> 3
	diag03 := (avg + 2*(tl+br)) >> 3
	if isLower {
		return (diag03 + bl) >> 1, (diag12 + br) >> 1
	}
	return (diag12 + tl) >> 1, (diag03 + tr) >> 1
}
