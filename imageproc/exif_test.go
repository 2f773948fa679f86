package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"testing"
)

// letters is a 3×2 picture whose pixels are the letters a..f (in R, G and B),
// so that orientation results can be written as text:
//
//	a b c
//	d e f
func letters() *RGB {
	m := NewRGB(3, 2)
	for i := range 6 {
		v := byte('a' + i)
		m.Pix[i*3], m.Pix[i*3+1], m.Pix[i*3+2] = v, v, v
	}
	return m
}

// grid writes a picture of letters row by row, rows separated by "/".
func grid(m *RGB) string {
	var b []byte
	for y := range m.Height {
		if y > 0 {
			b = append(b, '/')
		}
		for x := range m.Width {
			b = append(b, m.Pix[(y*m.Width+x)*3])
		}
	}
	return string(b)
}

// TestOrientAllEight: each orientation gives what ImageOps.exif_transpose's
// Image.transpose method gives (Pillow's Transpose.c).
func TestOrientAllEight(t *testing.T) {
	want := map[int]string{
		0:                "abc/def", // not an orientation: unchanged
		OrientNormal:     "abc/def",
		OrientFlipH:      "cba/fed",  // FLIP_LEFT_RIGHT
		OrientRotate180:  "fed/cba",  // ROTATE_180
		OrientFlipV:      "def/abc",  // FLIP_TOP_BOTTOM
		OrientTranspose:  "ad/be/cf", // TRANSPOSE: across the main diagonal
		OrientRotate270:  "da/eb/fc", // ROTATE_270: 90° clockwise
		OrientTransverse: "fc/eb/da", // TRANSVERSE: across the other diagonal
		OrientRotate90:   "cf/be/ad", // ROTATE_90: 90° counter-clockwise
		9:                "abc/def",
	}
	for o, w := range want {
		got := Orient(letters(), o)
		if g := grid(got); g != w {
			t.Errorf("orientation %d: got %s, want %s", o, g, w)
		}
		if len(got.Pix) != got.Width*got.Height*3 {
			t.Errorf("orientation %d: %dx%d with %d bytes", o, got.Width, got.Height, len(got.Pix))
		}
	}
}

// ifdEntry is one raw 12-byte IFD entry: value holds the 4 value bytes
// (inline value or offset), already in the block's byte order.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte
}

// byteOrder is what binary.BigEndian and binary.LittleEndian both are.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffBlock lays out a TIFF header, IFD0 at offset 8 with the entries, and
// extra bytes after the IFD (at offset 8+2+12n+4).
func tiffBlock(order byteOrder, entries []ifdEntry, extra []byte) []byte {
	b := []byte("MM\x00\x2a")
	if order == binary.LittleEndian {
		b = []byte("II\x2a\x00")
	}
	b = order.AppendUint32(b, 8)
	b = order.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = order.AppendUint16(b, e.tag)
		b = order.AppendUint16(b, e.typ)
		b = order.AppendUint32(b, e.count)
		b = append(b, e.value[:]...)
	}
	b = order.AppendUint32(b, 0) // no next IFD
	return append(b, extra...)
}

// extraOffset is where tiffBlock puts its extra bytes.
func extraOffset(n int) uint32 { return uint32(8 + 2 + 12*n + 4) }

func short(order binary.ByteOrder, v uint16) (b [4]byte) {
	order.PutUint16(b[:], v)
	return b
}

func long(order binary.ByteOrder, v uint32) (b [4]byte) {
	order.PutUint32(b[:], v)
	return b
}

func TestExifOrientation(t *testing.T) {
	be, le := binary.BigEndian, binary.LittleEndian
	orient := func(_ byteOrder, typ uint16, count uint32, v [4]byte) ifdEntry {
		return ifdEntry{tagOrientation, typ, count, v}
	}
	other := ifdEntry{0x010F, 2, 4, [4]byte{'C', 'a', 'm', 0}} // Make, inline ASCII
	rational := func(num, den uint32) []byte { return be.AppendUint32(be.AppendUint32(nil, num), den) }
	double := func(f float64) []byte { return be.AppendUint64(nil, math.Float64bits(f)) }

	cases := []struct {
		name      string
		exif      []byte
		want      int
		wantFound bool
	}{
		{"big-endian SHORT", tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 6))}, nil), 6, true},
		{"little-endian SHORT", tiffBlock(le, []ifdEntry{orient(le, 3, 1, short(le, 3))}, nil), 3, true},
		{"Exif prefix", append([]byte(exifHeader), tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 8))}, nil)...), 8, true},
		{"two Exif prefixes", append([]byte(exifHeader+exifHeader), tiffBlock(le, []ifdEntry{orient(le, 3, 1, short(le, 5))}, nil)...), 5, true},
		{"after another tag", tiffBlock(be, []ifdEntry{other, orient(be, 3, 1, short(be, 7))}, nil), 7, true},
		{"LONG", tiffBlock(le, []ifdEntry{orient(le, 4, 1, long(le, 8))}, nil), 8, true},
		{"SIGNED SHORT", tiffBlock(be, []ifdEntry{orient(be, 8, 1, short(be, 2))}, nil), 2, true},
		{"SIGNED BYTE", tiffBlock(be, []ifdEntry{orient(be, 6, 1, [4]byte{4})}, nil), 4, true},
		{"negative SIGNED LONG", tiffBlock(be, []ifdEntry{orient(be, 9, 1, long(be, math.MaxUint32))}, nil), -1, true},
		{"two SHORTs: the first counts", tiffBlock(be, []ifdEntry{orient(be, 3, 2, [4]byte{0, 6, 0, 3})}, nil), 6, true},
		{"RATIONAL 6/1", tiffBlock(be, []ifdEntry{orient(be, 5, 1, long(be, extraOffset(1)))}, rational(6, 1)), 6, true},
		{"RATIONAL 13/2 is no orientation", tiffBlock(be, []ifdEntry{orient(be, 5, 1, long(be, extraOffset(1)))}, rational(13, 2)), 0, true},
		{"RATIONAL x/0", tiffBlock(be, []ifdEntry{orient(be, 5, 1, long(be, extraOffset(1)))}, rational(6, 0)), 0, true},
		{"DOUBLE 3.0", tiffBlock(be, []ifdEntry{orient(be, 12, 1, long(be, extraOffset(1)))}, double(3)), 3, true},
		{"BYTE loads as bytes", tiffBlock(be, []ifdEntry{orient(be, 1, 1, [4]byte{6})}, nil), 0, true},
		{"ASCII", tiffBlock(be, []ifdEntry{orient(be, 2, 2, [4]byte{'6', 0})}, nil), 0, true},
		{"unknown type is skipped", tiffBlock(be, []ifdEntry{orient(be, 99, 1, short(be, 6))}, nil), 0, false},
		{"zero count is skipped", tiffBlock(be, []ifdEntry{orient(be, 3, 0, short(be, 6))}, nil), 0, false},
		{"a later duplicate wins", tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 3)), orient(be, 3, 1, short(be, 6))}, nil), 6, true},
		{"a skipped duplicate does not", tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 3)), orient(be, 99, 1, short(be, 6))}, nil), 3, true},
		{"value out of range stops the directory",
			tiffBlock(be, []ifdEntry{{0x010F, 2, 100, long(be, 5000)}, orient(be, 3, 1, short(be, 6))}, nil), 0, false},
		{"orientation before an unreadable entry survives",
			tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 6)), {0x010F, 2, 100, long(be, 5000)}}, nil), 6, true},
		{"huge count does not overflow", tiffBlock(be, []ifdEntry{orient(be, 12, math.MaxUint32, long(be, math.MaxUint32))}, nil), 0, false},
		{"truncated directory keeps what it read",
			tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 8)), other}, nil)[:8+2+12+5], 8, true},
		{"swapped magic is accepted", append([]byte("MM\x2a\x00"), tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 6))}, nil)[4:]...), 6, true},
		{"little-endian BigTIFF", append([]byte("II\x2b\x00"), tiffBlock(le, []ifdEntry{orient(le, 3, 1, short(le, 6))}, nil)[4:]...), 0, false},
		{"not TIFF", append([]byte("XX\x00\x2a"), tiffBlock(be, []ifdEntry{orient(be, 3, 1, short(be, 6))}, nil)[4:]...), 0, false},
		{"IFD offset past the end", append([]byte("MM\x00\x2a\xff\xff\xff\xff"), 0, 1), 0, false},
		{"header only", []byte("MM\x00\x2a\x00\x00\x00\x08"), 0, false},
		{"empty", nil, 0, false},
		{"prefix only", []byte(exifHeader), 0, false},
	}
	for _, c := range cases {
		got, found := exifOrientation(c.exif)
		if got != c.want || found != c.wantFound {
			t.Errorf("%s: got (%d, %v), want (%d, %v)", c.name, got, found, c.want, c.wantFound)
		}
	}
}

func TestXMPOrientation(t *testing.T) {
	cases := []struct {
		xmp    string
		want   int
		wantOK bool
	}{
		{`<rdf:Description tiff:Orientation="6"/>`, 6, true},
		{`<tiff:Orientation>8</tiff:Orientation>`, 8, true},
		{`tiff:Orientation="x" then tiff:Orientation="3"`, 3, true},
		{`tiff:Orientation = "6"`, 0, false},
		{`tiff:Orientation="`, 0, false},
		{`exif:Orientation="6"`, 0, false},
		{``, 0, false},
	}
	for _, c := range cases {
		got, ok := xmpOrientation([]byte(c.xmp))
		if got != c.want || ok != c.wantOK {
			t.Errorf("%q: got (%d, %v), want (%d, %v)", c.xmp, got, ok, c.want, c.wantOK)
		}
	}
}

// TestMetadataPrecedence: XMP only counts when EXIF has no Orientation entry.
func TestMetadataPrecedence(t *testing.T) {
	be := binary.BigEndian
	withOrientation := func(v uint16) []byte {
		return tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, v)}}, nil)
	}
	noOrientation := tiffBlock(be, []ifdEntry{{0x010F, 2, 4, [4]byte{'C', 'a', 'm', 0}}}, nil)
	xmp := []byte(`tiff:Orientation="6"`)
	cases := []struct {
		name string
		meta pictureMetadata
		want int
	}{
		{"EXIF wins", pictureMetadata{withOrientation(3), xmp}, 3},
		{"EXIF 1 still wins", pictureMetadata{withOrientation(1), xmp}, 1},
		{"XMP when EXIF lacks the tag", pictureMetadata{noOrientation, xmp}, 6},
		{"XMP alone", pictureMetadata{nil, xmp}, 6},
		{"nothing", pictureMetadata{}, 1},
	}
	for _, c := range cases {
		if got := c.meta.orientation(); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// jpegSegment builds a marker segment with its length field.
func jpegSegment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	return append(b, payload...)
}

func TestJPEGMetadata(t *testing.T) {
	be := binary.BigEndian
	block := tiffBlock(be, []ifdEntry{{0x010F, 2, 4, [4]byte{'C', 'a', 'm', 0}}, {tagOrientation, 3, 1, short(be, 8)}}, nil)
	split := 14 // the second APP1 carries the rest, which Pillow appends
	var f []byte
	f = append(f, 0xFF, jpegSOI)
	f = append(f, jpegSegment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))...)
	f = append(f, 0xFF, 0xFF) // fill bytes
	f = append(f, jpegSegment(jpegAPP1, append([]byte(exifHeader), block[:split]...))...)
	f = append(f, 0x00, 0x42) // junk between segments
	f = append(f, jpegSegment(jpegAPP1, []byte(jpegXMPHeader+`tiff:Orientation="2"`))...)
	f = append(f, jpegSegment(jpegAPP1, append([]byte(exifHeader), block[split:]...))...)
	f = append(f, jpegSegment(jpegSOS, []byte{1, 1, 0, 0, 63, 0})...)
	f = append(f, jpegSegment(jpegAPP1, []byte(jpegXMPHeader+`tiff:Orientation="5"`))...) // after SOS: ignored

	meta := jpegMetadata(f)
	if got, found := exifOrientation(meta.exif); got != 8 || !found {
		t.Errorf("EXIF orientation (%d, %v), want 8 from the concatenated segments", got, found)
	}
	if got, _ := xmpOrientation(meta.xmp); got != 2 {
		t.Errorf("XMP orientation %d, want 2", got)
	}
	if got := imageOrientation(f, formatJPEG); got != 8 {
		t.Errorf("imageOrientation = %d, want 8", got)
	}
	if !bytes.Equal(f[:2], []byte{0xFF, jpegSOI}) {
		t.Error("input modified")
	}
	// Truncated in the middle of a segment: no panic, no metadata past it.
	for n := range len(f) {
		jpegMetadata(f[:n])
	}
}

// pngChunk encodes one chunk with its CRC.
func pngChunk(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	b = append(b, typ...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngWithChunks encodes m and inserts chunks before IEND.
func pngWithChunks(t *testing.T, m image.Image, chunks ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	const iendLen = 12
	out := append([]byte(nil), b[:len(b)-iendLen]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, b[len(b)-iendLen:]...)
}

func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestPNGMetadata(t *testing.T) {
	be := binary.BigEndian
	exif := func(v uint16) []byte { return tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, v)}}, nil) }
	small := image.NewGray(image.Rect(0, 0, 2, 1))
	rawProfile := "\nexif\n      30\n" + hex.EncodeToString(append([]byte(exifHeader), exif(7)[:12]...)) + "\n" +
		hex.EncodeToString(exif(7)[12:]) + "\n"
	cases := []struct {
		name   string
		chunks [][]byte
		want   int
	}{
		{"eXIf", [][]byte{pngChunk("eXIf", exif(6))}, 6},
		{"last eXIf wins", [][]byte{pngChunk("eXIf", exif(6)), pngChunk("eXIf", exif(3))}, 3},
		{"tEXt exif", [][]byte{pngChunk("tEXt", append([]byte("exif\x00"), exif(5)...))}, 5},
		{"XMP in zTXt", [][]byte{pngChunk("zTXt", append([]byte(pngXMPKeyword+"\x00\x00"), deflate(t, []byte(`tiff:Orientation="8"`))...))}, 8},
		{"XMP in compressed iTXt", [][]byte{pngChunk("iTXt", append([]byte(pngXMPKeyword+"\x00\x01\x00en\x00\x00"), deflate(t, []byte(`<tiff:Orientation>2</tiff:Orientation>`))...))}, 2},
		{"XMP in plain iTXt", [][]byte{pngChunk("iTXt", []byte(pngXMPKeyword+"\x00\x00\x00\x00\x00"+`tiff:Orientation="4"`))}, 4},
		{"EXIF beats XMP", [][]byte{pngChunk("tEXt", []byte(pngXMPKeyword+"\x00"+`tiff:Orientation="4"`)), pngChunk("eXIf", exif(3))}, 3},
		{"raw profile", [][]byte{pngChunk("tEXt", []byte(pngRawExifKeyword+"\x00"+rawProfile))}, 7},
		{"bad raw profile", [][]byte{pngChunk("tEXt", []byte(pngRawExifKeyword+"\x00\nexif\n 3\nzz"))}, 1},
		{"broken zTXt", [][]byte{pngChunk("zTXt", []byte(pngXMPKeyword+"\x00\x00garbage"))}, 1},
		{"none", nil, 1},
	}
	for _, c := range cases {
		data := pngWithChunks(t, small, c.chunks...)
		if got := imageOrientation(data, formatPNG); got != c.want {
			t.Errorf("%s: orientation %d, want %d", c.name, got, c.want)
		}
	}
}

// TestInflateLimited: a zTXt bomb is ignored, not inflated without bound.
func TestInflateLimited(t *testing.T) {
	bomb := deflate(t, make([]byte, maxPNGTextBytes+1))
	if _, ok := inflateLimited(bomb); ok {
		t.Error("accepted text over the limit")
	}
	if out, ok := inflateLimited(deflate(t, []byte("hi"))); !ok || string(out) != "hi" {
		t.Errorf("got %q, %v", out, ok)
	}
}

// riffChunk encodes one RIFF chunk, padded to even length.
func riffChunk(fourcc string, payload []byte) []byte {
	b := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	b = append(b, payload...)
	if len(payload)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webpFile wraps chunks in the RIFF "WEBP" container.
func webpFile(chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(b, "WEBP"...), body...)
}

// vp8x is a VP8X chunk for a w×h canvas with the given feature flags.
func vp8x(flags byte, w, h int) []byte {
	p := []byte{flags, 0, 0, 0,
		byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16),
		byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)}
	return riffChunk("VP8X", p)
}

func TestWebPMetadata(t *testing.T) {
	be := binary.BigEndian
	exif := riffChunk("EXIF", tiffBlock(be, []ifdEntry{{tagOrientation, 3, 1, short(be, 6)}}, nil))
	xmp := riffChunk("XMP ", []byte(`tiff:Orientation="3"`))
	image := riffChunk("VP8L", []byte{0x2f, 0, 0, 0, 0}) // only the container matters here
	cases := []struct {
		name string
		data []byte
		want int
	}{
		{"EXIF flagged", webpFile(vp8x(webpFlagEXIF, 1, 1), image, exif), 6},
		{"EXIF not flagged", webpFile(vp8x(0, 1, 1), image, exif), 1},
		{"XMP flagged", webpFile(vp8x(webpFlagXMP, 1, 1), image, xmp), 3},
		{"EXIF beats XMP", webpFile(vp8x(webpFlagXMP|webpFlagEXIF, 1, 1), image, xmp, exif), 6},
		{"simple format has none", webpFile(image, exif), 1},
		{"truncated", webpFile(vp8x(webpFlagEXIF, 1, 1), image, exif)[:40], 1},
	}
	for _, c := range cases {
		if got := imageOrientation(c.data, formatWebP); got != c.want {
			t.Errorf("%s: orientation %d, want %d", c.name, got, c.want)
		}
	}
}
