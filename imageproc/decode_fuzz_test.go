package imageproc_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"github.com/pocketvlm/smolvlm/imageproc"
)

// fuzzMaxPixels keeps fuzzed headers from making the decoders allocate much.
const fuzzMaxPixels = 4_000_000

// FuzzDecode feeds Decode arbitrary bytes: it must return an error or a
// consistent picture within the pixel limit, never panic.
func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
		for _, n := range []int{len(seed) / 2, len(seed) - 1} {
			f.Add(seed[:max(n, 0)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := imageproc.Decode(data, imageproc.DecodeOptions{MaxPixels: fuzzMaxPixels})
		if err != nil {
			return
		}
		if m.Width <= 0 || m.Height <= 0 || int64(m.Width)*int64(m.Height) > fuzzMaxPixels ||
			len(m.Pix) != m.Width*m.Height*3 {
			t.Fatalf("inconsistent result %dx%d with %d bytes", m.Width, m.Height, len(m.Pix))
		}
	})
}

// fuzzSeeds are small pictures of every format and colour mode: crops of the
// fixture pictures re-encoded (whole fixture files make the fuzzer's input
// minimisation crawl), the embedded WebP and CMYK JPEG cases, hand-made
// GIF, 16-bit PNG and EXIF JPEG, and the oversized headers.
func fuzzSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{mustBase64(tb, cmykJPEG)}
	for _, c := range webpCases {
		seeds = append(seeds, mustBase64(tb, c.webp))
	}
	for _, name := range []string{"camera_gray.png", "palette.png", "alpha_gradient.png", "chelsea_small.png"} {
		seeds = append(seeds, encodeSeed(tb, fixtureCrop(tb, name), png.Encode))
	}
	coffee := fixtureCrop(tb, "coffee.jpg")
	seeds = append(seeds, encodeSeed(tb, coffee, func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }))
	seeds = append(seeds, withEXIFOf(tb, seeds[len(seeds)-1], "coffee_exif_rot6.jpg"))
	seeds = append(seeds, encodeSeed(tb, image.NewGray16(image.Rect(0, 0, 3, 2)), png.Encode))

	var buf bytes.Buffer
	frame := image.NewPaletted(image.Rect(1, 1, 3, 2), color.Palette{color.Black, color.White, color.Transparent})
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 4, Height: 3}}); err != nil {
		tb.Fatal(err)
	}
	seeds = append(seeds, buf.Bytes())
	for _, h := range hugeHeaders() {
		seeds = append(seeds, h)
	}
	return seeds
}

// fixtureCrop decodes a fixture picture with the standard library and keeps
// its top-left 12×10 pixels, in the decoder's own image type.
func fixtureCrop(tb testing.TB, name string) image.Image {
	img, _, err := image.Decode(bytes.NewReader(readFixture(tb, "images/"+name)))
	if err != nil {
		tb.Fatal(err)
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		tb.Fatalf("%s: %T cannot be cropped", name, img)
	}
	return sub.SubImage(image.Rect(0, 0, 12, 10))
}

func encodeSeed(tb testing.TB, m image.Image, encode func(io.Writer, image.Image) error) []byte {
	var buf bytes.Buffer
	if err := encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// withEXIFOf inserts the APP1 EXIF segment of a fixture JPEG after SOI.
func withEXIFOf(tb testing.TB, jpg []byte, name string) []byte {
	src := readFixture(tb, "images/"+name)
	i := bytes.Index(src, []byte("\xff\xe1"))
	if i < 0 || i+4 > len(src) {
		tb.Fatalf("%s has no APP1 segment", name)
	}
	n := int(src[i+2])<<8 | int(src[i+3])
	out := append([]byte(nil), jpg[:2]...)
	out = append(out, src[i:i+2+n]...)
	return append(out, jpg[2:]...)
}
