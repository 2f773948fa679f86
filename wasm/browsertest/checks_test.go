//go:build !js

package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// The follow-up check's second question and its length.
const (
	followUpText   = "And what colour is it?"
	followUpMaxNew = 8
)

// followUpCase is the case the follow-up starts from: one tile, short prompt.
const followUpCase = "astronaut_nosplit"

// checkFollowUp asks a second question after first (the greedy answer of
// c): the vision encoder must not run again, and the answer must equal an
// uncached run over the whole conversation, computed by the native engine.
func checkFollowUp(t *testing.T, b *browser, c testCase, first reply) {
	t.Helper()
	r := b.mustCall(t, followUp(protocol.Ask{Text: followUpText, MaxNewTokens: followUpMaxNew}), askTimeout)
	checkReadBack(t, r)
	if r.done(t).VisionRuns != 0 {
		t.Errorf("follow-up ran the vision encoder %d times", r.done(t).VisionRuns)
	}
	if r.done(t).VisionRunsTotal != first.done(t).VisionRunsTotal {
		t.Errorf("visionRunsTotal went from %d to %d on a follow-up", first.done(t).VisionRunsTotal, r.done(t).VisionRunsTotal)
	}
	want, err := nativeFollowUp(c)
	if err != nil {
		t.Logf("follow-up: native engine unavailable, compared only vision runs: %v", err)
		return
	}
	if err := sameTokens(first.done(t).Tokens, want.first); err != nil {
		t.Errorf("follow-up, first answer vs native: %v", err)
	}
	if err := sameTokens(r.done(t).Tokens, want.whole); err != nil {
		t.Errorf("follow-up vs a fresh native run over the whole conversation: %v", err)
		return
	}
	t.Logf("follow-up: %d new prompt tokens, no vision run, answer %v equals a fresh native run over the whole conversation · %s",
		r.done(t).PromptTokens, r.done(t).Tokens, figures(r))
}

// checkReset forgets the conversation: the next question must give what
// the same question gives in a new chat, with no vision run.
func checkReset(t *testing.T, b *browser) {
	t.Helper()
	if _, err := evaluate[bool](b, `(h.send({type: "reset"}), true)`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ask := followUp(protocol.Ask{Text: followUpText, MaxNewTokens: 4})
	r := b.mustCall(t, ask, askTimeout)
	ask["newChat"] = true
	fresh := b.mustCall(t, ask, askTimeout)
	if r.done(t).PromptTokens != fresh.done(t).PromptTokens || r.done(t).VisionRuns != 0 {
		t.Errorf("after reset: %d prompt tokens and %d vision runs; a new chat has %d prompt tokens",
			r.done(t).PromptTokens, r.done(t).VisionRuns, fresh.done(t).PromptTokens)
	}
	if err := sameTokens(r.done(t).Tokens, fresh.done(t).Tokens); err != nil {
		t.Errorf("after reset vs a new chat: %v", err)
	}
	t.Logf("reset: the next question is answered as in a new chat (%d prompt tokens)", r.done(t).PromptTokens)
}

// nativeAnswers are the native engine's tokens for the follow-up check.
type nativeAnswers struct {
	first, whole []int64
}

var (
	nativeOnce sync.Once
	nativeRes  map[string]nativeAnswers
	nativeErr  error
)

// nativeFollowUp runs the follow-up conversation on the native fp32 engine
// and then the whole conversation afresh, once per test binary.
func nativeFollowUp(c testCase) (nativeAnswers, error) {
	nativeOnce.Do(func() {
		var a nativeAnswers
		a, nativeErr = runNativeFollowUp(c)
		nativeRes = map[string]nativeAnswers{c.ID: a}
	})
	return nativeRes[c.ID], nativeErr
}

func runNativeFollowUp(c testCase) (nativeAnswers, error) {
	eng, err := ortnative.New(ortnative.Options{})
	if err != nil {
		return nativeAnswers{}, err
	}
	defer eng.Close()
	dir, err := fixture.Dir()
	if err != nil {
		return nativeAnswers{}, err
	}
	p, err := pipeline.Open(modelconfig.Dir(filepath.Join(dir, "model")))
	if err != nil {
		return nativeAnswers{}, err
	}
	ctx := context.Background()
	if err := p.LoadModel(ctx, eng, modelconfig.SameVariant("fp32")); err != nil {
		return nativeAnswers{}, err
	}
	defer p.Close()
	data, err := os.ReadFile(filepath.Join(dir, c.Image))
	if err != nil {
		return nativeAnswers{}, err
	}
	rgb, err := imageproc.Decode(data, imageproc.DecodeOptions{})
	if err != nil {
		return nativeAnswers{}, err
	}
	img, err := p.PreprocessImage(rgb, c.DoImageSplitting)
	if err != nil {
		return nativeAnswers{}, err
	}
	chat, err := p.NewChat()
	if err != nil {
		return nativeAnswers{}, err
	}
	defer chat.Close()
	first, err := chat.Ask(ctx, pipeline.Turn{Image: img, Text: c.Prompt}, generate.Options{MaxNewTokens: referenceMaxNewTokens})
	if err != nil {
		return nativeAnswers{}, err
	}
	opts := generate.Options{MaxNewTokens: followUpMaxNew}
	second, err := chat.Ask(ctx, pipeline.Turn{Text: followUpText}, opts)
	if err != nil {
		return nativeAnswers{}, err
	}
	whole := slices.Concat(first.InputIDs, first.Tokens, second.InputIDs)
	fresh := p.Model.NewConversation()
	defer fresh.Close()
	res, err := fresh.Generate(ctx, whole, []generate.Image{pipeline.ImageInput(img)}, opts)
	if err != nil {
		return nativeAnswers{}, err
	}
	return nativeAnswers{first: first.Tokens, whole: res.Tokens}, nil
}

// stopPrompt is a text-only prompt on which the fixture model writes on
// for a long time.
const stopPrompt = "Tell me a very long story."

// checkStop starts a long generation, sends stop after a few tokens and
// measures the time until done.
func checkStop(t *testing.T, b *browser) {
	t.Helper()
	const afterTokens = 5
	msg := followUp(protocol.Ask{Text: stopPrompt, NewChat: true, MaxNewTokens: 2000})
	r, err := b.run("h.stopAfter", msg, askTimeout, afterTokens)
	if err != nil {
		t.Fatal(err)
	}
	d := r.done(t)
	if d.Stop != protocol.StopCancelled {
		t.Fatalf("stop: the answer ended with %q after %d tokens; want cancelled", d.Stop, len(d.Tokens))
	}
	t.Logf("stop: done (cancelled) %.1f ms after stop was sent; %d tokens kept", r.StopLatencyMs, len(d.Tokens))
	// The conversation stays usable after a stop.
	next := b.mustCall(t, followUp(protocol.Ask{Text: "Go on.", MaxNewTokens: 4}), askTimeout)
	if len(next.done(t).Tokens) == 0 {
		t.Errorf("ask after stop gave no tokens")
	}
}

// checkRecovers sends a picture no decoder can read: the worker answers
// with one plain sentence and stays usable.
func checkRecovers(t *testing.T, b *browser, all []testCase) {
	t.Helper()
	r, err := b.call(request(&protocol.Ask{Text: "What is this?", NewChat: true, MaxNewTokens: 4}, "bytes:this is not a picture"), askTimeout)
	if err != nil {
		t.Fatal(err)
	}
	e, failed := r.failure()
	if !failed || e.Message == "" {
		t.Fatalf("corrupt picture: got %+v, want an error message", r.Final.Message)
	}
	t.Logf("corrupt picture: %q (%s)", e.Message, e.Detail)
	c := findCase(t, all, followUpCase)
	msg := askCase(c, 1)
	msg["maxNewTokens"] = 2
	if r := b.mustCall(t, msg, askTimeout); len(r.done(t).Tokens) != 2 {
		t.Errorf("ask after an error gave %v", r.done(t).Tokens)
	}
}

// checkReadBack wants each decoder step on WebGPU to download exactly one
// row of float32 logits: prefill must not download its seq × vocab logits.
// On WebAssembly nothing lives on a GPU.
func checkReadBack(t *testing.T, r reply) {
	t.Helper()
	f := r.done(t)
	steps := int64(len(f.Tokens))
	if f.Backend != "webgpu" {
		if f.GPUReadBytes != 0 {
			t.Errorf("%s backend read %d bytes from a GPU", f.Backend, f.GPUReadBytes)
		}
		return
	}
	row := fixtureVocab(t) * 4
	if f.GPUReadBytes != steps*row || f.GPUReads != steps {
		t.Errorf("GPU read-back: %d bytes in %d reads for %d steps; want %d bytes (one %d-byte logits row per step)",
			f.GPUReadBytes, f.GPUReads, steps, steps*row, row)
		return
	}
	t.Logf("GPU read-back: %d bytes in %d reads for %d steps (one %d-byte row each); the prompt's whole logits would be %d bytes",
		f.GPUReadBytes, f.GPUReads, steps, row, int64(f.PromptTokens)*row)
}

var (
	vocabOnce sync.Once
	vocab     int64
	vocabErr  error
)

// fixtureVocab is the fixture model's vocabulary size, from its config.
func fixtureVocab(t *testing.T) int64 {
	t.Helper()
	vocabOnce.Do(func() {
		dir, err := fixture.ModelDir()
		if err != nil {
			vocabErr = err
			return
		}
		cfg, err := modelconfig.Load(modelconfig.Dir(dir))
		if err != nil {
			vocabErr = err
			return
		}
		vocab = int64(cfg.Text.VocabSize)
	})
	if vocabErr != nil {
		t.Fatal(vocabErr)
	}
	return vocab
}

// JPEG tolerance of Go's decoder against the browser's (libjpeg-turbo), on
// preprocessed tiles: the same as the native tests' against the reference.
const (
	jpegTileMeanTolerance = 0.5
	jpegTileMaxTolerance  = 8
)

// compareDecoders decodes every JPEG case with Go and with the browser: the
// browser's tiles must all equal the reference, and Go's must stay within the
// JPEG tolerance of the browser's.
func compareDecoders(t *testing.T, b *browser, all []testCase) {
	t.Helper()
	totals := map[string][2]int{}
	for _, c := range all {
		if c.png {
			continue
		}
		tiles := map[string]*protocol.Tiles{}
		for _, dec := range []string{"go", "browser"} {
			ask := caseAsk(c, 1)
			ask.Decoder = dec
			r := b.mustCall(t, request(&protocol.TilesRequest{Ask: ask, Pixels: true}, "/"+c.Image), askTimeout)
			tiles[dec] = r.tilesOf(t)
			eq := equalSums(tiles[dec].SHA256, c.TileSHA256)
			tot := totals[dec]
			totals[dec] = [2]int{tot[0] + eq, tot[1] + len(c.TileSHA256)}
			t.Logf("%-22s %-7s decoder: %2d of %2d tiles equal the reference", c.ID, dec, eq, len(c.TileSHA256))
			if dec == "browser" && eq != len(c.TileSHA256) {
				t.Errorf("%s: the browser decoder gave %d of %d reference tiles, want all", c.ID, eq, len(c.TileSHA256))
			}
		}
		if g, br := len(tiles["go"].Pixels), len(tiles["browser"].Pixels); g != len(c.TileSHA256) || br != len(c.TileSHA256) {
			t.Errorf("%s: pixels of %d (go) and %d (browser) tiles, want %d", c.ID, g, br, len(c.TileSHA256))
		}
		mean, maxDiff, exact := pixelDiff(t, tiles["go"].Pixels, tiles["browser"].Pixels)
		t.Logf("%-22s go vs browser tiles: mean |diff| %.3f, max %d, %.1f%% of bytes equal", c.ID, mean, maxDiff, exact*100)
		if mean > jpegTileMeanTolerance || maxDiff > jpegTileMaxTolerance {
			t.Errorf("%s: Go's tiles differ from the browser's by mean %.3f, max %d; tolerance %.1f, %d",
				c.ID, mean, maxDiff, jpegTileMeanTolerance, jpegTileMaxTolerance)
		}
	}
	for dec, tot := range totals {
		t.Logf("JPEG tiles equal to the reference with the %s decoder: %d of %d", dec, tot[0], tot[1])
	}
	if tot := totals["browser"]; tot[1] == 0 {
		t.Error("no JPEG case was decoded")
	}
	// PNG must be bit-exact with the default decoder.
	c := findCase(t, all, "alpha_gradient_split")
	msg := request(&protocol.TilesRequest{Ask: caseAsk(c, 1)}, "/"+c.Image)
	if r := b.mustCall(t, msg, askTimeout).tilesOf(t); equalSums(r.SHA256, c.TileSHA256) != len(c.TileSHA256) || r.Decoder != "go" {
		t.Errorf("%s: %s decoder gave %d of %d reference tiles", c.ID, r.Decoder, equalSums(r.SHA256, c.TileSHA256), len(c.TileSHA256))
	}
}

func equalSums(got, want []string) int {
	n := 0
	for i := range min(len(got), len(want)) {
		if got[i] == want[i] {
			n++
		}
	}
	return n
}

// pixelDiff compares two lists of base64 RGB tiles byte by byte.
func pixelDiff(t *testing.T, a, b [][]byte) (mean float64, maxDiff int, exact float64) {
	t.Helper()
	var sum, n, same int
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if len(x) != len(y) {
			t.Fatalf("tile %d: %d vs %d bytes of pixels", i, len(x), len(y))
		}
		for j := range x {
			d := int(x[j]) - int(y[j])
			if d < 0 {
				d = -d
			}
			sum += d
			maxDiff = max(maxDiff, d)
			if d == 0 {
				same++
			}
		}
		n += len(x)
	}
	if n == 0 {
		return 0, 0, 0
	}
	return float64(sum) / float64(n), maxDiff, float64(same) / float64(n)
}

// checkAutomatic checks the automatic choices on SwiftShader (a software
// WebGPU adapter without shader-f16): auto takes WebAssembly, q4 for all
// three parts, and says why; an fp16 request on WebGPU moves to
// WebAssembly with a notice about half precision alone.
func checkAutomatic(t *testing.T, b *browser, all []testCase) {
	t.Helper()
	f := b.mustCall(t, loadMessage(protocol.DeviceAuto, modelconfig.Variants{}), loadTimeout).loaded(t)
	if f.Backend != protocol.DeviceWasm || f.DType != modelconfig.SameVariant("q4") || !strings.Contains(f.Notice, "software") {
		t.Errorf("auto: loaded %s %+v notice %q; want wasm {q4 q4 q4}, a software adapter's notice", f.Backend, f.DType, f.Notice)
	}
	t.Logf("auto on SwiftShader: %s %+v, notice %q", f.Backend, f.DType, f.Notice)

	f = b.mustCall(t, loadMessage(protocol.DeviceWebGPU, modelconfig.SameVariant("fp16")), loadTimeout).loaded(t)
	if f.Backend != protocol.DeviceWasm || f.DType != modelconfig.SameVariant("fp16") || !strings.Contains(f.Notice, "half precision") || strings.Contains(f.Notice, "software") {
		t.Errorf("webgpu fp16 without shader-f16: loaded %s %+v notice %q; want wasm with the half-precision notice alone", f.Backend, f.DType, f.Notice)
	}
	t.Logf("webgpu fp16 without shader-f16 → %s, notice %q", f.Backend, f.Notice)

	// fp16 on WebAssembly: half-precision outputs read back on the CPU.
	// float16 logits of magnitude 8-16 are 1/64 apart, so a margin of a
	// step or two of that is a tie another backend may break either way.
	const minHalfMargin = 0.05
	c := findCase(t, all, followUpCase)
	a := b.mustCall(t, askCase(c, 1), askTimeout)
	want := c.ORTTokens["fp16"]
	n := fixture.ComparableSteps(c.ORTMargins["fp16"], minHalfMargin, len(want))
	if err := sameTokens(a.done(t).Tokens[:min(n, len(a.done(t).Tokens))], want[:n]); err != nil {
		t.Errorf("%s fp16 on wasm: %v", c.ID, err)
	} else {
		t.Logf("%-22s fp16 on wasm: equal over %d of %d steps · %s", c.ID, n, len(want), figures(a))
	}
}

func findCase(t *testing.T, all []testCase, id string) testCase {
	t.Helper()
	for _, c := range all {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no case %s in cases.json", id)
	return testCase{}
}
