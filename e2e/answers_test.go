//go:build !js

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

// maxNewTokens is the length of the fixture's reference answers.
const maxNewTokens = 24

// backends are the two devices the page offers. SwiftShader runs WebGPU on
// the CPU at about 1 token/s (q4: 0.5) with a 15–20 s first token, so WebGPU
// gets the cheapest PNG case (one tile), greedy decoding only (the
// repetition penalty is applied in Go to the logits, the same code on both
// backends, and wasm covers it on every PNG case), and q4 over its first 8
// steps (the same shaders run at every step).
var backends = []struct {
	device    string
	cases     int  // PNG cases to run; 0 means all
	penalised bool // also run with repetition penalty 1.2
	q4Steps   int  // q4 steps compared; 0 means all comparable ones
}{
	{"wasm", 0, true, 0},
	{"webgpu", 1, false, 8},
}

// TestAnswersMatchReference drives the page through every PNG case with the
// fp32 model, greedy and with repetition penalty 1.2, and compares the token
// ids with the Python reference. JPEG cases report how far they agree:
// their tiles differ from PIL's by a few JPEG decoder rounding units.
func TestAnswersMatchReference(t *testing.T) {
	requireSuite(t)
	for _, be := range backends {
		t.Run(be.device, func(t *testing.T) {
			tb := openApp(t, fmt.Sprintf("device=%s&dtype=fp32&max_new_tokens=%d&repetition_penalty=1", be.device, maxNewTokens), desktop)
			tb.requireBackend(be.device)
			since := tb.now()
			for _, run := range []struct{ name, penalty string }{
				{"greedy", "1"},
				{"repetition_penalty_1.2", "1.2"},
			} {
				if run.penalty != "1" && !be.penalised {
					continue
				}
				tb.setControl("setting-repetition-penalty", run.penalty)
				if run.penalty != "1" && !strings.Contains(tb.query(), "repetition_penalty="+run.penalty) {
					t.Errorf("the URL %q does not carry repetition_penalty=%s", tb.query(), run.penalty)
				}
				for _, c := range pickCases(isPNG, be.cases) {
					tb.checkCase(c, run.name, c.ReferenceTokens[run.name], len(c.ReferenceTokens[run.name]), true)
				}
				if be.device == "wasm" && run.name == "greedy" {
					for _, c := range pickCases(isJPEG, 0) {
						tb.checkCase(c, run.name, c.ReferenceTokens[run.name], maxNewTokens, false)
					}
				}
			}
			tb.logLongestTask(since)
		})
	}
}

// TestQ4MatchesOnnxruntime compares the q4 model with onnxruntime CPU's own
// q4 tokens, up to the first step whose recorded top-1 margin is below
// 1e-2: there, float rounding on another backend may pick the other token.
func TestQ4MatchesOnnxruntime(t *testing.T) {
	requireSuite(t)
	const minMargin = 1e-2
	for _, be := range backends {
		t.Run(be.device, func(t *testing.T) {
			steps := maxNewTokens
			if be.q4Steps > 0 {
				steps = be.q4Steps
			}
			tb := openApp(t, fmt.Sprintf("device=%s&dtype=q4&max_new_tokens=%d&repetition_penalty=1", be.device, steps), desktop)
			tb.requireBackend(be.device)
			for _, c := range pickCases(isPNG, be.cases) {
				want := c.ORTTokens["q4"]
				n := min(steps, fixture.ComparableSteps(c.ORTMargins["q4"], minMargin, len(want)))
				tb.checkCase(c, "q4", want[:n], n, true)
			}
		})
	}
}

// checkCase asks the case's question about its picture and compares the
// first n tokens with want. Mismatches fail when strict, else are reported.
func (tb *tab) checkCase(c fixture.Case, name string, want []int64, n int, strict bool) {
	tb.t.Helper()
	tb.setControl("setting-split", splitParam(c.DoImageSplitting))
	a := tb.ask(casePath(c), c.Prompt)
	got := a.tokens(tb.t)
	// The page sends the picture ahead (look) when it is picked: the
	// encoder ran then, or in this turn if the ask came first.
	if (a.VisionRuns == "1") == (a.LookedAhead == "true") {
		tb.t.Errorf("%s %s: data-vision-runs %s, data-looked-ahead %s; want 1 for a new picture, or 0 when looked at ahead",
			c.ID, name, a.VisionRuns, a.LookedAhead)
	}
	cmp := got[:min(n, len(got))]
	switch {
	case slices.Equal(cmp, want):
		tb.t.Logf("%-26s %-24s %s equal over %2d steps  first token %6s ms  %6s tokens/s",
			c.ID, name, a.Backend, len(want), a.TTFTMs, a.DecodeTPS)
	case strict:
		tb.t.Errorf("%s %s: tokens diverge at step %d:\n got %v\nwant %v", c.ID, name, fixture.FirstDiff(cmp, want), got, want)
	default:
		tb.t.Logf("%-26s %-24s %s agree on the first %d of %d steps (JPEG decoding differs slightly from PIL)",
			c.ID, name, a.Backend, agreeing(cmp, want), len(want))
	}
}

// requireBackend checks the model runs where the link asked; a browser
// without WebGPU skips rather than fails, since that is the machine.
func (tb *tab) requireBackend(device string) {
	tb.t.Helper()
	got := eval[string](tb, `document.getElementById('model-status').dataset.backend || ''`)
	if got == device {
		return
	}
	// Chromium's SwiftShader gives WebGPU on every machine the tests run on,
	// so a missing backend is a failure, not a reason to skip.
	tb.t.Fatalf("the model runs on %q, want %q: %s", got, device, tb.pageText())
}

// freezeLimit is a generous bound on one main-thread task while answers
// stream. Observed: mostly none over 50 ms, at times one of 50–250 ms when
// the worker keeps both cores busy; a second would mean the page froze.
const freezeLimit = 1000.0

// logLongestTask reports the longest main-thread task since the page-clock
// time since: the page must stay responsive while the worker computes.
func (tb *tab) logLongestTask(since float64) {
	tb.t.Helper()
	longest, n := tb.longestTask(since)
	tb.t.Logf("main thread: %d long tasks (>50 ms) during the answers, the longest %.0f ms", n, longest)
	if longest > freezeLimit {
		tb.t.Errorf("the page froze for %.0f ms while answering", longest)
	}
}

func splitParam(split bool) string {
	if split {
		return "1"
	}
	return "0"
}

func isJPEG(c fixture.Case) bool { return !isPNG(c) }

// pickCases returns the cases that keep; with a limit, the limit cheapest
// ones (fewest tiles, then shortest prompt).
func pickCases(keep func(fixture.Case) bool, limit int) []fixture.Case {
	var out []fixture.Case
	for _, c := range suite.cases {
		if keep(c) {
			out = append(out, c)
		}
	}
	if limit == 0 || limit >= len(out) {
		return out
	}
	slices.SortStableFunc(out, func(a, b fixture.Case) int {
		if d := tiles(a) - tiles(b); d != 0 {
			return int(d)
		}
		return len(a.InputIDs) - len(b.InputIDs)
	})
	return out[:limit]
}

// tiles is the number of 512×512 tiles the vision encoder sees.
func tiles(c fixture.Case) int64 {
	if len(c.PixelValuesShape) < 2 {
		return 0
	}
	return c.PixelValuesShape[1]
}

// agreeing is the length of the common prefix.
func agreeing(a, b []int64) int {
	if d := fixture.FirstDiff(a, b); d >= 0 {
		return d
	}
	return len(a)
}

// waitTime formats a duration for logs.
func waitTime(d time.Duration) string { return d.Round(time.Millisecond).String() }
