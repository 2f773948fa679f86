package idefics3

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the decoder with image.Decode
	_ "image/png"  // registers the decoder with image.Decode
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

// alphaMode selects how the test decoder turns a translucent PNG into RGB.
type alphaMode int

const (
	// alphaDrop keeps the stored (straight) colour and drops alpha: PIL's
	// Image.convert("RGB") on an "RGBA" image, as transformers' load_image
	// does.
	alphaDrop alphaMode = iota
	// alphaOverWhite composites onto opaque white with Pillow's
	// alpha_composite arithmetic, as transformers' convert_to_rgb does for
	// images that are still RGBA when they reach the image processor.
	alphaOverWhite
)

// decodeRGB decodes a PNG or JPEG with the standard library into 8-bit RGB
// the way PIL's convert("RGB") would for the modes in the fixture (L, P,
// RGB, RGBA, and YCbCr JPEG with Go's own colour conversion).
func decodeRGB(data []byte, mode alphaMode) (*imageproc.RGB, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	out := imageproc.NewRGB(b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			r, g, bl := c.R, c.G, c.B
			if mode == alphaOverWhite {
				r, g, bl = overWhite(c)
			}
			i := ((y-b.Min.Y)*out.Width + (x - b.Min.X)) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, bl
		}
	}
	return out, nil
}

// overWhite is Pillow's ImagingAlphaComposite of c over opaque white.
func overWhite(c color.NRGBA) (byte, byte, byte) {
	const bits = 7
	if c.A == 0 {
		return 255, 255, 255
	}
	a := uint32(c.A)
	outa255 := a*255 + 255*(255-a)
	coef1 := a * 255 * 255 * (1 << bits) / outa255
	coef2 := 255*(1<<bits) - coef1
	mix := func(v uint8) byte {
		t := uint32(v)*coef1 + 255*coef2 + (0x80 << bits)
		return byte((((t >> 8) + t) >> 8) >> bits)
	}
	return mix(c.R), mix(c.G), mix(c.B)
}

// fixtureOptions reads the fixture's preprocessor_config.json into Options
// (the package itself never reads config files).
func fixtureOptions(t testing.TB) Options {
	t.Helper()
	dir, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modelconfig.Load(modelconfig.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := OptionsFrom(cfg.Preprocessor, cfg.Preprocessor.DoImageSplitting)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

func readCaseFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := fixture.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadCaseImage decodes a case picture with the project's decoder
// (imageproc.Decode: EXIF orientation, PIL-compatible conversion to RGB).
func loadCaseImage(t testing.TB, name string) *imageproc.RGB {
	t.Helper()
	img, err := imageproc.Decode(readCaseFile(t, name), imageproc.DecodeOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// loadCaseImageStdlib decodes a case picture with the standard library
// (no EXIF, Go's JPEG colour conversion) and the given alpha handling.
func loadCaseImageStdlib(t testing.TB, name string, mode alphaMode) *imageproc.RGB {
	t.Helper()
	img, err := decodeRGB(readCaseFile(t, name), mode)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

func tileSHA(m *imageproc.RGB) string {
	s := sha256.Sum256(m.Pix)
	return hex.EncodeToString(s[:])
}

// referenceTilesDir holds reference tiles of the rocket_tall case as PNG
// (copied from the fixture's tiny-smolvlm-tiles).
func referenceTilesDir() string {
	return filepath.Join(fixture.Root(), "testdata", "reference")
}

// diffStats returns the mean and max absolute byte difference.
func diffStats(a, b *imageproc.RGB) (mean float64, maxDiff int) {
	if len(a.Pix) != len(b.Pix) {
		return math.NaN(), -1
	}
	sum := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		d = max(d, -d)
		sum += d
		maxDiff = max(maxDiff, d)
	}
	return float64(sum) / float64(len(a.Pix)), maxDiff
}

// JPEG tolerance of the project on preprocessed tiles against the reference
// (the same as imageproc's): Go's inverse DCT is not libjpeg's.
const (
	jpegTileMeanTolerance = 0.5
	jpegTileMaxTolerance  = 8
)

// compareReferenceTile reports how tile i differs from the reference PNG
// tile of case id. It returns false, without a word, when testdata/reference
// has no such tile; otherwise it logs the difference and returns true with
// ok telling whether it is within the project's JPEG tolerance.
func compareReferenceTile(t *testing.T, id string, i int, got *imageproc.RGB) (compared, ok bool) {
	t.Helper()
	path := filepath.Join(referenceTilesDir(), fmt.Sprintf("%s_%02d.png", id, i))
	data, err := os.ReadFile(path)
	if err != nil {
		return false, false
	}
	ref, err := decodeRGB(data, alphaDrop)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	mean, mx := diffStats(got, ref)
	t.Logf("  tile %d vs reference PNG: mean |diff| %.4f, max %d", i, mean, mx)
	return true, mean <= jpegTileMeanTolerance && mx <= jpegTileMaxTolerance
}

func shapeOf(c fixture.Case) [5]int64 {
	var s [5]int64
	copy(s[:], c.PixelValuesShape)
	return s
}

// caseDecoders are the two ways the tests decode case pictures: the
// project's decoder and the standard library (which isolates this package
// from decoder changes; for PNG both must give the reference bytes).
var caseDecoders = []struct {
	name string
	load func(t testing.TB, name string) *imageproc.RGB
}{
	{"imageproc.Decode", loadCaseImage},
	{"stdlib", func(t testing.TB, name string) *imageproc.RGB { return loadCaseImageStdlib(t, name, alphaDrop) }},
}

// runCase preprocesses one case and counts the tiles whose sha256 equals the
// reference.
func runCase(t *testing.T, c fixture.Case, opts Options, img *imageproc.RGB) (*Result, int) {
	t.Helper()
	opts.DoImageSplitting = c.DoImageSplitting
	res, err := Preprocess(img, opts)
	if err != nil {
		t.Fatal(err)
	}
	match := 0
	for i, tile := range res.Tiles {
		if i < len(c.TileSHA256) && tileSHA(tile) == c.TileSHA256[i] {
			match++
		}
	}
	return res, match
}

// TestFixturePNGCases: for every PNG case, with either decoder, every tile
// is bit-identical to the reference (sha256 of its uint8 bytes) and the
// shape matches.
func TestFixturePNGCases(t *testing.T) {
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	opts := fixtureOptions(t)
	n := 0
	for _, c := range cases {
		if !strings.HasSuffix(c.Image, ".png") {
			continue
		}
		n++
		for _, dec := range caseDecoders {
			t.Run(c.ID+"/"+dec.name, func(t *testing.T) {
				img := dec.load(t, c.Image)
				res, match := runCase(t, c, opts, img)
				if res.Shape != shapeOf(c) {
					t.Errorf("shape %v, want %v", res.Shape, c.PixelValuesShape)
				}
				if len(res.Tiles) != len(c.TileSHA256) || match != len(c.TileSHA256) {
					t.Errorf("%d/%d tiles match the reference (%d tiles made)", match, len(c.TileSHA256), len(res.Tiles))
					for i, tile := range res.Tiles {
						if i < len(c.TileSHA256) && tileSHA(tile) != c.TileSHA256[i] {
							compareReferenceTile(t, c.ID, i, tile)
						}
					}
				}
				t.Logf("%s via %s (%d×%d, split=%v): shape %v, grid %d×%d, %d/%d tiles bit-exact",
					c.Image, dec.name, img.Width, img.Height, c.DoImageSplitting, res.Shape, res.Rows, res.Cols, match, len(c.TileSHA256))
			})
		}
	}
	if n == 0 {
		t.Fatal("no PNG cases in the fixture")
	}
}

// TestAlphaHypotheses decides how the reference turned the RGBA PNG into
// RGB: dropping alpha (PIL convert("RGB") in load_image) or compositing on
// white (transformers' convert_to_rgb on an RGBA image). Only the first
// matches; the test fails if that ever changes.
func TestAlphaHypotheses(t *testing.T) {
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	opts := fixtureOptions(t)
	for _, c := range cases {
		if c.ID != "alpha_gradient_split" {
			continue
		}
		_, drop := runCase(t, c, opts, loadCaseImageStdlib(t, c.Image, alphaDrop))
		_, white := runCase(t, c, opts, loadCaseImageStdlib(t, c.Image, alphaOverWhite))
		t.Logf("%s: drop alpha matches %d/%d tiles, composite over white %d/%d",
			c.Image, drop, len(c.TileSHA256), white, len(c.TileSHA256))
		if drop != len(c.TileSHA256) || white == len(c.TileSHA256) {
			t.Errorf("expected only the drop-alpha hypothesis to match")
		}
		return
	}
	t.Fatal("case alpha_gradient_split not found")
}

// TestFixtureJPEGCases checks the JPEG cases with each decoder: the shape
// (with the project's decoder, which applies the EXIF orientation) and, where
// testdata/reference holds the reference tiles (rocket_tall_split), that the
// project's decoder keeps every tile within the JPEG tolerance. The standard
// library's decoder (other chroma upsampling, no EXIF) is only logged: the
// app never uses it.
func TestFixtureJPEGCases(t *testing.T) {
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	opts := fixtureOptions(t)
	compared := 0
	for _, c := range cases {
		if !strings.HasSuffix(c.Image, ".jpg") {
			continue
		}
		for _, dec := range caseDecoders {
			t.Run(c.ID+"/"+dec.name, func(t *testing.T) {
				img := dec.load(t, c.Image)
				res, match := runCase(t, c, opts, img)
				for i, tile := range res.Tiles {
					done, ok := compareReferenceTile(t, c.ID, i, tile)
					if !done || dec.name != "imageproc.Decode" {
						continue
					}
					compared++
					if !ok {
						t.Errorf("tile %d differs from the reference by more than mean %.1f / max %d levels",
							i, jpegTileMeanTolerance, jpegTileMaxTolerance)
					}
				}
				shapeOK := res.Shape == shapeOf(c)
				t.Logf("%s via %s (%d×%d): shape match %v, %d/%d tiles sha-exact",
					c.Image, dec.name, img.Width, img.Height, shapeOK, match, len(c.TileSHA256))
				if !shapeOK && dec.name == "imageproc.Decode" {
					t.Errorf("shape %v, want %v", res.Shape, c.PixelValuesShape)
				}
			})
		}
	}
	if compared == 0 {
		t.Error("no JPEG tile was compared with a reference tile (testdata/reference/*_NN.png missing?)")
	}
}

// TestPixelValues checks the float32 tensor against the fixture's contract
// pixel_values = (u8/255 - 0.5)/0.5, the layout and the mask.
func TestPixelValues(t *testing.T) {
	opts := fixtureOptions(t)
	img := imageproc.NewRGB(700, 300)
	for i := range img.Pix {
		img.Pix[i] = byte(i*7 + i/2101)
	}
	res, err := Preprocess(img, opts)
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := int(res.Shape[1]), int(res.Shape[3]), int(res.Shape[4])
	if len(res.PixelValues) != n*3*h*w || len(res.PixelAttentionMask) != n*h*w || len(res.Tiles) != n {
		t.Fatalf("sizes: %d values, %d mask, %d tiles for shape %v", len(res.PixelValues), len(res.PixelAttentionMask), len(res.Tiles), res.Shape)
	}
	maxErr := 0.0
	for i, tile := range res.Tiles {
		for c := range 3 {
			for y := range h {
				for x := range w {
					got := float64(res.PixelValues[((i*3+c)*h+y)*w+x])
					want := (float64(tile.Pix[(y*w+x)*3+c])/255 - 0.5) / 0.5
					maxErr = max(maxErr, math.Abs(got-want))
				}
			}
		}
	}
	if maxErr > 1e-6 {
		t.Errorf("max |pixel - (u8/255-0.5)/0.5| = %g", maxErr)
	}
	for i, m := range res.PixelAttentionMask {
		if !m {
			t.Fatalf("mask[%d] false: every tile is full size", i)
		}
	}
	t.Logf("max |pixel - (u8/255-0.5)/0.5| = %.3g over %d values", maxErr, len(res.PixelValues))
}

// TestPixelLUTNumpy pins the reference's float32 arithmetic on values whose
// float64 and float32 evaluations differ.
func TestPixelLUTNumpy(t *testing.T) {
	opts := Options{DoRescale: true, RescaleFactor: 0.00392156862745098, DoNormalize: true,
		Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}}
	lut := pixelLUT(opts)
	for c := range 3 {
		for v := range 256 {
			x := float32(float64(v) * opts.RescaleFactor)
			want := (x - float32(opts.Mean[c])) / float32(opts.Std[c])
			if lut[c][v] != want {
				t.Fatalf("lut[%d][%d] = %v, want %v", c, v, lut[c][v], want)
			}
		}
	}
	raw := pixelLUT(Options{})
	if raw[0][200] != 200 {
		t.Errorf("no rescale/normalize: got %v, want 200", raw[0][200])
	}
}

func TestOutputSizes(t *testing.T) {
	for _, tc := range []struct{ h, w, maxLen, wantH, wantW int }{
		{400, 640, 2048, 1280, 2048},   // alpha_gradient: 2048/1.6
		{80, 100, 2048, 1638, 2048},    // chelsea_small: 1638.4 truncated
		{2400, 300, 2048, 2048, 256},   // rocket_tall
		{300, 451, 2048, 1362, 2048},   // palette: 1362.2 truncated, even
		{1000, 1, 2048, 2048, 2},       // 2.048 → 2
		{1, 1000, 2048, 2, 2048},       // 2.048 → 2 (even already)
		{3, 1001, 2048, 6, 2048},       // 2048/(1001/3) = 6.1378…
		{512, 512, 2048, 2048, 2048},   // square upscales
		{3000, 2000, 2048, 2048, 1366}, // 1365.33 → 1365 → odd → 1366
	} {
		h, w := resizeOutputSizeRescaleToMaxLen(tc.h, tc.w, tc.maxLen)
		h, w = resizeOutputSizeScaleBelowUpperBound(h, w, MaxImageSize)
		if h != tc.wantH || w != tc.wantW {
			t.Errorf("%d×%d (h×w) → %d×%d, want %d×%d", tc.h, tc.w, h, w, tc.wantH, tc.wantW)
		}
	}
	// The 4096 cap only bites when longest_edge exceeds it.
	if h, w := resizeOutputSizeScaleBelowUpperBound(3000, 8000, MaxImageSize); h != 1536 || w != 4096 {
		t.Errorf("cap: got %d×%d, want 1536×4096", h, w)
	}
	for _, tc := range []struct{ h, w, tile, wantH, wantW int }{
		{1280, 2048, 512, 1536, 2048},
		{1638, 2048, 512, 2048, 2048},
		{2048, 256, 512, 2048, 512},
		{512, 512, 512, 512, 512},
		{2048, 1366, 512, 2048, 1536},
	} {
		if h, w := visionEncoderSize(tc.h, tc.w, tc.tile); h != tc.wantH || w != tc.wantW {
			t.Errorf("vision encoder size %d×%d → %d×%d, want %d×%d", tc.h, tc.w, h, w, tc.wantH, tc.wantW)
		}
	}
}

func TestSplitGrid(t *testing.T) {
	opts := fixtureOptions(t)
	img := imageproc.NewRGB(640, 400)
	res, err := Preprocess(img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Cols != 4 || len(res.Tiles) != 13 {
		t.Errorf("grid %d×%d with %d tiles, want 3×4 with 13", res.Rows, res.Cols, len(res.Tiles))
	}
	opts.DoImageSplitting = false
	if res, err = Preprocess(img, opts); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 0 || res.Cols != 0 || len(res.Tiles) != 1 || res.Shape != [5]int64{1, 1, 3, 512, 512} {
		t.Errorf("no split: grid %d×%d, %d tiles, shape %v", res.Rows, res.Cols, len(res.Tiles), res.Shape)
	}
	// Without the first resize a small image is one tile and no grid.
	opts.DoImageSplitting, opts.DoResize = true, false
	if res, err = Preprocess(imageproc.NewRGB(300, 200), opts); err != nil {
		t.Fatal(err)
	}
	if res.Rows != 0 || res.Cols != 0 || len(res.Tiles) != 1 || res.Tiles[0].Width != 512 || res.Tiles[0].Height != 512 {
		t.Errorf("small image: grid %d×%d, %d tiles", res.Rows, res.Cols, len(res.Tiles))
	}
}

func TestPreprocessErrors(t *testing.T) {
	good := fixtureOptions(t)
	img := imageproc.NewRGB(10, 10)
	for _, tc := range []struct {
		name string
		img  *imageproc.RGB
		opts func(o *Options)
	}{
		{"nil image", nil, nil},
		{"zero width", &imageproc.RGB{Width: 0, Height: 5}, nil},
		{"zero height", &imageproc.RGB{Width: 5, Height: 0}, nil},
		{"negative size", &imageproc.RGB{Width: -1, Height: 5}, nil},
		{"short Pix", &imageproc.RGB{Width: 4, Height: 4, Pix: make([]byte, 10)}, nil},
		{"absurd size", &imageproc.RGB{Width: 1 << 40, Height: 1 << 40}, nil},
		{"tile size 0", img, func(o *Options) { o.TileSize = 0 }},
		{"longest edge 0", img, func(o *Options) { o.LongestEdge = 0 }},
		{"bad filter", img, func(o *Options) { o.Resample = 9 }},
		{"std 0", img, func(o *Options) { o.Std[1] = 0 }},
		{"NaN mean", img, func(o *Options) { o.Mean[2] = math.NaN() }},
		{"Inf rescale", img, func(o *Options) { o.RescaleFactor = math.Inf(1) }},
		{"huge tile", img, func(o *Options) { o.TileSize = 1 << 20 }},
	} {
		opts := good
		if tc.opts != nil {
			tc.opts(&opts)
		}
		res, err := Preprocess(tc.img, opts)
		if err == nil || res != nil {
			t.Errorf("%s: got %v, %v; want an error", tc.name, res, err)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

func BenchmarkPreprocess(b *testing.B) {
	for _, name := range []string{"images/astronaut.png", "images/alpha_gradient.png"} {
		img := loadCaseImage(b, name)
		opts := fixtureOptions(b)
		b.Run(filepath.Base(name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Preprocess(img, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
