//go:build !js

package main

import (
	"strings"
	"testing"
)

func TestRatio(t *testing.T) {
	ttft, decode := metrics[3], metrics[4]
	ours := result{TTFTMs: ptr(5000), DecodeTps: ptr(6)}
	alts := []result{{TTFTMs: ptr(10000), DecodeTps: ptr(3)}, {TTFTMs: ptr(15000), DecodeTps: ptr(4)}, {}}
	if got := ratio(ttft, ours, alts); got != "2.00×" { // against the fastest alternative, 10 s
		t.Errorf("first token ratio %s, want 2.00×", got)
	}
	if got := ratio(decode, ours, alts); got != "1.50×" { // against the best, 4 tokens/s
		t.Errorf("decode ratio %s, want 1.50×", got)
	}
	if got := ratio(ttft, result{}, alts); got != "–" {
		t.Errorf("ratio without our figure %s, want –", got)
	}
	if got := ratio(ttft, ours, []result{{}}); got != "–" {
		t.Errorf("ratio without an alternative's figure %s, want –", got)
	}
}

func TestMarkdownReportsTheLastRunAndFailures(t *testing.T) {
	cfg := config{variant: "q4", tokens: 32, runs: 2, prompt: "?", contestants: []string{"ours", "transformers", "ortloop"}}
	rep := report{Machine: map[string]string{}, Results: []result{
		{Case: "512", Backend: "wasm", Contestant: "ours", Run: 1, TTFTMs: ptr(9999)},
		{Case: "512", Backend: "wasm", Contestant: "ours", Run: 2, TTFTMs: ptr(5000), DecodeTps: ptr(6)},
		{Case: "512", Backend: "wasm", Contestant: "transformers", Run: 2, TTFTMs: ptr(10000), DecodeTps: ptr(3)},
		{Case: "512", Backend: "wasm", Contestant: "ortloop", Run: 2, Error: "run: out of memory | oops"},
		{Case: "512", Backend: "wasm", Contestant: "ours@dequantize=on", Run: 2, TTFTMs: ptr(4000), DecodeTps: ptr(12), Unpacked: "decoder_model_merged to float32"},
		{Case: "512", Backend: "cpu", Contestant: "native", Run: 2, TTFTMs: ptr(1000), DecodeTps: ptr(60)},
		{Case: "512", Backend: "cpu", Contestant: "native@attention=repeated", Run: 2, TTFTMs: ptr(1100), DecodeTps: ptr(55)},
	}}
	cfg.contestants = append(cfg.contestants, "ours@dequantize=on")
	cfg.native = []string{"cpu", "cpu@attention=repeated"}
	md := markdown(rep, cfg)
	for _, want := range []string{"| ours (Go worker) |", "| 5000 |", "| **ours ÷ best alternative** | – | – | – | 2.00× | 2.00× |",
		"| ours (Go worker), dequantize=on ÷ best alternative | – | – | – | 2.50× | 4.00× |",
		"| ours (Go worker), dequantize=on, 4-bit weights unpacked (decoder_model_merged to float32) | – |", "failed: run: out of memory / oops",
		"| ours, native CLI | – | – | – | 1000 | 60.0 |", "| ours, native CLI, attention=repeated | – | – | – | 1100 | 55.0 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "9999") {
		t.Errorf("markdown shows run 1 of 2:\n%s", md)
	}
	// The browser is named, and its software WebGPU, only when one ran.
	if strings.Contains(md, "SwiftShader") {
		t.Errorf("a run without a browser speaks of SwiftShader:\n%s", md)
	}
	rep.Machine = map[string]string{"cpu": "CPU", "cores": "2", "memory": "1 kB", "go": "go1", "browser": "Chrome/1"}
	if md := markdown(rep, cfg); !strings.Contains(md, "CPU, 2 cores, 1 kB; Chrome/1; go1.\n") || !strings.Contains(md, "SwiftShader") {
		t.Errorf("the machine line or the browser's WebGPU is missing:\n%s", md)
	}
}

// TestCachedLoadAgainstCachedAlternatives: a variant of ours is compared
// with the alternatives run with the same option where there are any
// (ours@load=cached against transformers@load=cached), and with the plain
// ones otherwise.
func TestCachedLoadAgainstCachedAlternatives(t *testing.T) {
	cfg := config{variant: "q4", tokens: 32, runs: 1, prompt: "?",
		contestants: []string{"ours", "ours@load=cached", "ours@threads=1", "transformers", "transformers@load=cached"}}
	rep := report{Machine: map[string]string{}, Results: []result{
		{Case: "512", Backend: "wasm", Contestant: "ours", Run: 1, LoadMs: ptr(10000)},
		{Case: "512", Backend: "wasm", Contestant: "ours@load=cached", Run: 1, LoadMs: ptr(3000)},
		{Case: "512", Backend: "wasm", Contestant: "ours@threads=1", Run: 1, LoadMs: ptr(12000)},
		{Case: "512", Backend: "wasm", Contestant: "transformers", Run: 1, LoadMs: ptr(12000)},
		{Case: "512", Backend: "wasm", Contestant: "transformers@load=cached", Run: 1, LoadMs: ptr(6000)},
	}}
	md := markdown(rep, cfg)
	for _, want := range []string{
		"| **ours ÷ best alternative** | 1.20× |",                      // 12 s against 10 s
		"| ours (Go worker), load=cached ÷ best alternative | 2.00× |", // 6 s against 3 s
		"| ours (Go worker), threads=1 ÷ best alternative | 1.00× |",   // the plain ones
		"| transformers.js, load=cached | 6000 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	good := config{runs: 2, tokens: 32, variant: "q4", cases: []string{"512"}, backends: []string{"wasm"},
		contestants: []string{"ours", "ours@threads=1", "ours@load=cached", "transformers", "transformers@load=cached"}, native: []string{"cpu", "webgpu@attention=repeated"}}
	if err := good.check(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*config){
		"case":          func(c *config) { c.cases = []string{"1024"} },
		"backend":       func(c *config) { c.backends = []string{"webgl"} },
		"contestant":    func(c *config) { c.contestants = []string{"transformers@threads=1"} },
		"cached loop":   func(c *config) { c.contestants = []string{"ortloop@load=cached"} },
		"variant":       func(c *config) { c.variant = "int8" },
		"device":        func(c *config) { c.native = []string{"cuda"} },
		"graphs":        func(c *config) { c.graphs = []string{"tpu"} },
		"native option": func(c *config) { c.native = []string{"cpu@int8=on"} },
		"graphs option": func(c *config) { c.graphs = []string{"cpu@attention=repeated"} },
		"runs":          func(c *config) { c.runs = 0 },
	} {
		c := good
		mutate(&c)
		if err := c.check(); err == nil {
			t.Errorf("%s: bad config accepted", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}
