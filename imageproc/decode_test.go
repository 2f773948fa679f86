package imageproc_test

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := fixture.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decode(t testing.TB, data []byte) *imageproc.RGB {
	t.Helper()
	m, err := imageproc.Decode(data, imageproc.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pix) != m.Width*m.Height*3 {
		t.Fatalf("%dx%d image with %d bytes", m.Width, m.Height, len(m.Pix))
	}
	return m
}

// naiveRGB converts through Go's per-pixel colour interface; for the PNG
// modes in the fixture (8-bit gray, palette, RGB, RGBA) that is exactly
// Pillow's convert("RGB").
func naiveRGB(t *testing.T, data []byte) *imageproc.RGB {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := imageproc.NewRGB(b.Dx(), b.Dy())
	for y := range b.Dy() {
		for x := range b.Dx() {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			copy(out.Pix[(y*b.Dx()+x)*3:], []byte{c.R, c.G, c.B})
		}
	}
	return out
}

// TestDecodeFixtureImages: every fixture picture decodes, with its size
// after orientation; PNGs agree with a naive per-pixel conversion.
func TestDecodeFixtureImages(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		gray bool
	}{
		{"alpha_gradient.png", 640, 400, false},
		{"astronaut.png", 512, 512, false},
		{"big_landscape.jpg", 3000, 2000, false},
		{"camera_gray.png", 512, 512, true},
		{"chelsea_small.png", 100, 80, false},
		{"coffee.jpg", 600, 400, false},
		{"coffee_exif_rot6.jpg", 400, 600, false},
		{"palette.png", 451, 300, false},
		{"rocket_tall.jpg", 300, 2400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := readFixture(t, "images/"+c.name)
			m := decode(t, data)
			if m.Width != c.w || m.Height != c.h {
				t.Fatalf("decoded %dx%d, want %dx%d", m.Width, m.Height, c.w, c.h)
			}
			if c.gray && !isGray(m) {
				t.Error("grayscale picture has colour")
			}
			if strings.HasSuffix(c.name, ".png") {
				if want := naiveRGB(t, data); !bytes.Equal(m.Pix, want.Pix) {
					t.Error("differs from the per-pixel conversion")
				}
			}
		})
	}
}

func isGray(m *imageproc.RGB) bool {
	for i := 0; i < len(m.Pix); i += 3 {
		if m.Pix[i] != m.Pix[i+1] || m.Pix[i] != m.Pix[i+2] {
			return false
		}
	}
	return true
}

// TestDecodeEXIFRotated: coffee_exif_rot6.jpg is coffee.jpg's pixel data
// with an EXIF orientation of 6, so it must decode to coffee.jpg turned 90°
// clockwise.
func TestDecodeEXIFRotated(t *testing.T) {
	plain := decode(t, readFixture(t, "images/coffee.jpg"))
	rotated := decode(t, readFixture(t, "images/coffee_exif_rot6.jpg"))
	if rotated.Width != plain.Height || rotated.Height != plain.Width {
		t.Fatalf("rotated is %dx%d, plain %dx%d", rotated.Width, rotated.Height, plain.Width, plain.Height)
	}
	if want := imageproc.Orient(plain, imageproc.OrientRotate270); !bytes.Equal(rotated.Pix, want.Pix) {
		t.Error("pixels differ from coffee.jpg rotated 90° clockwise")
	}
	// Top-left of the result is the bottom-left of the original.
	if !bytes.Equal(rotated.Pix[:3], plain.Pix[(plain.Height-1)*plain.Width*3:][:3]) {
		t.Error("rotation went the wrong way")
	}
}

// preprocessOptions reads the fixture's preprocessor_config.json.
func preprocessOptions(t *testing.T) idefics3.Options {
	t.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modelconfig.Load(modelconfig.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := idefics3.OptionsFrom(cfg.Preprocessor, cfg.Preprocessor.DoImageSplitting)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// JPEG tolerance of the project, on preprocessed tiles against the reference.
const (
	tileMeanTolerance = 0.5
	tileMaxTolerance  = 8
)

// TestDecodeMatchesReferenceTiles runs every fixture case through Decode and
// the Idefics3 preprocessing. PNG cases must give the reference tiles bit for
// bit (sha256 in cases.json). JPEG tiles differ a little because Go's inverse
// DCT is not libjpeg's; they must stay within the project's tolerance of the
// reference tiles wherever testdata/reference holds them (see referenceTiles).
func TestDecodeMatchesReferenceTiles(t *testing.T) {
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	base := preprocessOptions(t)
	compared := 0
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			opts := base
			opts.DoImageSplitting = c.DoImageSplitting
			res, err := idefics3.Preprocess(decode(t, readFixture(t, c.Image)), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Tiles) != len(c.TileSHA256) {
				t.Fatalf("%d tiles, want %d", len(res.Tiles), len(c.TileSHA256))
			}
			exact := 0
			for i, tile := range res.Tiles {
				if tileSHA256(tile) == c.TileSHA256[i] {
					exact++
				}
			}
			if strings.HasSuffix(c.Image, ".png") {
				if exact != len(res.Tiles) {
					t.Errorf("%d of %d tiles bit-identical to the reference", exact, len(res.Tiles))
				}
				return
			}
			t.Logf("%d of %d JPEG tiles bit-identical", exact, len(res.Tiles))
			ref := referenceTiles(t, c, opts)
			if ref == nil {
				t.Logf("no reference tiles in testdata/reference for %s: only the hashes above", c.ID)
				return
			}
			compared++
			compareTiles(t, res.Tiles, ref)
		})
	}
	if compared < 4 {
		t.Errorf("compared %d JPEG cases with reference tiles, want 4", compared)
	}
}

func tileSHA256(m *imageproc.RGB) string {
	sum := sha256.Sum256(m.Pix)
	return hex.EncodeToString(sum[:])
}

// referenceTiles returns the reference (PIL) tiles of a JPEG case, from
// testdata/reference: rocket_tall's tiles as PNG (from the fixture's
// tiny-smolvlm-tiles), and coffee.jpg decoded by libjpeg-turbo's djpeg (as
// PIL decodes it) and saved as PNG, preprocessed here. Either way the tiles
// must hash to the case's tile_sha256 — proof that they are the reference.
func referenceTiles(t *testing.T, c fixture.Case, opts idefics3.Options) []*imageproc.RGB {
	t.Helper()
	dir := filepath.Join(fixture.Root(), "testdata", "reference")
	var tiles []*imageproc.RGB
	switch c.Image {
	case "images/coffee.jpg", "images/coffee_exif_rot6.jpg":
		data, err := os.ReadFile(filepath.Join(dir, "coffee_libjpeg.png"))
		if err != nil {
			t.Fatal(err)
		}
		img := decode(t, data)
		if c.Image == "images/coffee_exif_rot6.jpg" {
			img = imageproc.Orient(img, 6)
		}
		res, err := idefics3.Preprocess(img, opts)
		if err != nil {
			t.Fatal(err)
		}
		tiles = res.Tiles
	default:
		for i := range c.TileSHA256 {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s_%02d.png", c.ID, i)))
			if err != nil {
				return nil
			}
			tiles = append(tiles, decode(t, data))
		}
	}
	for i, tile := range tiles {
		if tileSHA256(tile) != c.TileSHA256[i] {
			t.Fatalf("reference tile %d does not hash to cases.json's tile_sha256", i)
		}
	}
	return tiles
}

func compareTiles(t *testing.T, got, ref []*imageproc.RGB) {
	t.Helper()
	for i := range got {
		mean, maxDiff := diffStats(got[i].Pix, ref[i].Pix)
		t.Logf("tile %2d vs reference: mean |diff| %.4f, max %d", i, mean, maxDiff)
		if mean > tileMeanTolerance || maxDiff > tileMaxTolerance {
			t.Errorf("tile %d: mean %.4f, max %d; tolerance %.1f, %d", i, mean, maxDiff, tileMeanTolerance, tileMaxTolerance)
		}
	}
}

func diffStats(a, b []byte) (mean float64, maxDiff int) {
	if len(a) != len(b) {
		return 255, 255
	}
	sum := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		sum += d
		maxDiff = max(maxDiff, d)
	}
	return float64(sum) / float64(len(a)), maxDiff
}

// pngChunk encodes one chunk with its CRC.
func pngChunk(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	b = append(b, typ...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// rawPNG writes a PNG by hand: IHDR, the extra chunks (PLTE, tRNS, ...), one
// IDAT of the rows (each prefixed with filter type 0) and IEND.
func rawPNG(w, h int, depth, colorType byte, rows [][]byte, extra ...[]byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	for _, r := range rows {
		zw.Write(append([]byte{0}, r...))
	}
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	for _, c := range extra {
		out = append(out, c...)
	}
	out = append(out, pngChunk("IDAT", raw.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// gray3 is three RGB pixels of the given gray values.
func gray3(a, b, c byte) []byte { return []byte{a, a, a, b, b, b, c, c, c} }

// TestDecodePNGModes checks each PNG colour type and bit depth against what
// Pillow's PngImagePlugin modes and convert("RGB") give.
func TestDecodePNGModes(t *testing.T) {
	plte := pngChunk("PLTE", []byte{10, 20, 30, 1, 2, 3})
	cases := []struct {
		name string
		png  []byte
		want []byte
	}{
		// Pillow opens 16-bit gray as I;16 and I16_RGB clips at 255.
		{"16-bit gray clips", rawPNG(3, 1, 16, 0, [][]byte{{0x00, 0x12, 0x01, 0x00, 0xFF, 0xFF}}), gray3(0x12, 0xFF, 0xFF)},
		{"16-bit gray with tRNS clips", rawPNG(3, 1, 16, 0, [][]byte{{0x00, 0x12, 0x01, 0x00, 0xFF, 0xFF}}, pngChunk("tRNS", []byte{0, 0x12})), gray3(0x12, 0xFF, 0xFF)},
		// "RGB;16B", "RGBA;16B", "LA;16B": the high byte.
		{"16-bit RGB", rawPNG(1, 1, 16, 2, [][]byte{{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC}}), []byte{0x12, 0x56, 0x9A}},
		{"16-bit RGBA", rawPNG(1, 1, 16, 6, [][]byte{{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0, 0}}), []byte{0x12, 0x56, 0x9A}},
		{"16-bit gray+alpha", rawPNG(1, 1, 16, 4, [][]byte{{0x80, 0xFF, 0x00, 0x01}}), gray3(0x80, 0, 0)[:3]},
		{"8-bit gray+alpha", rawPNG(2, 1, 8, 4, [][]byte{{7, 0, 200, 255}}), gray3(7, 200, 0)[:6]},
		{"RGBA keeps colour under zero alpha", rawPNG(1, 1, 8, 6, [][]byte{{90, 80, 70, 0}}), []byte{90, 80, 70}},
		{"RGB with tRNS", rawPNG(1, 1, 8, 2, [][]byte{{90, 80, 70}}, pngChunk("tRNS", []byte{0, 90, 0, 80, 0, 70})), []byte{90, 80, 70}},
		{"1-bit gray", rawPNG(3, 1, 1, 0, [][]byte{{0b10100000}}), gray3(255, 0, 255)},
		{"2-bit gray", rawPNG(3, 1, 2, 0, [][]byte{{0b00011011}}), gray3(0, 85, 170)},
		{"4-bit gray", rawPNG(3, 1, 4, 0, [][]byte{{0x0F, 0x70}}), gray3(0, 255, 119)},
		{"palette with transparent entry", rawPNG(2, 1, 8, 3, [][]byte{{0, 1}}, plte, pngChunk("tRNS", []byte{255, 0})), []byte{10, 20, 30, 1, 2, 3}},
		{"index past the palette is black", rawPNG(3, 1, 8, 3, [][]byte{{1, 5, 0}}, plte), []byte{1, 2, 3, 0, 0, 0, 10, 20, 30}},
		{"2-bit palette", rawPNG(3, 1, 2, 3, [][]byte{{0b01000100}}, plte), []byte{1, 2, 3, 10, 20, 30, 1, 2, 3}},
	}
	for _, c := range cases {
		got, err := imageproc.Decode(c.png, imageproc.DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(got.Pix, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got.Pix, c.want)
		}
	}
}

// TestDecodePNGOrientation: a PNG eXIf chunk rotates the picture.
func TestDecodePNGOrientation(t *testing.T) {
	exif := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00")
	rows := [][]byte{{1, 2, 3, 4, 5, 6}} // 2×1: pixels 1,2,3 and 4,5,6
	got := decode(t, rawPNG(2, 1, 8, 2, rows, pngChunk("eXIf", exif)))
	// Orientation 8 (ROTATE_90): the right pixel ends on top.
	if got.Width != 1 || got.Height != 2 || !bytes.Equal(got.Pix, []byte{4, 5, 6, 1, 2, 3}) {
		t.Errorf("got %dx%d %v", got.Width, got.Height, got.Pix)
	}
}

// gifFile encodes a one-frame GIF with Go's encoder, then overwrites the
// transparent entry of the global colour table with a colour, as other
// encoders store it (Go's writes black there).
func gifFile(t *testing.T, screen image.Rectangle, frame *image.Paletted, global color.Palette, transparent int, stored color.RGBA) []byte {
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{
		Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: global, Width: screen.Dx(), Height: screen.Dy()},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	const globalTable = 13
	if transparent >= 0 {
		copy(b[globalTable+3*transparent:], []byte{stored.R, stored.G, stored.B})
	}
	return b
}

// TestDecodeGIF: the first frame lands on a canvas of the logical screen
// size, filled outside the frame with the transparent index (index 0 when
// there is none); colours come from the table as stored, transparency
// ignored, as Pillow's GifImagePlugin and P→RGB conversion do.
func TestDecodeGIF(t *testing.T) {
	red, green, blue := color.RGBA{200, 0, 0, 255}, color.RGBA{0, 200, 0, 255}, color.RGBA{0, 0, 200, 255}
	stored := color.RGBA{9, 8, 7, 255}
	withTransparent := color.Palette{red, green, color.RGBA{}, blue}
	frame := image.NewPaletted(image.Rect(1, 1, 3, 2), withTransparent)
	frame.Pix = []byte{2, 3}

	got := decode(t, gifFile(t, image.Rect(0, 0, 4, 2), frame, withTransparent, 2, stored))
	s, b := []byte{9, 8, 7}, []byte{0, 0, 200}
	want := bytes.Join([][]byte{s, s, s, s, s, s, b, s}, nil)
	if got.Width != 4 || got.Height != 2 || !bytes.Equal(got.Pix, want) {
		t.Errorf("with transparency: got %dx%d %v, want %v", got.Width, got.Height, got.Pix, want)
	}

	opaque := color.Palette{red, green, blue, color.RGBA{1, 2, 3, 255}}
	frame = image.NewPaletted(image.Rect(0, 1, 1, 2), opaque)
	frame.Pix = []byte{2}
	got = decode(t, gifFile(t, image.Rect(0, 0, 2, 2), frame, opaque, -1, stored))
	r := []byte{200, 0, 0}
	if want := bytes.Join([][]byte{r, r, b, r}, nil); !bytes.Equal(got.Pix, want) {
		t.Errorf("without transparency: got %v, want %v", got.Pix, want)
	}
}

// webpCases were made with libwebp's cwebp; libwebp is libwebp's dwebp
// output, which must match exactly.
var webpCases = []struct {
	name    string
	webp    string // base64
	libwebp string // base64 RGB
}{
	{
		name:    "lossy",
		webp:    "UklGRuAAAABXRUJQVlA4INQAAAAwBACdASoNAAkAAgA0JbACdDXAP0A6wD9gP2A9oAvQHMxSzO8AGCh3oTQA/gnftHOT/8Mz2nvt8+sWbrf/OtHx5RQJa0qHVaz91cP/de51bJ//5hdZ7+wj8fpZxt3bLb/vzTr+AKoqbPMXBe7BO8mI/8Vp5wZUI5kn20p/PgakeYH3px36pT/V5sX+WP9ek7/OW6F86bP76edv5rvqH2NXb+c1Ii+GH8iv5fuq2n/4Mp/kaiyPYnX1xdFD/QPIXjBks92QqXT0lP+Dftz/zRF+FCAAAA==",
		libwebp: "oTkAkEEBnoJ3cn6jET2OE0BwzNqf+c2OwTlipzCWjJX/d63r+v/N/9F1/M6Hg2hIam14h7Xq1///DxQALQcAijdYgjuQMTGVJzd06NSy2P+o9P+0IQgAZlYsW42MFEVA49Ob79WjjaSwhZ/UEgBHNgA3jDlDaJNcc4lN48mJ5NOigbam0v/zKhMAdlwsYI+IEkVacmiHgFJk/+vckVFwjFVm/+7jFBYIUoySFklF2ceZjmcy//XfAAsAaJBuYptYte5+PgAseUJuRS9Ey9HmiKDI8v//YUs3nnZT67+0d2ZT6v/TADYAV6oXIzpHydzxlaTF9ev/dEKXWB5ojGqDvaGoHwAQdk1Z5MejenAh/P+XgbKb3///PlSBOyp4m0iv/8z/bjdynnSijFWPwY2zZEc6i4dLxeR3V2EnfYVwYmWWqZLqfjaTbA9snEqd/9r/iTOFUiFdjqy4x//xPbBD",
	},
	{
		name:    "lossy with alpha",
		webp:    "UklGRioBAABXRUJQVlA4WAoAAAAQAAAADQAACQAAQUxQSBgAAAABmYzof4BI22YW5mL+RZ6dR0zABDC7zgFWUDgg7AAAAJAGAJ0BKg4ACgACADQlsAJ0RwB+s2WAfrN6KvsRfrl+mftAF6A5xD+j+0D2BagH6a/6rgJf0rMFIrzuYgAA/my97fJ3cAAe1Cbqm/5luKcoBemlr+Sk9a6Q/jD5Yhz//8DKT5n/QvIOP0q88qCcf86xoyxSkPfa5wlIDmkn/4nJrSf+wD++A/x/1paKaNFZrZkK6NAvPrvEiTSXOq/zmZs+z2H/OOmf8uJaJfyp0XIEY6Oss/DX0w1hXkO85g1k23S8/vVaDenQrziJDdlXhV4dtEZn5NnVfpfP/ZQ9YecRubZvVB+81s7FAAAA",
		libwebp: "z30AiksAmH9zf4StHDqCID5W1N50/89m0zRMuSmMlJL/d63r7f/I//+X8NFe6s13hnBTZmV4j7Hq4v//GBUAOAcAmjJIjjWKNi+THjx0wdmn0eaB1v+64/+3Hg0AYlQ3W4meF0FM7dCT+dOXlp+ujJvYEQBJGQg3QmNBXpVMapVta4BS48+S19Shcbywxf/9LBEAfVguZ4qOE0Rca2yFY19q6P/31v/qrUB1nkpm//HaACMAKqZ3AGAzys2hj2NC/+/nAwgAX5dgXJtqwtvgZ2uMYAAmkjdjSTAyt9/IV7+lv///R1c9l3Vm77u4emZJ3P+1ADgAb4l+NzhYNTIz2NrenaKu6/T/S1qJJjlibHqDrKmsHAAQc1NHz9xxXYQH4v/MABkAj66N7//1UE5mQSpkfler/9//UEZyhoCid2CPsZmfWVgAgZQiu9+djbmMbVE0n353flF3k1yhej2PXiB3hlCf/+j/W0uONThSkqVz+f/LhIdzOjU5+8WnjFJNNwAip2CqmVGi/9j/hTubUBp1npLfAAYqJkEjytyz//H2aUtn",
	},
	{
		name:    "lossless",
		webp:    "UklGRjYAAABXRUJQVlA4TCoAAAAvAkAAAB8gJCC6MYYbZpOQILnl/0UmspCA6LJtlho4//EWsAoOUhPR/wg=",
		libwebp: "5hQe5hQeFMgo8OYU8OYU3B7S",
	},
}

func TestDecodeWebPMatchesLibwebp(t *testing.T) {
	for _, c := range webpCases {
		got := decode(t, mustBase64(t, c.webp))
		if want := mustBase64(t, c.libwebp); !bytes.Equal(got.Pix, want) {
			mean, mx := diffStats(got.Pix, want)
			t.Errorf("%s: differs from libwebp: mean %.4f max %d", c.name, mean, mx)
		}
	}
}

// TestDecodeWebPOrientation wraps the lossless 3×2 case in an extended
// container with an EXIF chunk saying orientation 6.
func TestDecodeWebPOrientation(t *testing.T) {
	simple := mustBase64(t, webpCases[2].webp)
	plain := decode(t, simple)
	vp8l := simple[12:] // the VP8L chunk
	chunk := func(fourcc string, p []byte) []byte {
		b := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(p)))...)
		b = append(b, p...)
		if len(p)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	const exifFlag = 0x08
	vp8x := chunk("VP8X", []byte{exifFlag, 0, 0, 0, byte(plain.Width - 1), 0, 0, byte(plain.Height - 1), 0, 0})
	exif := chunk("EXIF", []byte("Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00"))
	body := append(append(append([]byte("WEBP"), vp8x...), vp8l...), exif...)
	file := append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
	got := decode(t, file)
	if want := imageproc.Orient(plain, imageproc.OrientRotate270); got.Width != want.Width || !bytes.Equal(got.Pix, want.Pix) {
		t.Errorf("got %dx%d, want the picture turned 90° clockwise", got.Width, got.Height)
	}
}

// cmykJPEG is a 3×2 CMYK JPEG written by ImageMagick (Adobe APP14 with
// transform 2, i.e. YCCK) from the lossless WebP case's picture.
const cmykJPEG = "/9j/7gAOQWRvYmUAZAAAAAAC/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/9sAQwECAgICAgIFAwMFCgcGBwoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoK/8AAFAgAAgADBAERAAIRAQMRAQQRAP/EABUAAQEAAAAAAAAAAAAAAAAAAAcJ/8QAIhAAAQIFBAMAAAAAAAAAAAAAAgEDBAUGERIABwgUITJh/8QAFQEBAQAAAAAAAAAAAAAAAAAABgj/xAAhEQABBAICAgMAAAAAAAAAAAACAQMEEgUGBxEACBMUIf/aAA4EAQACEQMRBAAAPwAq4dOObl8cacrbcZwqgnMb3O5N52vbin8Ix9sM3XcjLEBEUuq2EURPCJod7i7tueo+x2cxOCyUiJEa+tRlh5xpoLQ45lVtshAbGREXSJ2RKS/qqvkGbXynyfoGfewOr5yZAgs1+OPGkvsMN3AXDo00YNhdwyMqiljIiXtVVVr3W8nlDtTxRuSqGIlwupMCq+g/Nf/Z"

// TestDecodeCMYKJPEG: a YCCK JPEG comes back close to the picture it was
// made from (CMYK→RGB is Pillow's cmyk2rgb), and the same data without its
// Adobe marker still decodes (as plain CMYK, as libjpeg would take it).
func TestDecodeCMYKJPEG(t *testing.T) {
	data := mustBase64(t, cmykJPEG)
	got := decode(t, data)
	want := decode(t, mustBase64(t, webpCases[2].webp))
	if mean, _ := diffStats(got.Pix, want.Pix); got.Width != 3 || got.Height != 2 || mean > 8 {
		t.Errorf("got %dx%d, mean |diff| %.2f from the source picture", got.Width, got.Height, mean)
	}
	const adobeSegmentLen = 16
	stripped := append([]byte{0xFF, 0xD8}, data[2+adobeSegmentLen:]...)
	if _, err := imageproc.Decode(stripped, imageproc.DecodeOptions{}); err != nil {
		t.Errorf("without the Adobe marker: %v", err)
	}
}

func mustBase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hugeHeaders claim 100000×100000 or the format's maximum, with no pixel data.
func hugeHeaders() map[string][]byte {
	ihdr := binary.BigEndian.AppendUint32(nil, 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	pngHeader := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)

	// image/jpeg's DecodeConfig stops at the SOF only after a JFIF APP0.
	jfif := []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	sof := append(append([]byte{0xFF, 0xD8}, jfif...), 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xF0, 0xFF, 0xF0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	gifHeader := []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00")
	vp8x := []byte("RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xff\x3f\x00\xff\x3f\x00")
	return map[string][]byte{"PNG": pngHeader, "JPEG": sof, "GIF": gifHeader, "WebP": vp8x}
}

// TestDecodeRefusesHugeBeforeDecoding: a header claiming more pixels than
// MaxPixels is refused at once, without allocating the picture.
func TestDecodeRefusesHugeBeforeDecoding(t *testing.T) {
	for name, data := range hugeHeaders() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := imageproc.Decode(data, imageproc.DecodeOptions{})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, imageproc.ErrTooManyPixels) {
			t.Errorf("%s: got %v, want ErrTooManyPixels", name, err)
			continue
		}
		if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", name, allocated)
		}
		t.Logf("%s: %v", name, err)
	}
	_, err := imageproc.Decode(readFixture(t, "images/chelsea_small.png"), imageproc.DecodeOptions{MaxPixels: 100*80 - 1})
	if !errors.Is(err, imageproc.ErrTooManyPixels) || !strings.Contains(err.Error(), "100x80") {
		t.Errorf("one pixel over a custom limit: %v", err)
	}
	if _, err := imageproc.Decode(readFixture(t, "images/chelsea_small.png"), imageproc.DecodeOptions{MaxPixels: 100 * 80}); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
}

func TestDecodeRefusesUnknownAndEmpty(t *testing.T) {
	var bmpFile bytes.Buffer
	if err := bmp.Encode(&bmpFile, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"nil": nil, "empty": {}, "text": []byte("hello, world"),
		"BMP (registered, but not accepted)": bmpFile.Bytes(),
	} {
		_, err := imageproc.Decode(data, imageproc.DecodeOptions{})
		if !errors.Is(err, imageproc.ErrUnsupportedFormat) {
			t.Errorf("%s: got %v, want ErrUnsupportedFormat", name, err)
		}
	}
	zeroGIF := []byte("GIF89a\x00\x00\x05\x00\x00\x00\x00;")
	if _, err := imageproc.Decode(zeroGIF, imageproc.DecodeOptions{}); !errors.Is(err, imageproc.ErrEmptyImage) {
		t.Errorf("0×5 GIF: got %v, want ErrEmptyImage", err)
	}
	zeroPNG := rawPNG(0, 1, 8, 0, nil)
	if _, err := imageproc.Decode(zeroPNG, imageproc.DecodeOptions{}); err == nil {
		t.Error("0×1 PNG decoded")
	}
}

// TestDecodeCorruptFails: truncated and damaged files return errors, never
// panic.
func TestDecodeCorruptFails(t *testing.T) {
	for _, name := range []string{"chelsea_small.png", "palette.png", "coffee.jpg", "rocket_tall.jpg"} {
		data := readFixture(t, "images/"+name)
		for _, n := range []int{1, 8, 20, 100, len(data) / 3, len(data) / 2, len(data) - 100, len(data) - 1} {
			if _, err := imageproc.Decode(data[:n], imageproc.DecodeOptions{}); err == nil {
				t.Errorf("%s cut to %d bytes decoded", name, n)
			}
		}
		for _, at := range []int{len(data) / 4, len(data) / 2, len(data) - 16} {
			damaged := bytes.Clone(data)
			for i := range 16 {
				damaged[at+i] ^= 0x5A
			}
			imageproc.Decode(damaged, imageproc.DecodeOptions{}) // may or may not decode; must not panic
		}
	}
	data := mustBase64(t, webpCases[0].webp)
	for n := range len(data) {
		if _, err := imageproc.Decode(data[:n], imageproc.DecodeOptions{}); err == nil {
			t.Errorf("WebP cut to %d bytes decoded", n)
		}
	}
}

func TestFromRGBA(t *testing.T) {
	got, err := imageproc.FromRGBA(2, 1, []byte{1, 2, 3, 0, 4, 5, 6, 255})
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 2 || got.Height != 1 || !bytes.Equal(got.Pix, []byte{1, 2, 3, 4, 5, 6}) {
		t.Errorf("got %dx%d %v", got.Width, got.Height, got.Pix)
	}
	for _, c := range []struct {
		w, h int
		n    int
	}{{0, 1, 0}, {1, 0, 0}, {-1, -1, 4}, {2, 2, 15}, {1, 1, 5}, {1 << 40, 1 << 40, 0}} {
		if _, err := imageproc.FromRGBA(c.w, c.h, make([]byte, c.n)); err == nil {
			t.Errorf("%dx%d with %d bytes accepted", c.w, c.h, c.n)
		}
	}
}

// Encoded PNGs from Go's encoder are accepted too (RGBA, NRGBA, gray16 paths).
func TestDecodeGoEncodedPNG(t *testing.T) {
	src := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	src.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0x5678, 0x9ABC, 0x8000})
	src.SetNRGBA64(1, 0, color.NRGBA64{0xFFFF, 0x0000, 0x00FF, 0xFFFF})
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	if got := decode(t, buf.Bytes()); !bytes.Equal(got.Pix, []byte{0x12, 0x56, 0x9A, 0xFF, 0x00, 0x00}) {
		t.Errorf("got %v", got.Pix)
	}
}
