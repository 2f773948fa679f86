//go:build !js

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketvlm/smolvlm/internal/chromium"
)

// browser is one headless chromium tab on the harness page.
type browser struct {
	ctx context.Context // the tab's context; has run once
}

// startBrowser launches chromium with WebGPU on SwiftShader (a CPU Vulkan
// implementation without shader-f16) and opens the harness page.
func startBrowser(t *testing.T, url string) *browser {
	return startBrowserReady(t, url, `typeof window.h === "object"`)
}

// startBrowserReady is startBrowser with the script that tells the page is ready.
func startBrowserReady(t *testing.T, url, ready string) *browser {
	t.Helper()
	exe, err := chromium.Path()
	if err != nil {
		t.Fatalf("the browser tests need chromium: %v", err)
	}
	opts := chromium.Options(exe)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open harness page: %v", err)
	}
	b := &browser{ctx: ctx}
	if ok, err := evaluate[bool](b, ready, 30*time.Second); err != nil || !ok {
		// Module scripts run after navigation; wait for them.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && !ok {
			time.Sleep(100 * time.Millisecond)
			ok, err = evaluate[bool](b, ready, 5*time.Second)
		}
		if err != nil || !ok {
			t.Fatalf("harness did not start: %v", err)
		}
	}
	return b
}

// evaluate runs a script (awaiting a promise result) within timeout.
func evaluate[T any](b *browser, script string, timeout time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
}

// reply is the harness's account of one request.
type reply struct {
	Tokens        []int64    `json:"tokens"`
	Text          string     `json:"text"`
	Progress      []progress `json:"progress"`
	Status        []string   `json:"status"`
	Other         []message  `json:"other"`
	Final         message    `json:"final"`
	Ms            float64    `json:"ms"`
	StopLatencyMs float64    `json:"stopLatencyMs"`
}

type progress struct {
	LoadID int    `json:"loadId"`
	File   string `json:"file"`
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"`
	Cached bool   `json:"cached"`
}

type dtype struct {
	Vision  string `json:"vision"`
	Embed   string `json:"embed"`
	Decoder string `json:"decoder"`
}

// message holds the fields of every terminal worker message.
type message struct {
	Type    string `json:"type"`
	LoadID  int    `json:"loadId"` // loaded, progress and a load's error
	Message string `json:"message"`
	Detail  string `json:"detail"`
	Reset   bool   `json:"reset"` // error of an ask: the conversation started over
	// loaded
	Backend         string `json:"backend"`
	Dtype           dtype  `json:"dtype"`
	Notice          string `json:"notice"`
	Model           string `json:"model"`
	Tiny            bool   `json:"tiny"`
	DownloadedBytes int64  `json:"downloadedBytes"`
	CachedBytes     int64  `json:"cachedBytes"`
	Threads         int    `json:"threads"`
	LastTokenLogits bool   `json:"lastTokenLogits"`
	// done
	Tokens          []int64 `json:"tokens"`
	Text            string  `json:"text"`
	Stop            string  `json:"stop"`
	TTFTMs          float64 `json:"ttftMs"`
	DecodeTPS       float64 `json:"decodeTps"`
	PreprocessMs    float64 `json:"preprocessMs"`
	VisionMs        float64 `json:"visionMs"`
	VisionRuns      int     `json:"visionRuns"`
	VisionRunsTotal int     `json:"visionRunsTotal"`
	PromptTokens    int     `json:"promptTokens"`
	Decoder         string  `json:"decoder"`
	GPUReadBytes    int64   `json:"gpuReadBytes"`
	GPUReads        int64   `json:"gpuReads"`
	// tiles
	SHA256 []string `json:"sha256"`
	Pixels []string `json:"pixels"` // base64 RGB
}

// call sends msg through h.call (imageURL becomes a Blob of that file) and
// returns the reply once its terminal message arrives.
func (b *browser) call(msg map[string]any, timeout time.Duration) (reply, error) {
	return b.run("h.call", msg, timeout)
}

func (b *browser) run(fn string, msg map[string]any, timeout time.Duration, extra ...any) (reply, error) {
	args, err := json.Marshal(msg)
	if err != nil {
		return reply{}, err
	}
	script := fmt.Sprintf("%s(%s", fn, args)
	for _, e := range extra {
		a, _ := json.Marshal(e)
		script += ", " + string(a)
	}
	script += ")"
	raw, err := evaluate[json.RawMessage](b, script, timeout)
	if err != nil {
		return reply{}, fmt.Errorf("%s: %w", fn, err)
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return reply{}, fmt.Errorf("%s reply: %w", fn, err)
	}
	return r, nil
}

// mustCall is call that fails the test on a transport error or an error
// message from the worker.
func (b *browser) mustCall(t *testing.T, msg map[string]any, timeout time.Duration) reply {
	t.Helper()
	r, err := b.call(msg, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if r.Final.Type == "error" {
		t.Fatalf("%v: worker error: %s (%s)", msg["type"], r.Final.Message, r.Final.Detail)
	}
	return r
}
