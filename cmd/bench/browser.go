//go:build !js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	headless "github.com/pocketvlm/smolvlm/internal/chromium"
)

// contestantPages are the pages under /bench/web/ that define window.bench.
var contestantPages = map[string]string{
	"ours":         "ours.html",
	"transformers": "transformers.html",
	"ortloop":      "ortloop.html",
}

// contestantName is the table's name of a contestant, "ours@threads=1" too.
func contestantName(c string) string {
	base, opt, ok := strings.Cut(c, "@")
	if ok {
		return contestantNames[base] + ", " + opt
	}
	return contestantNames[c]
}

// cachedTransformers is transformers.js with its browser cache on, timed
// on a second load in the same browser context, as ours@load=cached is.
const cachedTransformers = "transformers@load=cached"

// contestantNames are the table's names.
var contestantNames = map[string]string{
	"ours":         "ours (Go worker)",
	"transformers": "transformers.js",
	"ortloop":      "onnxruntime-web loop",
	"native":       "ours, native CLI",
}

// chromium is one headless Chromium with WebGPU on SwiftShader.
type chromium struct {
	ctx    context.Context // the browser's first tab; has run once
	cancel func()
}

func startChromium(ctx context.Context, exe string) (*chromium, error) {
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("chromium not found at %s (apt-get install chromium, or -chromium): %w", exe, err)
	}
	opts := headless.Options(exe)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return &chromium{ctx: bctx, cancel: func() { cancelBrowser(); cancelAlloc() }}, nil
}

func (c *chromium) close() { c.cancel() }

// version is the browser's product string, e.g. "HeadlessChrome/156.0.8078.114".
func (c *chromium) version() string {
	v, err := chromedp.Call(c.ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		return "unknown browser"
	}
	return v.Product
}

func (c *chromium) pid() int {
	if b := chromedp.FromContext(c.ctx).Browser; b != nil && b.Process() != nil {
		return b.Process().Pid
	}
	return 0
}

func evaluate[T any](ctx context.Context, script string, timeout time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
}

// pageLoad and pageRun are what window.bench.load and run resolve to.
type pageLoad struct {
	LoadMs  float64 `json:"loadMs"`
	Backend string  `json:"backend"`
	Threads int     `json:"threads"`
	Notice  string  `json:"notice"`
	// Dequantized and DequantizedTo: the sub-models whose 4-bit weights
	// our worker unpacked, and to what (protocol.Loaded's).
	Dequantized   []string `json:"dequantized"`
	DequantizedTo string   `json:"dequantizedTo"`
	// Stages: what the worker said it was doing during the load, and when
	// (ours only).
	Stages []string `json:"stages"`
}

type pageRun struct {
	Tokens       []int64  `json:"tokens"`
	PreprocessMs *float64 `json:"preprocessMs"`
	VisionMs     *float64 `json:"visionMs"`
	TTFTMs       *float64 `json:"ttftMs"`
	DecodeTps    *float64 `json:"decodeTps"`
	TotalMs      float64  `json:"totalMs"`
	PromptTokens int      `json:"promptTokens"`
	// Stages: the load's stages that came after the model was ready
	// (ours only: its files stored in the cache).
	Stages []string `json:"stages"`
}

// browserRun is one contestant's load and answer in a fresh browser context
// (its own storage and renderer process, nothing cached from earlier runs).
type browserRun struct {
	contestant, backend string // contestant may be "ours@option"
	option              string
	model, imageURL     string
	pc                  pictureCase
	cfg                 config
}

const (
	loadTimeout = 15 * time.Minute
	runTimeout  = 30 * time.Minute
)

func (c *chromium) measure(s *site, base string, r browserRun) (result, error) {
	res := result{Contestant: r.contestant, Backend: r.backend}
	page, _, _ := strings.Cut(r.contestant, "@")
	before := rendererPIDs(c.pid())
	tctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	s.sent.Store(0)
	url := base + "/bench/web/" + contestantPages[page]
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return res, fmt.Errorf("open %s: %w", url, err)
	}
	if err := waitReady(tctx); err != nil {
		return res, err
	}
	loadArgs, _ := json.Marshal(map[string]any{
		"model": r.model, "device": r.backend, "dtype": r.cfg.variant, "threads": r.cfg.threads, "option": r.option,
		"browserCache": r.contestant == cachedTransformers,
	})
	load := "window.bench.load(" + string(loadArgs) + ")"
	if r.contestant == cachedTransformers {
		// The first load fills transformers.js's cache (it has stored every
		// file when from_pretrained returns); the page takes one model, so
		// the timed load is a fresh page's in the same context. (Ours
		// does the same within its page: bench/web/ours.js.)
		if _, err := evaluate[pageLoad](tctx, load, loadTimeout); err != nil {
			return res, fmt.Errorf("first load: %w", err)
		}
		if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
			return res, fmt.Errorf("open %s again: %w", url, err)
		}
		if err := waitReady(tctx); err != nil {
			return res, err
		}
	}
	ld, err := evaluate[pageLoad](tctx, load, loadTimeout)
	if err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	runArgs, _ := json.Marshal(map[string]any{
		"imageURL": r.imageURL, "prompt": r.cfg.prompt, "split": r.pc.Split,
		"maxNewTokens": r.cfg.tokens, "minNewTokens": r.cfg.tokens,
	})
	pr, err := evaluate[pageRun](tctx, "window.bench.run("+string(runArgs)+")", runTimeout)
	if err != nil {
		return res, fmt.Errorf("run: %w", err)
	}
	res.Threads, res.Notice, res.RanOn, res.LoadStages = ld.Threads, ld.Notice, ld.Backend, append(ld.Stages, pr.Stages...)
	if len(ld.Dequantized) > 0 {
		res.Unpacked = fmt.Sprintf("%s to %s", strings.Join(ld.Dequantized, ", "), ld.DequantizedTo)
	}
	res.LoadMs = &ld.LoadMs
	res.PreprocessMs, res.VisionMs, res.TTFTMs, res.DecodeTps = pr.PreprocessMs, pr.VisionMs, pr.TTFTMs, pr.DecodeTps
	res.Tokens, res.PromptTokens = len(pr.Tokens), pr.PromptTokens
	res.TokenIDs = pr.Tokens
	mb := float64(s.sent.Load()) / 1e6
	res.DownloadedMB = &mb
	if peak := peakRSS(rendererPIDs(c.pid()), before); peak > 0 {
		res.PeakMemMB = &peak
	}
	return res, nil
}

func waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := evaluate[bool](ctx, "!!(window.bench && window.bench.ready)", 5*time.Second)
		if err == nil && ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the contestant's page did not define window.bench")
}

// rendererPIDs lists the renderer processes below the browser process.
func rendererPIDs(browser int) map[int]bool {
	out := map[int]bool{}
	if browser == 0 {
		return out
	}
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	below := func(pid int) bool {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == browser {
				return true
			}
		}
		return false
	}
	for pid := range parent {
		if !below(pid) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if strings.Contains(string(cmd), "--type=renderer") {
			out[pid] = true
		}
	}
	return out
}

// peakRSS is the largest peak resident size (VmHWM, MB) among the renderers
// that were not there before: the page's renderer, which also runs its
// workers, so JavaScript, WebAssembly memory and the WebAssembly-side model
// copies are all in it. The GPU process's buffers are not.
func peakRSS(now, before map[int]bool) float64 {
	var peak float64
	for pid := range now {
		if before[pid] {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				peak = max(peak, kb/1000)
			}
		}
	}
	return peak
}
