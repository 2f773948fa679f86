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
	"github.com/pocketvlm/smolvlm/wasm/protocol"
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

// message is one worker message the harness gathered, decoded with the
// protocol package.
type message struct{ protocol.Message }

// UnmarshalJSON decodes a worker message by its type.
func (m *message) UnmarshalJSON(b []byte) error {
	msg, err := protocol.DecodeReply(b)
	if err != nil {
		return err
	}
	m.Message = msg
	return nil
}

// failure is the reply's final message if it is an error.
func (r reply) failure() (*protocol.Error, bool) {
	e, ok := r.Final.Message.(*protocol.Error)
	return e, ok
}

// finalAs is the reply's final message as a T, or a fatal test failure
// that says what came instead.
func finalAs[T protocol.Message](t *testing.T, r reply) T {
	t.Helper()
	m, ok := r.Final.Message.(T)
	if !ok {
		var want T
		if e, isErr := r.failure(); isErr {
			t.Fatalf("got error %q (%s); want %s", e.Message, e.Detail, want.Type())
		}
		t.Fatalf("got %s; want %s", r.Final.Type(), want.Type())
	}
	return m
}

func (r reply) done(t *testing.T) *protocol.Done { t.Helper(); return finalAs[*protocol.Done](t, r) }
func (r reply) loaded(t *testing.T) *protocol.Loaded {
	t.Helper()
	return finalAs[*protocol.Loaded](t, r)
}
func (r reply) tilesOf(t *testing.T) *protocol.Tiles {
	t.Helper()
	return finalAs[*protocol.Tiles](t, r)
}

// request is m as the object the harness posts; imageURL ("" for none) is
// the picture the harness fetches into a Blob ("bytes:..." makes one of
// those bytes).
func request(m protocol.Message, imageURL string) map[string]any {
	raw, err := protocol.Encode(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	if imageURL != "" {
		out["imageURL"] = imageURL
	}
	return out
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
	if e, failed := r.failure(); failed {
		t.Fatalf("%v: worker error: %s (%s)", msg["type"], e.Message, e.Detail)
	}
	return r
}
