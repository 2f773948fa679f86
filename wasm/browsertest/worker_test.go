//go:build !js

package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// Test settings.
const (
	referenceMaxNewTokens = 24   // what cases.json's references hold at most
	minMargin             = 1e-2 // q4 steps with a smaller top-1 margin may flip
	loadTimeout           = 3 * time.Minute
	askTimeout            = 3 * time.Minute
	modelPath             = "/models/tiny/"
)

// testCase is a fixture case with its picture's format.
type testCase struct {
	fixture.Case
	png bool
}

func cases(t *testing.T) []testCase {
	t.Helper()
	cs, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]testCase, len(cs))
	for i, c := range cs {
		out[i] = testCase{Case: c, png: strings.EqualFold(filepath.Ext(c.Image), ".png")}
	}
	return out
}

// caseAsk is the ask of a fixture case; its picture is at "/" + c.Image.
func caseAsk(c testCase, penalty float64) protocol.Ask {
	return protocol.Ask{
		Text:              c.Prompt,
		Split:             &c.DoImageSplitting,
		NewChat:           true,
		MaxNewTokens:      referenceMaxNewTokens,
		RepetitionPenalty: penalty,
	}
}

// askCase is the ask message of a fixture case, with its picture.
func askCase(c testCase, penalty float64) map[string]any {
	a := caseAsk(c, penalty)
	return request(&a, "/"+c.Image)
}

// followUp is an ask without a picture.
func followUp(a protocol.Ask) map[string]any { return request(&a, "") }

func loadMessage(device protocol.Device, dt modelconfig.Variants) map[string]any {
	return request(&protocol.Load{Model: modelPath, Device: device, DType: dt}, "")
}

// TestWorker loads each backend/dtype once and runs every check on it, in
// one browser: loads and SwiftShader are slow, so nothing is loaded twice.
func TestWorker(t *testing.T) {
	s, srv := startSite(t)
	b := startBrowser(t, srv.URL+"/")
	all := cases(t)
	if ok, err := evaluate[bool](b, "h.isolated()", 10*time.Second); err != nil || !ok {
		t.Fatalf("the harness page is not cross-origin isolated (COOP/COEP headers): %v", err)
	}

	pngs := filter(all, func(c testCase) bool { return c.png })
	// fp32 on WebGPU checks every PNG case (about 10 minutes on SwiftShader);
	// q4 there checks the single-tile case unless SMOLVLM_BROWSER_FULL is set.
	gpuQ4Cases := webgpuCases(t, pngs)

	t.Run("wasm/fp32", func(t *testing.T) {
		r := startWithLoad(t, b, loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("fp32")))
		checkLoaded(t, r, "wasm", modelconfig.SameVariant("fp32"))
		checkStored(t, b, r)
		checkThreads(t, b, r)
		checkProgress(t, r)
		checkReference(t, b, pngs)
		checkJPEGCases(t, b, all)
		checkReset(t, b)
		checkStop(t, b)
		checkRecovers(t, b, all)
	})
	on, off := true, false
	t.Run("wasm/q4", func(t *testing.T) {
		r := b.mustCall(t, request(&protocol.Load{Model: modelPath, Device: protocol.DeviceWasm, DType: modelconfig.SameVariant("q4"), Dequantize: &off}, ""), loadTimeout)
		checkLoaded(t, r, "wasm", modelconfig.SameVariant("q4"))
		if got := r.loaded(t).Dequantized; len(got) != 0 {
			t.Errorf("dequantize false unpacked %q", got)
		}
		checkQuantized(t, b, pngs, "q4")
	})
	t.Run("wasm/q4/dequantize", func(t *testing.T) {
		r := b.mustCall(t, request(&protocol.Load{Model: modelPath, Device: protocol.DeviceWasm, DType: modelconfig.SameVariant("q4"), Dequantize: &on}, ""), loadTimeout)
		checkLoaded(t, r, "wasm", modelconfig.SameVariant("q4"))
		if got := r.loaded(t).Dequantized; !slices.Equal(got, []string{modelconfig.Decoder}) || r.loaded(t).DequantizedTo != "float32" {
			t.Errorf("dequantized parts %q to %q, want the decoder only, to float32", got, r.loaded(t).DequantizedTo)
		}
		checkQuantized(t, b, pngs, "q4")
	})
	// Left to the worker, the decoder is unpacked where the browser reports
	// 8 GB or more and is not a phone (Chromium reports at most 8).
	t.Run("wasm/q4/dequantize-auto", func(t *testing.T) {
		roomy, err := evaluate[bool](b, "navigator.deviceMemory >= 8 && !navigator.userAgentData?.mobile", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		r := b.mustCall(t, loadMessage(protocol.DeviceWasm, modelconfig.SameVariant("q4")), loadTimeout)
		checkLoaded(t, r, "wasm", modelconfig.SameVariant("q4"))
		if got := r.loaded(t).Dequantized; slices.Equal(got, []string{modelconfig.Decoder}) != roomy {
			t.Errorf("this browser reports 8 GB or more, not a phone: %v; the worker unpacked %q", roomy, got)
		}
		t.Logf("navigator.deviceMemory ≥ 8 and not a phone: %v; unpacked %q", roomy, r.loaded(t).Dequantized)
	})
	// Unpacked to int8 the answers are approximate: they must come, from
	// onnxruntime-web's DynamicQuantizeMatMul, and are logged against q4's.
	t.Run("wasm/q4/dequantize-int8", func(t *testing.T) {
		r := b.mustCall(t, request(&protocol.Load{Model: modelPath, Device: protocol.DeviceWasm, DType: modelconfig.SameVariant("q4"), Dequantize: &on, Int8MatMul: true}, ""), loadTimeout)
		checkLoaded(t, r, "wasm", modelconfig.SameVariant("q4"))
		loaded := r.loaded(t)
		if got := slices.Sorted(slices.Values(loaded.Dequantized)); !slices.Equal(got, []string{modelconfig.Decoder, modelconfig.VisionEncoder}) || loaded.DequantizedTo != "int8" {
			t.Errorf("dequantized parts %q to %q, want the decoder and the vision encoder to int8", got, loaded.DequantizedTo)
		}
		c := pngs[0]
		r = b.mustCall(t, askCase(c, 1), askTimeout)
		checkReadBack(t, r)
		done := r.done(t)
		if len(done.Tokens) == 0 {
			t.Fatalf("%s int8: no tokens", c.ID)
		}
		t.Logf("%-22s int8  %s · %s", c.ID, agreement(done.Tokens, c.ORTTokens["q4"]), figures(r))
	})
	t.Run("webgpu/fp32", func(t *testing.T) {
		before := s.modelRequests()
		r := b.mustCall(t, loadMessage(protocol.DeviceWebGPU, modelconfig.SameVariant("fp32")), loadTimeout)
		checkLoaded(t, r, "webgpu", modelconfig.SameVariant("fp32"))
		if n := s.modelRequests() - before; n != 0 || r.loaded(t).CachedBytes == 0 {
			t.Errorf("second load of the fp32 files made %d network requests and read %d bytes from the cache; want 0 requests", n, r.loaded(t).CachedBytes)
		}
		checkReference(t, b, pngs)
		checkStop(t, b)
	})
	t.Run("webgpu/q4", func(t *testing.T) {
		r := b.mustCall(t, loadMessage(protocol.DeviceWebGPU, modelconfig.SameVariant("q4")), loadTimeout)
		checkLoaded(t, r, "webgpu", modelconfig.SameVariant("q4"))
		checkQuantized(t, b, gpuQ4Cases, "q4")
	})
	t.Run("decoders", func(t *testing.T) { compareDecoders(t, b, all) })
	t.Run("automatic", func(t *testing.T) { checkAutomatic(t, b, all) })
}

// startWithLoad starts a fresh worker and posts the load before its Go
// program is ready; the load must still be answered.
func startWithLoad(t *testing.T, b *browser, load map[string]any) reply {
	t.Helper()
	r, err := b.run("h.start", load, loadTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if e, failed := r.failure(); failed {
		t.Fatalf("load posted before ready: got an error: %s (%s)", e.Message, e.Detail)
	}
	r.loaded(t)
	if !slices.ContainsFunc(r.Other, func(m message) bool { return m.Type() == protocol.TypeReady }) {
		t.Errorf("no ready message before loaded")
	}
	t.Logf("worker started and loaded in %.0f ms (load posted before ready)", r.Ms)
	return r
}

func checkLoaded(t *testing.T, r reply, backend protocol.Device, want modelconfig.Variants) {
	t.Helper()
	f := r.loaded(t)
	// The decoders of the fixture are small enough to be rewritten in the
	// browser to compute the last position's logits only.
	if !f.LastTokenLogits {
		t.Errorf("the %s decoder was loaded with full-sequence logits, want the last position only", want.Decoder)
	}
	// On WebGPU the adapter here is SwiftShader, a software one, which
	// the notice must say.
	wantNotice := backend == protocol.DeviceWebGPU
	if f.Backend != backend || f.DType != want || !f.Tiny || wantNotice != strings.Contains(f.Notice, "software") || !wantNotice && f.Notice != "" {
		t.Fatalf("loaded %s %+v tiny=%v notice=%q; want %s %+v tiny, a software adapter's notice %v and no other", f.Backend, f.DType, f.Tiny, f.Notice, backend, want, wantNotice)
	}
	t.Logf("loaded %s %+v in %.0f ms (%d bytes downloaded, %d from the cache)", f.Backend, f.DType, r.Ms, f.DownloadedBytes, f.CachedBytes)
}

// checkStored waits for the word that follows a load that downloaded its
// files: they are all in the cache, which must then hold each of them.
func checkStored(t *testing.T, b *browser, r reply) {
	t.Helper()
	if r.loaded(t).DownloadedBytes == 0 {
		t.Fatal("the load downloaded nothing, so nothing was to be stored")
	}
	raw, err := evaluate[json.RawMessage](b, "h.next('stored')", loadTimeout)
	if err != nil {
		t.Fatalf("no stored message after the load: %v", err)
	}
	var stored protocol.Stored
	if err := json.Unmarshal(raw, &stored); err != nil || !stored.Complete {
		t.Fatalf("stored message %s (%v); want complete", raw, err)
	}
	keys, err := evaluate[[]string](b, fmt.Sprintf(`(async () => (await (await caches.open(%q)).keys()).map((r) => r.url))()`, ortweb.DefaultCache), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Progress {
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, "/"+p.File) }) {
			t.Errorf("%s is not in the cache %s after stored (it holds %q)", p.File, ortweb.DefaultCache, keys)
		}
	}
	t.Logf("stored: the cache holds %d files", len(keys))
}

// checkThreads wants onnxruntime-web's WebAssembly threads on: the worker
// is cross-origin isolated, so as many as navigator.hardwareConcurrency.
func checkThreads(t *testing.T, b *browser, r reply) {
	t.Helper()
	want, err := evaluate[int](b, "navigator.hardwareConcurrency", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.loaded(t).Threads; got != want {
		t.Errorf("worker asked for %d WebAssembly threads, want %d (is the worker cross-origin isolated?)", got, want)
	}
}

// checkProgress wants progress messages that end at each file's full size.
func checkProgress(t *testing.T, r reply) {
	t.Helper()
	final := map[string]progress{}
	for _, p := range r.Progress {
		final[p.File] = p
	}
	if len(final) != 3 {
		t.Errorf("progress for %d files, want the 3 ONNX files: %v", len(final), final)
	}
	for file, p := range final {
		if p.Total == 0 || p.Loaded != p.Total {
			t.Errorf("%s: last progress %d of %d bytes", file, p.Loaded, p.Total)
		}
	}
	t.Logf("%d progress messages for %d files", len(r.Progress), len(final))
}

// checkReference asks each case with repetition penalty 1.2 and greedily;
// the tokens must equal the reference exactly. The greedy answer of the
// follow-up case then gets a follow-up question (checkFollowUp).
func checkReference(t *testing.T, b *browser, cs []testCase) {
	t.Helper()
	for _, c := range cs {
		for _, run := range []struct {
			name    string
			penalty float64
		}{{"repetition_penalty_1.2", 1.2}, {"greedy", 1}} {
			r := b.mustCall(t, askCase(c, run.penalty), askTimeout)
			checkReadBack(t, r)
			want := c.ReferenceTokens[run.name]
			if err := sameTokens(r.done(t).Tokens, want); err != nil {
				t.Errorf("%s %s: %v", c.ID, run.name, err)
				continue
			}
			if !slices.Equal(r.Tokens, r.done(t).Tokens) {
				t.Errorf("%s %s: streamed tokens %v differ from done's %v", c.ID, run.name, r.Tokens, r.done(t).Tokens)
			}
			t.Logf("%-22s %-22s equal · %s", c.ID, run.name, figures(r))
			if c.ID == followUpCase && run.name == "greedy" {
				checkFollowUp(t, b, c, r)
			}
		}
	}
}

// checkQuantized compares q4 answers with onnxruntime CPU's up to the first
// step whose top-1 margin is below minMargin.
func checkQuantized(t *testing.T, b *browser, cs []testCase, variant string) {
	t.Helper()
	for _, c := range cs {
		r := b.mustCall(t, askCase(c, 1), askTimeout)
		checkReadBack(t, r)
		want := c.ORTTokens[variant]
		n := fixture.ComparableSteps(c.ORTMargins[variant], minMargin, len(want))
		got := r.done(t).Tokens[:min(n, len(r.done(t).Tokens))]
		if err := sameTokens(got, want[:n]); err != nil {
			t.Errorf("%s %s: %v", c.ID, variant, err)
			continue
		}
		t.Logf("%-22s %-5s equal over %2d of %d steps (all %d: %v) · %s", c.ID, variant, n, len(want),
			len(want), slices.Equal(r.done(t).Tokens, want), figures(r))
	}
}

// checkJPEGCases answers every JPEG case with the automatic picture decoder:
// the browser's (libjpeg-turbo, as Pillow), whose tiles are the reference's,
// so the tokens must be the reference's too.
func checkJPEGCases(t *testing.T, b *browser, all []testCase) {
	t.Helper()
	for _, c := range all {
		if c.png {
			continue
		}
		r := b.mustCall(t, askCase(c, 1), askTimeout)
		want := c.ReferenceTokens["greedy"]
		t.Logf("%-22s JPEG (%s decoder): %s · %s", c.ID, r.done(t).Decoder, agreement(r.done(t).Tokens, want), figures(r))
		if r.done(t).Decoder != "browser" {
			t.Errorf("%s: decoded by %q, want the browser", c.ID, r.done(t).Decoder)
		}
		if err := sameTokens(r.done(t).Tokens, want); err != nil {
			t.Errorf("%s JPEG greedy: %v", c.ID, err)
		}
	}
}

// fullEnv runs every PNG case on WebGPU too, not only the single-tile one.
const fullEnv = "SMOLVLM_BROWSER_FULL"

// webgpuCases are the cases run with q4 on WebGPU. SwiftShader runs
// onnxruntime's WebGPU kernels some hundred times slower than its WebAssembly
// backend (a single 512×512 tile through the vision encoder takes 2-6 s on 2
// cores), so by default only the single-tile PNG case runs q4 there (fp32
// runs every PNG case): the kernels, the cache on the GPU and the logits
// read-back are the same for every case. Set SMOLVLM_BROWSER_FULL=1 to run
// q4 on them all too (about 9 more minutes).
func webgpuCases(t *testing.T, pngs []testCase) []testCase {
	t.Helper()
	if os.Getenv(fullEnv) != "" {
		return pngs
	}
	one := filter(pngs, func(c testCase) bool { return len(c.TileSHA256) == 1 })
	var left []string
	for _, c := range pngs {
		if len(c.TileSHA256) != 1 {
			left = append(left, c.ID)
		}
	}
	t.Logf("WebGPU q4 runs %d PNG case(s); %v run q4 on WebAssembly only (set %s=1 to run them on WebGPU too)", len(one), left, fullEnv)
	return one
}

func filter(cs []testCase, keep func(testCase) bool) []testCase {
	var out []testCase
	for _, c := range cs {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func sameTokens(got, want []int64) error {
	if slices.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("tokens diverge at step %d: got %v, want %v", fixture.FirstDiff(got, want), got, want)
}

// agreement describes how many leading tokens match.
func agreement(got, want []int64) string {
	if d := fixture.FirstDiff(got, want); d >= 0 {
		return fmt.Sprintf("first %d of %d tokens equal", d, len(want))
	}
	return fmt.Sprintf("all %d tokens equal", len(want))
}

// figures summarises an answer's timings.
func figures(r reply) string {
	f, ok := r.Final.Message.(*protocol.Done)
	if !ok {
		return "no answer: " + string(r.Final.Type())
	}
	return fmt.Sprintf("%d prompt tokens, preprocess %.0f ms, vision %.0f ms, first token %.0f ms, %.0f tok/s, total %.0f ms",
		f.PromptTokens, f.PreprocessMs, f.VisionMs, f.TTFTMs, f.DecodeTPS, r.Ms)
}
