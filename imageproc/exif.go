package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
)

// This file finds a picture's orientation the way Pillow does for
// ImageOps.exif_transpose (Image.getexif, Image.Exif.load and
// TiffImagePlugin.ImageFileDirectory_v2.load), and applies it. All parsing
// is bounds-checked slicing of the input: hostile metadata can make us ignore
// the orientation, never panic or allocate more than the input's size.

// Orientation values of EXIF tag 0x0112 (TIFF 6.0 "Orientation"). The names
// say what ImageOps.exif_transpose does to undo each.
const (
	OrientNormal     = 1 // nothing
	OrientFlipH      = 2 // FLIP_LEFT_RIGHT
	OrientRotate180  = 3 // ROTATE_180
	OrientFlipV      = 4 // FLIP_TOP_BOTTOM
	OrientTranspose  = 5 // TRANSPOSE
	OrientRotate270  = 6 // ROTATE_270: the picture is turned 90° clockwise
	OrientTransverse = 7 // TRANSVERSE
	OrientRotate90   = 8 // ROTATE_90: the picture is turned 90° counter-clockwise
)

const (
	tagOrientation = 0x0112
	exifHeader     = "Exif\x00\x00"
	// jpegXMPHeader starts an APP1 segment that holds XMP (JpegImagePlugin.APP).
	jpegXMPHeader = "http://ns.adobe.com/xap/1.0/\x00"
	// pngXMPKeyword and pngRawExifKeyword are the PNG text keywords Pillow
	// reads orientation from (Image.getexif).
	pngXMPKeyword     = "XML:com.adobe.xmp"
	pngRawExifKeyword = "Raw profile type exif"
	// pngExifKeyword: PngImagePlugin.chunk_tEXt stores a tEXt chunk with this
	// keyword as raw bytes in info["exif"].
	pngExifKeyword = "exif"
	// maxPNGTextBytes is Pillow's MAX_TEXT_CHUNK: larger decompressed text
	// makes Pillow refuse the file; we ignore that text instead.
	maxPNGTextBytes = 1 << 20
)

// Orient applies an EXIF orientation like ImageOps.exif_transpose and returns
// a new image; values outside 2..8 return m itself. m must be consistent
// (len(m.Pix) == 3*m.Width*m.Height), as every RGB from this package is.
func Orient(m *RGB, orientation int) *RGB {
	switch orientation {
	case OrientFlipH:
		return remap(m, m.Width, m.Height, func(x, y int) (int, int) { return m.Width - 1 - x, y })
	case OrientRotate180:
		return remap(m, m.Width, m.Height, func(x, y int) (int, int) { return m.Width - 1 - x, m.Height - 1 - y })
	case OrientFlipV:
		return remap(m, m.Width, m.Height, func(x, y int) (int, int) { return x, m.Height - 1 - y })
	case OrientTranspose:
		return remap(m, m.Height, m.Width, func(x, y int) (int, int) { return y, x })
	case OrientRotate270:
		return remap(m, m.Height, m.Width, func(x, y int) (int, int) { return y, m.Height - 1 - x })
	case OrientTransverse:
		return remap(m, m.Height, m.Width, func(x, y int) (int, int) { return m.Width - 1 - y, m.Height - 1 - x })
	case OrientRotate90:
		return remap(m, m.Height, m.Width, func(x, y int) (int, int) { return m.Width - 1 - y, x })
	}
	return m
}

// remap builds a w×h image whose pixel (x, y) is m's pixel src(x, y).
func remap(m *RGB, w, h int, src func(x, y int) (int, int)) *RGB {
	out := NewRGB(w, h)
	for y := range h {
		row := out.Pix[y*w*3 : (y+1)*w*3]
		for x := range w {
			sx, sy := src(x, y)
			i := (sy*m.Width + sx) * 3
			copy(row[x*3:x*3+3], m.Pix[i:i+3])
		}
	}
	return out
}

// imageOrientation returns the orientation Pillow would apply to a picture of
// the given format: the EXIF Orientation tag if the EXIF block has one, else
// an XMP tiff:Orientation, else 1. GIF carries neither.
func imageOrientation(data []byte, format string) int {
	var meta pictureMetadata
	switch format {
	case formatJPEG:
		meta = jpegMetadata(data)
	case formatPNG:
		meta = pngMetadata(data)
	case formatWebP:
		meta = webpMetadata(data)
	default:
		return OrientNormal
	}
	return meta.orientation()
}

// pictureMetadata is what Pillow keeps in Image.info for orientation.
type pictureMetadata struct {
	exif []byte // info["exif"], possibly still prefixed by "Exif\0\0"
	xmp  []byte // info["XML:com.adobe.xmp"] or info["xmp"]
}

// orientation follows Image.getexif: the XMP tag is only consulted when the
// EXIF block has no Orientation entry at all.
func (p pictureMetadata) orientation() int {
	if v, found := exifOrientation(p.exif); found {
		return v
	}
	if v, ok := xmpOrientation(p.xmp); ok {
		return v
	}
	return OrientNormal
}

// xmpOrientation finds Pillow's pattern tiff:Orientation(="|>)([0-9]).
func xmpOrientation(xmp []byte) (int, bool) {
	const key = "tiff:Orientation"
	for rest := xmp; ; {
		i := bytes.Index(rest, []byte(key))
		if i < 0 {
			return 0, false
		}
		rest = rest[i+len(key):]
		switch {
		case len(rest) >= 3 && rest[0] == '=' && rest[1] == '"' && isDigit(rest[2]):
			return int(rest[2] - '0'), true
		case len(rest) >= 2 && rest[0] == '>' && isDigit(rest[1]):
			return int(rest[1] - '0'), true
		}
	}
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// tiffType describes one TIFF field type as TiffImagePlugin loads it.
type tiffType struct {
	code    uint16
	size    int  // bytes per value
	numeric bool // Pillow gives a number (an int, float or IFDRational)
}

// tiffTypes lists the field types Pillow knows; entries of other types are
// skipped as if absent. BYTE, ASCII and UNDEFINED load as bytes or str, which
// never match an orientation.
var tiffTypes = map[uint16]tiffType{
	1: {1, 1, false}, 2: {2, 1, false}, 3: {3, 2, true}, 4: {4, 4, true},
	5: {5, 8, true}, 6: {6, 1, true}, 7: {7, 1, false}, 8: {8, 2, true},
	9: {9, 4, true}, 10: {10, 8, true}, 11: {11, 4, true}, 12: {12, 8, true},
	13: {13, 4, true}, 16: {16, 8, true},
}

// exifOrientation reads tag 0x0112 from IFD0 of an EXIF block (a TIFF
// structure, optionally prefixed by one or more "Exif\0\0"), as Pillow's
// Exif.load does. found reports whether IFD0 has the tag (Pillow then ignores
// XMP); the value is 0 when the entry is not a usable number. Pillow keeps the
// entries read before a truncation, and a later duplicate replaces an earlier
// one; so do we.
func exifOrientation(exif []byte) (orientation int, found bool) {
	for bytes.HasPrefix(exif, []byte(exifHeader)) {
		exif = exif[len(exifHeader):]
	}
	order, ifd0, ok := tiffHeader(exif)
	if !ok || ifd0 > uint64(len(exif)) || len(exif)-int(ifd0) < 2 {
		return 0, false
	}
	pos := int(ifd0)
	count := int(order.Uint16(exif[pos:]))
	pos += 2
	const entrySize = 12
	for range count {
		if len(exif)-pos < entrySize {
			break
		}
		entry := exif[pos : pos+entrySize]
		pos += entrySize
		value, typ, st := entryValue(exif, entry, order)
		if st == entryUnreadable {
			break // Pillow stops reading the directory at such an entry
		}
		if st == entryPresent && order.Uint16(entry) == tagOrientation {
			orientation, found = orientationValue(value, typ, order), true
		}
	}
	return orientation, found
}

// tiffHeader checks the 8-byte TIFF header against Pillow's accepted prefixes
// (which include two byte-swapped magic numbers) and returns the byte order
// and the offset of IFD0. Little-endian BigTIFF makes Pillow's Exif.load fail;
// we treat it as having no orientation.
func tiffHeader(b []byte) (binary.ByteOrder, uint64, bool) {
	if len(b) < 8 {
		return nil, 0, false
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case "MM\x00\x2a", "MM\x2a\x00", "MM\x00\x2b":
		order = binary.BigEndian
	case "II\x2a\x00", "II\x00\x2a":
		order = binary.LittleEndian
	default:
		return nil, 0, false
	}
	return order, uint64(order.Uint32(b[4:8])), true
}

// entryStatus says how Pillow's ImageFileDirectory_v2.load treats an entry.
type entryStatus int

const (
	entryPresent    entryStatus = iota // stored in the directory
	entrySkipped                       // unknown type or no data: ignored
	entryUnreadable                    // value outside the data: reading stops
)

// entryValue returns the bytes of one 12-byte IFD entry's value: inline when
// it fits in 4 bytes, else at the offset it gives.
func entryValue(tiff, entry []byte, order binary.ByteOrder) ([]byte, tiffType, entryStatus) {
	typ, ok := tiffTypes[order.Uint16(entry[2:])]
	if !ok {
		return nil, typ, entrySkipped
	}
	size := uint64(order.Uint32(entry[4:])) * uint64(typ.size)
	switch {
	case size == 0:
		return nil, typ, entrySkipped
	case size <= 4:
		return entry[8 : 8+size], typ, entryPresent
	}
	off := uint64(order.Uint32(entry[8:]))
	if off+size > uint64(len(tiff)) {
		return nil, typ, entryUnreadable
	}
	return tiff[off : off+size], typ, entryPresent
}

// orientationValue is the orientation Pillow sees for a present entry, or 0
// when the value is not a number it would match (bytes, text, a fraction).
func orientationValue(value []byte, typ tiffType, order binary.ByteOrder) int {
	if !typ.numeric {
		return 0
	}
	n, ok := firstNumber(value, typ.code, order)
	if !ok {
		return 0
	}
	return n
}

// firstNumber decodes the first value of a numeric TIFF field. Pillow looks the
// value up in a dict keyed by ints, so a float or rational counts only when it
// is exactly a whole number; a tag with several values uses the first (TiffTags
// declares Orientation as a single value).
func firstNumber(b []byte, typ uint16, order binary.ByteOrder) (int, bool) {
	var f float64
	switch typ {
	case 3:
		return int(order.Uint16(b)), true
	case 4, 13:
		return int(order.Uint32(b)), true
	case 16:
		v := order.Uint64(b)
		return int(min(v, math.MaxInt32)), true
	case 6:
		return int(int8(b[0])), true
	case 8:
		return int(int16(order.Uint16(b))), true
	case 9:
		return int(int32(order.Uint32(b))), true
	case 5:
		num, den := order.Uint32(b), order.Uint32(b[4:])
		if den == 0 {
			return 0, false
		}
		f = float64(num) / float64(den)
	case 10:
		num, den := int32(order.Uint32(b)), int32(order.Uint32(b[4:]))
		if den == 0 {
			return 0, false
		}
		f = float64(num) / float64(den)
	case 11:
		f = float64(math.Float32frombits(order.Uint32(b)))
	case 12:
		f = math.Float64frombits(order.Uint64(b))
	default:
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

// jpegMetadata collects what JpegImagePlugin keeps from the segments before
// the first scan: EXIF is the first APP1 "Exif\0\0" segment with the payload
// of any later ones appended; XMP is the last XMP APP1 segment, after its
// namespace header.
func jpegMetadata(data []byte) pictureMetadata {
	var meta pictureMetadata
	appended := false
	jpegSegments(data, func(marker byte, seg []byte) bool {
		if marker != jpegAPP1 {
			return true
		}
		switch {
		case bytes.HasPrefix(seg, []byte(exifHeader)) && meta.exif == nil:
			meta.exif = seg
		case bytes.HasPrefix(seg, []byte(exifHeader)):
			if !appended { // copy before appending: seg aliases data
				meta.exif = append([]byte(nil), meta.exif...)
				appended = true
			}
			meta.exif = append(meta.exif, seg[len(exifHeader):]...)
		case bytes.HasPrefix(seg, []byte(jpegXMPHeader)):
			meta.xmp = seg[len(jpegXMPHeader):]
		}
		return true
	})
	return meta
}

// pngSignatureLen is the length of the 8-byte PNG file signature.
const pngSignatureLen = 8

// pngChunks calls fn for each complete chunk (type and payload) after the
// signature, stopping at IEND, at a truncated chunk or when fn returns false.
// CRCs are not checked here: the pixel decoder already did.
func pngChunks(data []byte, fn func(typ string, payload []byte) bool) {
	for pos := pngSignatureLen; len(data)-pos >= 12; {
		n := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if n > uint64(len(data)-pos-12) {
			return
		}
		payload := data[pos+8 : pos+8+int(n)]
		pos += 12 + int(n)
		if typ == "IEND" || !fn(typ, payload) {
			return
		}
	}
}

// pngMetadata collects what PngImagePlugin stores for getexif: info["exif"]
// from the last eXIf chunk or tEXt chunk keyed "exif", and the last text chunk
// (tEXt, zTXt or iTXt) keyed "XML:com.adobe.xmp" or "Raw profile type exif".
// Pillow also reads the chunks after the image data, so we scan the whole
// file.
func pngMetadata(data []byte) pictureMetadata {
	var meta pictureMetadata
	var rawExif []byte
	pngChunks(data, func(typ string, payload []byte) bool {
		if typ == "eXIf" {
			meta.exif = payload
			return true
		}
		key, text, ok := pngText(typ, payload)
		switch {
		case !ok:
		case key == pngExifKeyword && typ == "tEXt":
			meta.exif = text
		case key == pngXMPKeyword:
			meta.xmp = text
		case key == pngRawExifKeyword:
			rawExif = text
		}
		return true
	})
	if meta.exif == nil && rawExif != nil {
		meta.exif = decodeRawProfile(rawExif)
	}
	return meta
}

// pngText splits a PNG text chunk into keyword and (decompressed) text; ok is
// false for other chunk types and for chunks Pillow cannot read.
func pngText(typ string, payload []byte) (key string, text []byte, ok bool) {
	if typ != "tEXt" && typ != "zTXt" && typ != "iTXt" {
		return "", nil, false
	}
	k, rest, found := bytes.Cut(payload, []byte{0})
	if !found {
		return "", nil, false
	}
	key = string(k)
	switch typ {
	case "tEXt":
		return key, rest, true
	case "zTXt": // compression method byte, then a zlib stream
		if len(rest) < 1 || rest[0] != 0 {
			return "", nil, false
		}
		text, ok = inflateLimited(rest[1:])
		return key, text, ok
	}
	// iTXt: compression flag, method, language\0, translated keyword\0, text.
	if len(rest) < 2 {
		return "", nil, false
	}
	compressed, method := rest[0], rest[1]
	parts := bytes.SplitN(rest[2:], []byte{0}, 3)
	if len(parts) != 3 {
		return "", nil, false
	}
	text = parts[2]
	if compressed != 0 {
		if method != 0 {
			return "", nil, false
		}
		text, ok = inflateLimited(text)
		return key, text, ok
	}
	return key, text, true
}

// inflateLimited decompresses a zlib stream of at most maxPNGTextBytes, so a
// small chunk cannot expand into a huge allocation.
func inflateLimited(z []byte) ([]byte, bool) {
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, false
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxPNGTextBytes+1))
	if err != nil || len(out) > maxPNGTextBytes {
		return nil, false
	}
	return out, true
}

// decodeRawProfile decodes ImageMagick's "Raw profile type exif" text the way
// Image.getexif does: drop the first three lines ("", "exif", the length) and
// read the rest as hex, whitespace ignored. Invalid hex gives no EXIF.
func decodeRawProfile(text []byte) []byte {
	lines := bytes.SplitN(text, []byte{'\n'}, 4)
	if len(lines) < 4 {
		return nil
	}
	digits := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\v' || r == '\f' {
			return -1
		}
		return r
	}, lines[3])
	out := make([]byte, hex.DecodedLen(len(digits)))
	if _, err := hex.Decode(out, digits); err != nil {
		return nil
	}
	return out
}

// WebP container constants (RIFF, "WEBP", VP8X feature flags).
const (
	riffHeaderLen = 12
	webpFlagXMP   = 0x04
	webpFlagEXIF  = 0x08
)

// webpMetadata returns the first EXIF and "XMP " chunks of an extended (VP8X)
// WebP, as libwebp's demuxer exposes them to Pillow: only when the VP8X flags
// announce them. Simple (VP8/VP8L-only) files carry no metadata.
func webpMetadata(data []byte) pictureMetadata {
	var meta pictureMetadata
	if len(data) < riffHeaderLen+8+1 || string(data[:4]) != "RIFF" ||
		string(data[8:12]) != "WEBP" || string(data[12:16]) != "VP8X" {
		return meta
	}
	flags := data[riffHeaderLen+8]
	for pos := riffHeaderLen; len(data)-pos >= 8; {
		fourcc := string(data[pos : pos+4])
		n := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
		if n > uint64(len(data)-pos-8) {
			break
		}
		payload := data[pos+8 : pos+8+int(n)]
		pos += 8 + int(n) + int(n&1) // chunks are padded to even length
		switch {
		case fourcc == "EXIF" && flags&webpFlagEXIF != 0 && meta.exif == nil:
			meta.exif = payload
		case fourcc == "XMP " && flags&webpFlagXMP != 0 && meta.xmp == nil:
			meta.xmp = payload
		}
	}
	return meta
}
