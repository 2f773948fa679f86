//go:build !js

// Package contestants checks the benchmark's contestant pages
// (transformers.html, ortloop.html) in headless chromium on the tiny fixture
// model: the greedy token ids must equal the reference.
package contestants

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketvlm/smolvlm/internal/chromium"

	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/internal/webtypes"
)

// site serves the layout the benchmark driver serves: /bench/web/,
// /node_modules/, /models/tiny/ (the fixture model) and /images/, with the
// headers that make the page cross-origin isolated.
type site struct{ root, modelDir, imageDir string }

func (s *site) file(p string) string {
	clean := path.Clean(p)
	if strings.Contains(clean, "..") {
		return ""
	}
	for prefix, dir := range map[string]string{
		"/bench/web/":    filepath.Join(s.root, "bench", "web"),
		"/node_modules/": filepath.Join(s.root, "node_modules"),
		"/models/tiny/":  s.modelDir,
		"/images/":       s.imageDir,
		"/reference/":    filepath.Join(s.root, "testdata", "reference"), // test only: reference tiles
	} {
		if strings.HasPrefix(clean, prefix) {
			return filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(clean, prefix)))
		}
	}
	return ""
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Embedder-Policy", "require-corp")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	name := s.file(r.URL.Path)
	if st, err := os.Stat(name); name == "" || err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	if ct, ok := webtypes.Lookup(name); ok {
		h.Set("Content-Type", ct)
	}
	http.ServeFile(w, r, name)
}

type loadResult struct {
	LoadMs              float64 `json:"loadMs"`
	OrtVersion          string  `json:"ortVersion"`
	Threads             int     `json:"threads"`
	CrossOriginIsolated bool    `json:"crossOriginIsolated"`
}

type runResult struct {
	Tokens       []int64  `json:"tokens"`
	Text         string   `json:"text"`
	PreprocessMs float64  `json:"preprocessMs"`
	ImageMs      float64  `json:"imageMs"`
	VisionMs     *float64 `json:"visionMs"`
	TTFTMs       float64  `json:"ttftMs"`
	DecodeTPS    float64  `json:"decodeTps"`
	TotalMs      float64  `json:"totalMs"`
	PromptTokens int      `json:"promptTokens"`
	PixelShape   []int    `json:"pixelValuesShape"`
	InputIDs     []int64  `json:"inputIds"`
}

// tab opens one page in a fresh headless chromium (WebGPU on SwiftShader)
// and waits for window.bench.
func tab(t *testing.T, url string) context.Context {
	t.Helper()
	exe, err := chromium.Path()
	if err != nil {
		t.Fatalf("the contestant tests need chromium: %v", err)
	}
	opts := chromium.Options(exe)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The page's console goes to the test log (t.Logf is not safe after the
	// test ends, so stop with the tab).
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			t.Logf("console: %s", m)
		}
	}()
	t.Cleanup(func() { cancelTab(); <-done })
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(window.bench && window.bench.ready)`))
		if err == nil && ok {
			return ctx
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: window.bench not ready: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func call[T any](ctx context.Context, timeout time.Duration, fn string, arg any) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	js, err := json.Marshal(arg)
	if err != nil {
		var zero T
		return zero, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[T](fmt.Sprintf(`window.bench.%s(%s)`, fn, js), chromedp.EvalAwaitPromise))
}

func TestContestantsTinyGreedy(t *testing.T) {
	fixDir, err := fixture.Dir()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatalf("cases: %v", err)
	}
	byID := map[string]fixture.Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	s := &site{root: fixture.Root(), modelDir: filepath.Join(fixDir, "model"), imageDir: filepath.Join(fixDir, "images")}
	srv := httptest.NewServer(s)
	defer srv.Close()

	// One tab per (page, device, dtype), one load per tab, as the driver does;
	// two runs per tab:
	//
	//   - rocket_tall_split (5 tiles, 349 prompt ids) with the reference's
	//     uint8 tiles in place of the processor's pixels: the generation path
	//     (vision, merge, decoder, KV cache, greedy) must give the reference
	//     tokens exactly.
	//   - astronaut_nosplit through transformers.js' own image processor: the
	//     prompt ids must equal the reference's; the tokens are logged (the
	//     processor's bilinear resize is not PIL's LANCZOS, so on random
	//     weights they differ from the reference) and must be the same for
	//     both pages.
	//
	// WebGPU (SwiftShader) takes minutes; BENCH_WEB_ALL=1 adds it (fp32,
	// asserted like wasm) and wasm q4 (compared with the fixture's
	// onnxruntime CPU q4 tokens, logged only).
	type tabCheck struct{ page, device, dtype string }
	checks := []tabCheck{
		{"ortloop", "wasm", "fp32"},
		{"transformers", "wasm", "fp32"},
	}
	if os.Getenv("BENCH_WEB_ALL") != "" {
		checks = append(checks,
			tabCheck{"ortloop", "wasm", "q4"}, tabCheck{"transformers", "wasm", "q4"},
			tabCheck{"ortloop", "webgpu", "fp32"}, tabCheck{"transformers", "webgpu", "fp32"})
	}
	rocket, astro := byID["rocket_tall_split"], byID["astronaut_nosplit"]
	var tiles []string
	for i := range rocket.PixelValuesShape[1] {
		tiles = append(tiles, fmt.Sprintf("/reference/rocket_tall_split_%02d.png", i))
	}
	procTokens := map[string][]int64{} // device → tokens of the processor path
	for _, ck := range checks {
		t.Run(ck.page+"/"+ck.device+"/"+ck.dtype, func(t *testing.T) {
			ctx := tab(t, srv.URL+"/bench/web/"+ck.page+".html")
			ld, err := call[loadResult](ctx, 120*time.Second, "load", map[string]any{
				"model": "/models/tiny", "device": ck.device, "dtype": ck.dtype, "warmPreprocess": true,
			})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			t.Logf("load: %+v", ld)
			if !ld.CrossOriginIsolated {
				t.Errorf("page is not cross-origin isolated")
			}
			runCase := func(c fixture.Case, tiles []string) runResult {
				t.Helper()
				want := c.ReferenceTokens["greedy"]
				arg := map[string]any{
					"imageURL": "/" + c.Image, "prompt": c.Prompt, "split": c.DoImageSplitting,
					"maxNewTokens": len(want), "debug": true,
				}
				if tiles != nil {
					arg["pixelTiles"] = tiles
				}
				res, err := call[runResult](ctx, 300*time.Second, "run", arg)
				if err != nil {
					t.Fatalf("run %s: %v", c.ID, err)
				}
				vis := "null"
				if res.VisionMs != nil {
					vis = fmt.Sprintf("%.1f", *res.VisionMs)
				}
				t.Logf("%s (reference tiles: %v): prompt %d ids, pixel_values %v, preprocess %.1f ms (picture %.1f), vision %s ms, ttft %.1f ms, %.1f tok/s, total %.1f ms",
					c.ID, tiles != nil, res.PromptTokens, res.PixelShape, res.PreprocessMs, res.ImageMs, vis, res.TTFTMs, res.DecodeTPS, res.TotalMs)
				if d := fixture.FirstDiff(res.InputIDs, c.InputIDs); d >= 0 {
					t.Errorf("%s: prompt ids differ from the reference at %d (got %d ids, want %d)", c.ID, d, len(res.InputIDs), len(c.InputIDs))
				}
				if res.PromptTokens != len(c.InputIDs) {
					t.Errorf("%s: promptTokens %d, want %d", c.ID, res.PromptTokens, len(c.InputIDs))
				}
				return res
			}

			res := runCase(rocket, tiles)
			if ck.dtype == "fp32" {
				if d := fixture.FirstDiff(res.Tokens, rocket.ReferenceTokens["greedy"]); d >= 0 {
					t.Errorf("rocket_tall_split with the reference tiles: tokens differ from the reference at step %d:\n got %v\nwant %v",
						d, res.Tokens, rocket.ReferenceTokens["greedy"])
				}
			} else {
				want := rocket.ORTTokens[ck.dtype]
				t.Logf("rocket_tall_split %s: first step that differs from onnxruntime CPU %s: %d (margins %v)\n got %v\nwant %v",
					ck.dtype, ck.dtype, fixture.FirstDiff(res.Tokens, want), rocket.ORTMargins[ck.dtype], res.Tokens, want)
			}

			res = runCase(astro, nil)
			t.Logf("astronaut_nosplit through transformers.js' image processor: first step that differs from the reference: %d\n got %v\nwant %v",
				fixture.FirstDiff(res.Tokens, astro.ReferenceTokens["greedy"]), res.Tokens, astro.ReferenceTokens["greedy"])
			if prev, ok := procTokens[ck.device+ck.dtype]; ok {
				if d := fixture.FirstDiff(res.Tokens, prev); d >= 0 {
					t.Errorf("astronaut_nosplit: the two pages disagree from step %d:\n got %v\nother %v", d, res.Tokens, prev)
				}
			} else {
				procTokens[ck.device+ck.dtype] = res.Tokens
			}
		})
	}
}
