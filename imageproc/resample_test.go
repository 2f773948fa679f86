package imageproc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// pattern is a deterministic test picture with smooth areas and hard 0/255
// edges (so negative filter lobes overshoot and clip). The Pillow goldens
// below were made from the same formula.
func pattern(w, h int) *RGB {
	m := NewRGB(w, h)
	i := 0
	for y := range h {
		for x := range w {
			for c := range 3 {
				switch {
				case (x+2*y+c)%5 == 0:
					m.Pix[i] = 255
				case (3*x+y+c)%7 == 0:
					m.Pix[i] = 0
				default:
					m.Pix[i] = byte((x*x*7 + y*y*3 + x*y*11 + c*89) % 256)
				}
				i++
			}
		}
	}
	return m
}

// pillowGolden: sha256 of Image.frombytes("RGB", (w, h), pattern).resize((ow, oh), f)
// computed with Pillow 9.4.0; the tall cases (h > 100·w, shrinking) follow
// Pillow ≥ 12.2's vertical-first order, computed on 9.4.0 as
// im.resize((w, oh), f, (0, 0, w, h)).resize((ow, oh), f, (0, 0, w, oh)).
var pillowGolden = []struct {
	w, h, ow, oh int
	f            Filter
	sha          string
}{
	{61, 47, 20, 30, 0, "8eef2f1ed6098892a20a25a0e60b2a6dbe7838be1ed9f6d0f4e6d8b0a9dc96bb"},
	{61, 47, 20, 30, 1, "4959868b4e8672ee81dd0b8102ead8985748cc47745afd9a935ddc279a386416"},
	{61, 47, 20, 30, 2, "dbc1aaee6c7cc562e5aa593f0798d777eafe269cc06ff4ac2aa8785c2d97852f"},
	{61, 47, 20, 30, 3, "725193dee017250532fe610a0a01279ea2b393906ad38247a5077e5f6ccdd7ab"},
	{61, 47, 20, 30, 4, "ba5ae1f5f33b9ea1a854fdfad555bb12da8ee84adc571d512ed8f3c9ca541e90"},
	{61, 47, 20, 30, 5, "2c25bb31c1a45f0ae20483edb19b313360d9a2644dd2da914bdda75c4a89025b"},
	{61, 47, 128, 100, 0, "819ebfab6115729b7438294d02791ab3f0adab0f19e43997533a67d5353e2e52"},
	{61, 47, 128, 100, 1, "286d5fc7646284f055221bb5d6f6fd3a895eab80d195c0fb71c3983a301d7561"},
	{61, 47, 128, 100, 2, "85ee35812297de349a03872c4ef2fbaf732014e3ef9776f5fb3e1586ea544c63"},
	{61, 47, 128, 100, 3, "ed37103a5d7e76b9833785b54c73603fe0e172e899cbf5af6da9ed3d8c318a57"},
	{61, 47, 128, 100, 4, "819ebfab6115729b7438294d02791ab3f0adab0f19e43997533a67d5353e2e52"},
	{61, 47, 128, 100, 5, "083cc23484c2bc02b31b06c96cbd58b57a5e92dfb96fdaf42a9d58e729a1cc4b"},
	{61, 47, 61, 20, 0, "1d8787d26d93f2c185124ceaac792ff57c8797c10f471319b517b991090535b4"},
	{61, 47, 61, 20, 1, "ca5ad88a7d3bf40f6f4bb9afb6d87c984bdb049aaf3cabfb61a9a698b417841a"},
	{61, 47, 61, 20, 2, "29c098fb2c638f6bf1427da2be9bfe8fcec268df1994f2491b2186221fefa646"},
	{61, 47, 61, 20, 3, "4ba078bb2af9bfdd04f902bb65d61b6c9a639bf72501a1603ad679d317bcca90"},
	{61, 47, 61, 20, 4, "29c5b2dffa341567918c5881097428c15af15967e2ae3ed8551ab755a1e9cf70"},
	{61, 47, 61, 20, 5, "83531788a6ea4ce2d0a6164b4de9491c9d489941145d6c09da118028df6be36f"},
	{61, 47, 10, 47, 0, "22e895231e97cd7892a55da0989616c117f7c25f09473a831d142a3bfdbb0e9b"},
	{61, 47, 10, 47, 1, "f67865c416863ac59809aac257fc73b3b79db02a91065c5b561c1d2d4cdafae8"},
	{61, 47, 10, 47, 2, "a4c6f0811d915bb3b1b941ddd0fd9ac33db8caad7af23a8a178d62ea3b0a46fc"},
	{61, 47, 10, 47, 3, "9f92252b161b65281ae5792f1bac2018674e94883c8839189b309b985246020a"},
	{61, 47, 10, 47, 4, "084679d7c6339f9752300e88eb632642ee1d0e970bbb5784d4750b71402d5da2"},
	{61, 47, 10, 47, 5, "058a84314704a59346ca9884c039e1f2b29de46233e0a02152709fdda868f99d"},
	{61, 47, 300, 7, 0, "875a0328750d37f40857a3c0d6763b8fc1ccbabe5503dd8086e045d5d26ced6a"},
	{61, 47, 300, 7, 1, "de86e4ae049b80020207c795f40c7088b5a275b41c3a111abfd722bf656ce992"},
	{61, 47, 300, 7, 2, "3cbd420b8b790bb0f959177791a9152660769819241dd9fccfb59b20dbc87608"},
	{61, 47, 300, 7, 3, "a6f6b83dc1f7a45bd6cedb7bf998c03b5573c7c458f6e5f18c9e3f975fedc866"},
	{61, 47, 300, 7, 4, "b29c89347b2de39a98f4a6388c9573fe078e1b98ba4a300934a46b1b027af62e"},
	{61, 47, 300, 7, 5, "fcf74c39ac79e6dd0e603641913779f5628e32cb30f7a4844f67fd26610a68ec"},
	{3, 400, 2, 150, 0, "ce9f79c0c12d36c49345e78ea4026dff2af8f1f14ba44e05195ae034e58ac171"},
	{3, 400, 2, 150, 1, "8083b148ec19a9de92344000677844dd2efddd5420442b4de779dafcafa94c83"},
	{3, 400, 2, 150, 2, "53d94754d058908fe99450a30a275acdc4089ef82bbcbcf8bd670ac2048655f8"},
	{3, 400, 2, 150, 3, "0a6124ce2a49c4b32c8f9c154a5055107fe3e784420b5cebcd1f9979fc44c810"},
	{3, 400, 2, 150, 4, "695bd6c7bed146acbeb050ea2fb9f1a42bd7b359d4fd6a688291caed63ca1807"},
	{3, 400, 2, 150, 5, "1e9588c8150d17ad57809e5bd13391513e16153da29e711777edd9ddc68b8186"},
	{2, 1000, 5, 999, 0, "33ae5989594e0f8da96c26b256852d55be7c439089149ba331b1c2e9e7269f30"},
	{2, 1000, 5, 999, 1, "2b0f2b23ecc9066caaa74757a02eaa70a29600ab3eb62c946f4bae2fa175018e"},
	{2, 1000, 5, 999, 2, "33662142b2cf790ebc26c9c978f970336abe9015b5659720748fc453e842215c"},
	{2, 1000, 5, 999, 3, "47c66fdb3aea7d13772f9060f4974a4fcbdc89d0178e481305f9754896a4a294"},
	{2, 1000, 5, 999, 4, "7365e561b5f158637630cd2cd4d88c0e659c8b423533acba3aed1b74fabe750e"},
	{2, 1000, 5, 999, 5, "2deb76adef0eaf35af6e74685904fd839f6d952c3be38465f1b58583b231616d"},
}

func TestResizeMatchesPillow(t *testing.T) {
	for _, g := range pillowGolden {
		out := Resize(pattern(g.w, g.h), g.ow, g.oh, g.f)
		if out == nil || out.Width != g.ow || out.Height != g.oh {
			t.Fatalf("%d×%d → %d×%d %v: got %v", g.w, g.h, g.ow, g.oh, g.f, out)
		}
		sum := sha256.Sum256(out.Pix)
		if got := hex.EncodeToString(sum[:]); got != g.sha {
			t.Errorf("%d×%d → %d×%d %v: sha256 %s, want %s", g.w, g.h, g.ow, g.oh, g.f, got, g.sha)
		}
	}
}

// TestResizeTinyPillow compares whole outputs of tiny resizes with Pillow
// 9.4.0's bytes.
func TestResizeTinyPillow(t *testing.T) {
	down := Resize(pattern(7, 5), 3, 4, Lanczos)
	wantDown := []byte{68, 71, 227, 84, 136, 150, 229, 88, 108, 57, 180, 147, 128, 152, 92, 140, 86, 190, 99, 122, 155, 144, 194, 120, 99, 123, 125, 56, 182, 170, 214, 134, 93, 105, 128, 174}
	if !bytes.Equal(down.Pix, wantDown) {
		t.Errorf("7×5 → 3×4 LANCZOS:\n got %v\nwant %v", down.Pix, wantDown)
	}
	up := Resize(pattern(3, 2), 5, 3, Lanczos)
	wantUp := []byte{255, 84, 179, 191, 103, 174, 5, 94, 176, 0, 10, 194, 43, 0, 206, 128, 90, 175, 91, 92, 193, 14, 103, 220, 5, 121, 223, 19, 128, 217, 0, 96, 171, 0, 81, 212, 23, 112, 255, 10, 231, 252, 0, 255, 228}
	if !bytes.Equal(up.Pix, wantUp) {
		t.Errorf("3×2 → 5×3 LANCZOS:\n got %v\nwant %v", up.Pix, wantUp)
	}
}

func TestParseFilter(t *testing.T) {
	for v, want := range []Filter{Nearest, Lanczos, Bilinear, Bicubic, Box, Hamming} {
		f, err := ParseFilter(v)
		if err != nil || f != want {
			t.Errorf("ParseFilter(%d) = %v, %v; want %v", v, f, err, want)
		}
	}
	for _, v := range []int{-1, 6, 100} {
		if _, err := ParseFilter(v); err == nil {
			t.Errorf("ParseFilter(%d): want an error", v)
		}
	}
	if Lanczos.String() != "LANCZOS" || Filter(7).String() != "Filter(7)" {
		t.Errorf("String: %q, %q", Lanczos.String(), Filter(7).String())
	}
}

func TestResizeIdentityReturnsCopy(t *testing.T) {
	src := pattern(13, 9)
	for f := Nearest; f <= Hamming; f++ {
		out := Resize(src, 13, 9, f)
		if !bytes.Equal(out.Pix, src.Pix) {
			t.Fatalf("%v: identity resize changed pixels", f)
		}
		out.Pix[0] ^= 0xff
		if out.Pix[0] == src.Pix[0] {
			t.Fatalf("%v: identity resize shares memory with its source", f)
		}
	}
}

func TestResizeInvalid(t *testing.T) {
	src := pattern(4, 4)
	for _, tc := range []struct {
		src  *RGB
		w, h int
		f    Filter
	}{
		{nil, 2, 2, Lanczos},
		{&RGB{}, 2, 2, Lanczos},
		{&RGB{Width: 4, Height: 4, Pix: make([]byte, 5)}, 2, 2, Lanczos},
		{src, 0, 2, Lanczos},
		{src, 2, -1, Bilinear},
		{src, 2, 2, Filter(6)},
		{src, 1 << 20, 1 << 20, Lanczos},
	} {
		if out := Resize(tc.src, tc.w, tc.h, tc.f); out != nil {
			t.Errorf("Resize(%v, %d, %d, %v) = %d×%d, want nil", tc.src != nil, tc.w, tc.h, tc.f, out.Width, out.Height)
		}
	}
}

// Hand-checked: 2×1 → 1×1 bilinear has support 2 around centre 1.0, both
// weights 0.75 before normalisation, so 0.5 each = 2^21 in fixed point:
// (2^21 + 10·2^21 + 21·2^21) >> 22 = 16 (15.5 rounds up).
func TestBilinearHalfRoundsUp(t *testing.T) {
	src := &RGB{Width: 2, Height: 1, Pix: []byte{10, 0, 255, 21, 1, 255}}
	out := Resize(src, 1, 1, Bilinear)
	if want := []byte{16, 1, 255}; !bytes.Equal(out.Pix, want) {
		t.Errorf("got %v, want %v", out.Pix, want)
	}
}

// Box 4×1 → 2×1 averages pairs (round half up); the vertical pass is
// skipped because the height is unchanged.
func TestBoxAverages(t *testing.T) {
	src := &RGB{Width: 4, Height: 1, Pix: []byte{0, 0, 0, 1, 2, 3, 100, 200, 255, 101, 201, 255}}
	out := Resize(src, 2, 1, Box)
	if want := []byte{1, 1, 2, 101, 201, 255}; !bytes.Equal(out.Pix, want) {
		t.Errorf("got %v, want %v", out.Pix, want)
	}
}

// Nearest samples pixel centres: 4 → 2 reads columns 1 and 3 (0.5·2 = 1,
// 1 + 2 = 3); 2 → 4 reads 0, 0, 1, 1.
func TestNearest(t *testing.T) {
	src := &RGB{Width: 4, Height: 1, Pix: []byte{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}}
	if out := Resize(src, 2, 1, Nearest); !bytes.Equal(out.Pix, []byte{1, 1, 1, 3, 3, 3}) {
		t.Errorf("4 → 2: got %v", out.Pix)
	}
	src = &RGB{Width: 2, Height: 1, Pix: []byte{5, 5, 5, 9, 9, 9}}
	if out := Resize(src, 4, 1, Nearest); !bytes.Equal(out.Pix, []byte{5, 5, 5, 5, 5, 5, 9, 9, 9, 9, 9, 9}) {
		t.Errorf("2 → 4: got %v", out.Pix)
	}
}

// A constant picture stays constant: the fixed-point weights of every
// output sample sum to 1 within rounding far below one level.
func TestResizeConstant(t *testing.T) {
	sizes := [][2]int{{1, 1}, {3, 2}, {17, 5}, {64, 64}, {5, 600}}
	for f := Nearest; f <= Hamming; f++ {
		for _, in := range sizes {
			for _, out := range sizes {
				src := NewRGB(in[0], in[1])
				for i := range src.Pix {
					src.Pix[i] = []byte{0, 137, 255}[i%3]
				}
				got := Resize(src, out[0], out[1], f)
				for i, v := range got.Pix {
					if v != []byte{0, 137, 255}[i%3] {
						t.Fatalf("%v %v → %v: byte %d = %d", f, in, out, i, v)
					}
				}
			}
		}
	}
}

// Mirroring the input mirrors the output when the scale is a power of two
// (the sample centres are then exact in binary, so the weights are exactly
// symmetric); gray stays gray.
func TestResizeSymmetry(t *testing.T) {
	mirror := func(m *RGB) *RGB {
		out := NewRGB(m.Width, m.Height)
		for y := range m.Height {
			for x := range m.Width {
				copy(out.Pix[(y*m.Width+x)*3:(y*m.Width+x)*3+3], m.Pix[(y*m.Width+m.Width-1-x)*3:])
			}
		}
		return out
	}
	src := pattern(32, 24)
	for f := Lanczos; f <= Hamming; f++ {
		for _, size := range [][2]int{{16, 12}, {64, 48}, {8, 24}} {
			a := mirror(Resize(src, size[0], size[1], f))
			b := Resize(mirror(src), size[0], size[1], f)
			if !bytes.Equal(a.Pix, b.Pix) {
				t.Errorf("%v → %v: mirror(resize) != resize(mirror)", f, size)
			}
		}
	}
	gray := NewRGB(20, 20)
	for i := range gray.Pix {
		gray.Pix[i] = byte((i / 3) * 13)
	}
	for f := Nearest; f <= Hamming; f++ {
		out := Resize(gray, 7, 31, f)
		for i := 0; i < len(out.Pix); i += 3 {
			if out.Pix[i] != out.Pix[i+1] || out.Pix[i] != out.Pix[i+2] {
				t.Fatalf("%v: pixel %d is not gray: %v", f, i/3, out.Pix[i:i+3])
			}
		}
	}
}

// The weights are shared between calls and between the two axes.
func TestCoeffsCached(t *testing.T) {
	a := coeffsFor(123, 45, Lanczos)
	if b := coeffsFor(123, 45, Lanczos); a != b {
		t.Error("coefficients were recomputed")
	}
	if c := coeffsFor(123, 45, Bicubic); c == a {
		t.Error("different filters share coefficients")
	}
}

func BenchmarkResize(b *testing.B) {
	for _, bc := range []struct {
		w, h, ow, oh int
		f            Filter
	}{
		{2048, 1536, 512, 384, Lanczos},
		{300, 200, 2048, 1366, Lanczos},
		{2048, 2048, 512, 512, Lanczos},
		{512, 512, 2048, 2048, Lanczos},
		{2048, 1536, 512, 384, Bilinear},
		{2048, 1536, 512, 384, Nearest},
	} {
		src := pattern(bc.w, bc.h)
		b.Run(fmt.Sprintf("%dx%d_to_%dx%d_%v", bc.w, bc.h, bc.ow, bc.oh, bc.f), func(b *testing.B) {
			b.SetBytes(int64(len(src.Pix)))
			b.ReportAllocs()
			for b.Loop() {
				Resize(src, bc.ow, bc.oh, bc.f)
			}
		})
	}
}
