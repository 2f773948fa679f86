//go:build !js

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
)

const followUpQuestion = "And what colour is it?"

// TestFollowUpContinuesChat asks a second question about the same picture,
// sent with Enter. The worker must reuse its cache (no vision run) and give
// the tokens the native engine gives over the whole conversation at once.
func TestFollowUpContinuesChat(t *testing.T) {
	requireSuite(t)
	c := findCase(t, "astronaut_nosplit")
	tb := openApp(t, fmt.Sprintf("device=wasm&dtype=fp32&split=0&max_new_tokens=%d&repetition_penalty=1", maxNewTokens), desktop)
	first := tb.ask(casePath(c), c.Prompt)
	tb.typePrompt(followUpQuestion)
	if err := chromedp.Do(tb.ctx, chromedp.SendKeys(chromedp.ID("prompt"), kb.Enter)); err != nil {
		t.Fatal(err)
	}
	second := tb.waitAnswer(1)
	if second.VisionRuns != "0" || second.VisionRunsTotal != first.VisionRunsTotal {
		t.Errorf("follow-up: data-vision-runs %s (total %s after %s), want 0 and an unchanged total",
			second.VisionRuns, second.VisionRunsTotal, first.VisionRunsTotal)
	}
	if n := tb.turns(); n != 2 {
		t.Errorf("the conversation shows %d turns, want 2", n)
	}
	t.Logf("first answer %v, follow-up %v (first token %s ms)", first.tokens(t), second.tokens(t), second.TTFTMs)

	native, err := nativeConversation(c, followUpQuestion)
	if err != nil {
		t.Fatalf("native engine unavailable, browser tokens cannot be compared (run npm ci --ignore-scripts): %v", err)
	}
	if got := first.tokens(t); !slices.Equal(got, native.first) {
		t.Errorf("first answer: browser %v, native %v", got, native.first)
	}
	if got := second.tokens(t); !slices.Equal(got, native.whole) {
		t.Errorf("follow-up: browser %v, native whole conversation %v", got, native.whole)
	}
	t.Logf("native whole-conversation run agrees: %v", native.whole)
}

// TestStopIsQuick measures, in the page, the time from a click on #stop to
// #answer carrying data-state="done" with data-stop="cancelled". The worker
// checks between two decoder steps, so this should take one step.
func TestStopIsQuick(t *testing.T) {
	requireSuite(t)
	const limit = 200 * time.Millisecond
	c := findCase(t, "astronaut_nosplit")
	tb := openApp(t, "device=wasm&dtype=fp32&split=0&max_new_tokens=4000&repetition_penalty=1", desktop)
	if !tb.disabled("stop") {
		t.Error("#stop is enabled before anything runs")
	}
	tb.pick(casePath(c))
	tb.typePrompt(c.Prompt)
	since := tb.now()
	if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.ID("run"))); err != nil {
		t.Fatal(err)
	}
	// Wait for a few tokens so the decoder loop is running.
	tb.waitFor(`(() => { const a = document.getElementById('answer');
	  return a && JSON.stringify(a.innerText.trim().split(/\s+/).length > 3) })()`, answerTimeout, "true")
	if tb.disabled("stop") {
		t.Fatal("#stop is disabled while the answer streams")
	}
	res := eval[struct {
		Ms    float64 `json:"ms"`
		Stop  string  `json:"stop"`
		Count int     `json:"count"`
	}](tb, stopJS)
	t.Logf("stop: %.0f ms from the click to data-state=done (stop=%s, %d tokens kept)", res.Ms, res.Stop, res.Count)
	if res.Stop != "cancelled" {
		t.Fatalf("the answer ended with stop=%q, want cancelled", res.Stop)
	}
	if res.Ms > float64(limit.Milliseconds()) {
		t.Errorf("stop took %.0f ms, want under %v", res.Ms, limit)
	}
	if !tb.disabled("stop") {
		t.Error("#stop is still enabled after the answer ended")
	}
	tb.logLongestTask(since)
}

// stopJS clicks #stop and resolves when #answer says done.
const stopJS = `new Promise((resolve, reject) => {
  const a = document.getElementById('answer');
  const t0 = performance.now();
  const finish = () => {
    if (a.dataset.state !== 'done') return false;
    resolve({ms: performance.now() - t0, stop: a.dataset.stop, count: JSON.parse(a.dataset.tokenIds).length});
    return true;
  };
  const obs = new MutationObserver(() => { if (finish()) obs.disconnect(); });
  obs.observe(a, {attributes: true});
  setTimeout(() => { obs.disconnect(); reject(new Error('no done within 10 s of Stop')); }, 10000);
  document.getElementById('stop').click();
})`

// seen polls the JS condition until it holds or the time is up.
func (tb *tab) seen(cond string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return true
		}
	}
	return false
}

func (tb *tab) disabled(id string) bool {
	return eval[bool](tb, fmt.Sprintf(`document.getElementById(%q).disabled`, id))
}

func findCase(t *testing.T, id string) fixture.Case {
	t.Helper()
	for _, c := range suite.cases {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no fixture case %s", id)
	return fixture.Case{}
}

// nativeRun holds the native engine's tokens of a two-question chat.
type nativeRun struct {
	first []int64 // answer to the first question
	whole []int64 // follow-up answer from one uncached run over the whole conversation
}

// nativeConversation runs the case's question and the follow-up through the
// native engine (cgo onnxruntime), then reruns the whole conversation
// without a cache, as pipeline's TestFollowUpReusesCache does.
func nativeConversation(c fixture.Case, followUp string) (*nativeRun, error) {
	ctx := context.Background()
	eng, err := ortnative.New(ortnative.Options{})
	if err != nil {
		return nil, err
	}
	dir, err := fixture.ModelDir()
	if err != nil {
		return nil, err
	}
	p, err := pipeline.Open(modelconfig.Dir(dir))
	if err != nil {
		return nil, err
	}
	if err := p.LoadModel(ctx, eng, modelconfig.SameVariant("fp32")); err != nil {
		return nil, err
	}
	defer p.Close()
	data, err := os.ReadFile(casePath(c))
	if err != nil {
		return nil, err
	}
	img, err := imageproc.Decode(data, imageproc.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	pic, err := p.PreprocessImage(img, c.DoImageSplitting)
	if err != nil {
		return nil, err
	}
	chat, err := p.NewChat()
	if err != nil {
		return nil, err
	}
	defer chat.Close()
	opts := generate.Options{MaxNewTokens: maxNewTokens}
	first, err := chat.Ask(ctx, pipeline.Turn{Image: pic, Text: c.Prompt}, opts)
	if err != nil {
		return nil, err
	}
	second, err := chat.Ask(ctx, pipeline.Turn{Text: followUp}, opts)
	if err != nil {
		return nil, err
	}
	fresh := p.Model.NewConversation()
	defer fresh.Close()
	whole := slices.Concat(first.InputIDs, first.Tokens, second.InputIDs)
	res, err := fresh.Generate(ctx, whole, []generate.Image{pipeline.ImageInput(pic)}, opts)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(res.Tokens, second.Tokens) {
		return nil, fmt.Errorf("the native engine disagrees with itself: cached %v, whole %v", second.Tokens, res.Tokens)
	}
	return &nativeRun{first: first.Tokens, whole: res.Tokens}, nil
}
