//go:build !js

// Command bench measures SmolVLM-256M in one headless Chromium session: our
// app's model worker against transformers.js and against the plain
// onnxruntime-web loop, on the WebAssembly and WebGPU backends, and our
// native command line on the same files. It prints a side-by-side table and
// writes it as JSON and Markdown under -out.
//
// The model is the real SmolVLM-256M graph with random weights of the real
// sizes, regrown from ../shared/fixtures/smolvlm-256m-skeleton.tar.xz
// (bench/regrow), so it measures speed and memory, not answers: every
// contestant is asked for exactly -tokens new tokens, greedy.
//
//	go run ./cmd/bench                      # everything (make bench)
//	go run ./cmd/bench -cases 512 -backends wasm -contestants ours,ortloop
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	headless "github.com/pocketvlm/smolvlm/internal/chromium"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is what one benchmark run measures.
type config struct {
	out         string   // results folder
	modelDir    string   // regrown model
	skeleton    string   // the weight-stripped archive
	variant     string   // ONNX variant of all three parts
	cases       []string // picture cases, by name (see pictureCases)
	backends    []string // wasm, webgpu
	contestants []string // ours, transformers, ortloop
	runs        int      // runs of each; the last is reported
	tokens      int      // new tokens per answer
	threads     int      // WebAssembly threads asked of every contestant; 0: each one's default
	native      []string // devices to time bin/smolvlm on: cpu, webgpu
	graphs      []string // execution providers to show the optimized graphs of
	smolvlm     string   // the native command line
	chromium    string
	prompt      string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var cases, backends, contestants, native, graphs string
	fs.StringVar(&c.out, "out", "bin/bench", "folder for results.json, results.md and the pictures")
	fs.StringVar(&c.modelDir, "model", "bin/bench/smolvlm-256m-random", "folder of the regrown model (made when missing)")
	fs.StringVar(&c.skeleton, "skeleton", "../shared/fixtures/smolvlm-256m-skeleton.tar.xz", "the weight-stripped SmolVLM-256M")
	fs.StringVar(&c.variant, "variant", "q4", "ONNX variant of the three sessions: fp32, fp16, q4 or q4f16")
	fs.StringVar(&cases, "cases", "512,2048x1536", "pictures: 512 (512×512, one tile) and 2048x1536 (split into 12 tiles and the global one)")
	fs.StringVar(&backends, "backends", "wasm,webgpu", "onnxruntime-web backends")
	fs.StringVar(&contestants, "contestants", "ours,transformers,ortloop", "browser contestants; ours@threads=N, ours@ort=asyncify|jspi, ours@warmup=off, ours@dequantize=on|off|int8, ours@load=sequential, ours@int8=on, ours@attention=repeated and ours@look=ahead add our worker with that change, to compare in the same session; ours@load=cached and transformers@load=cached time a second load, from the files the first one kept in the browser's cache (an installed app's start)")
	fs.IntVar(&c.runs, "runs", 2, "runs of each measurement; the last is reported")
	fs.IntVar(&c.tokens, "tokens", 32, "new tokens per answer (greedy; end-of-sequence held back)")
	fs.IntVar(&c.threads, "threads", 0, "WebAssembly threads for every contestant (0: each one's default)")
	fs.StringVar(&native, "native", "cpu", "devices to time the native command line (-smolvlm) on: cpu, webgpu, or none; cpu@attention=repeated and webgpu@attention=repeated add a run with the export's attention (caption -attention repeated)")
	fs.StringVar(&graphs, "graphs", "cpu", "native execution providers to count the operators of onnxruntime's optimized graphs on: cpu, webgpu, or none")
	fs.StringVar(&c.smolvlm, "smolvlm", "bin/smolvlm", "the native command line (make build)")
	fs.StringVar(&c.chromium, "chromium", envOr("CHROMIUM", headless.DefaultPath), "Chromium to drive")
	fs.StringVar(&c.prompt, "prompt", "Can you describe this image?", "the question")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.cases, c.backends, c.contestants = splitList(cases), splitList(backends), splitList(contestants)
	if native != "none" {
		c.native = splitList(native)
	}
	if graphs != "none" {
		c.graphs = splitList(graphs)
	}
	if err := c.check(); err != nil {
		return err
	}
	return measure(ctx, c, stdout, stderr)
}

func (c config) check() error {
	if c.runs < 1 || c.tokens < 2 {
		return errors.New("-runs must be at least 1 and -tokens at least 2")
	}
	for _, name := range c.cases {
		if _, ok := pictureCases[name]; !ok {
			return fmt.Errorf("-cases: unknown case %q (have 512, 2048x1536)", name)
		}
	}
	for _, b := range c.backends {
		if b != "wasm" && b != "webgpu" {
			return fmt.Errorf("-backends: unknown backend %q (have wasm, webgpu)", b)
		}
	}
	for _, name := range c.contestants {
		base, _, withOption := strings.Cut(name, "@")
		if _, ok := contestantPages[base]; !ok || (withOption && base != "ours" && name != cachedTransformers) {
			return fmt.Errorf("-contestants: unknown contestant %q (have ours, ours@threads=N, ours@ort=asyncify|jspi, ours@warmup=off, ours@dequantize=on|off|int8, ours@load=sequential|cached, ours@int8=on, ours@attention=repeated, ours@look=ahead, transformers, transformers@load=cached, ortloop)", name)
		}
	}
	for flag, devices := range map[string][]string{"native": c.native, "graphs": c.graphs} {
		for _, d := range devices {
			device, option, withOption := strings.Cut(d, "@")
			if device != "cpu" && device != "webgpu" || withOption && (flag != "native" || option != "attention=repeated") {
				return fmt.Errorf("-%s: unknown device %q (have cpu, webgpu, none; -native also cpu@attention=repeated, webgpu@attention=repeated)", flag, d)
			}
		}
	}
	switch c.variant {
	case "fp32", "fp16", "q4", "q4f16":
	default:
		return fmt.Errorf("-variant: unknown variant %q (have fp32, fp16, q4, q4f16)", c.variant)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
