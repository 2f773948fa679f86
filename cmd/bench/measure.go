//go:build !js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pocketvlm/smolvlm/bench/regrow"
)

// result is one contestant's figures on one case and backend. Missing
// figures (a contestant that cannot say how long its vision encoder took)
// are nil.
type result struct {
	Case         string   `json:"case"`
	Contestant   string   `json:"contestant"`
	Backend      string   `json:"backend"`         // asked for
	RanOn        string   `json:"ran_on"`          // what the contestant reports it used
	Run          int      `json:"run"`             // 1-based; the last is reported
	LoadMs       *float64 `json:"load_ms"`         // start to ready: runtime, download, sessions
	PreprocessMs *float64 `json:"preprocess_ms"`   // picture fetch, decode, tiles, prompt
	VisionMs     *float64 `json:"vision_ms"`       // vision encoder
	TTFTMs       *float64 `json:"ttft_ms"`         // start of the answer to the first token
	DecodeTps    *float64 `json:"decode_tokens_s"` // tokens after the first, per second
	PeakMemMB    *float64 `json:"peak_memory_mb"`  // peak RSS of the renderer (or the CLI)
	DownloadedMB *float64 `json:"downloaded_mb"`   // bytes the server sent for this run
	Tokens       int      `json:"tokens"`
	PromptTokens int      `json:"prompt_tokens,omitempty"`
	Threads      int      `json:"threads,omitempty"`
	Notice       string   `json:"notice,omitempty"`
	Unpacked     string   `json:"unpacked,omitempty"` // our worker's unpacked 4-bit weights: "decoder_model_merged to float32"
	LoadStages   []string `json:"load_stages,omitempty"`
	Error        string   `json:"error,omitempty"`
	TokenIDs     []int64  `json:"token_ids,omitempty"`
}

// report is what results.json holds.
type report struct {
	Date    string            `json:"date"`
	Machine map[string]string `json:"machine"`
	Config  map[string]any    `json:"config"`
	Results []result          `json:"results"`
	// Graphs are onnxruntime's optimizations of each file, per native device.
	Graphs []graphOps `json:"graphs,omitempty"`
}

func measure(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := needFiles(root, cfg); err != nil {
		return err
	}
	files := modelFiles(cfg.variant)
	logf("regrowing SmolVLM-256M (%s) with random weights into %s", cfg.variant, cfg.modelDir)
	start := time.Now()
	if err := regrowModel(cfg, files); err != nil {
		return err
	}
	logf("model ready in %.0f s", time.Since(start).Seconds())
	pictures := map[string]string{}
	for _, name := range cfg.cases {
		p, err := writePicture(cfg.out, name, pictureCases[name])
		if err != nil {
			return err
		}
		pictures[name] = p
	}

	rep := report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine: machine(),
		Config: map[string]any{
			"variant": cfg.variant, "tokens": cfg.tokens, "runs": cfg.runs, "prompt": cfg.prompt,
			"threads": cfg.threads, "model": "SmolVLM-256M-Instruct graphs, random weights (bench/regrow)",
		},
	}
	var results []result
	if len(cfg.contestants) > 0 && len(cfg.backends) > 0 {
		s := newSite(root, cfg.modelDir, cfg.out)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s}
		go srv.Serve(ln)
		defer srv.Close()
		base := "http://" + ln.Addr().String()
		b, err := startChromium(ctx, cfg.chromium)
		if err != nil {
			return err
		}
		defer b.close()
		rep.Machine["browser"] = b.version()
		for _, name := range cfg.cases {
			for _, backend := range cfg.backends {
				// Runs interleave the contestants, so slow drift of the
				// machine touches all of them alike.
				for run := 1; run <= cfg.runs; run++ {
					for _, who := range cfg.contestants {
						logf("%s · %s · %s · run %d of %d", pictureCases[name].Label, backend, contestantName(who), run, cfg.runs)
						_, option, _ := strings.Cut(who, "@")
						r, err := b.measure(s, base, browserRun{
							contestant: who, option: option, backend: backend, model: "/models/bench",
							imageURL: "/images/" + filepath.Base(pictures[name]), pc: pictureCases[name], cfg: cfg,
						})
						results = append(results, finish(r, err, name, run, logf))
					}
				}
			}
		}
	}
	for _, device := range cfg.native {
		for _, name := range cfg.cases {
			for run := 1; run <= cfg.runs; run++ {
				logf("%s · native CLI, %s · run %d of %d", pictureCases[name].Label, device, run, cfg.runs)
				r, err := nativeRun(ctx, cfg, cfg.modelDir, pictures[name], pictureCases[name], device)
				results = append(results, finish(r, err, name, run, logf))
			}
		}
	}
	rep.Results = results
	for _, device := range cfg.graphs {
		logf("onnxruntime's optimized graphs, native %s", device)
		rep.Graphs = append(rep.Graphs, fusions(ctx, cfg.modelDir, cfg.variant, files, device)...)
	}
	md := markdown(rep, cfg) + fusionsMarkdown(rep.Graphs)
	fmt.Fprint(stdout, md)
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s", filepath.Join(cfg.out, "results.json"), filepath.Join(cfg.out, "results.md"))
	return nil
}

// finish records a run's error, or logs its figures.
func finish(r result, err error, name string, run int, logf func(string, ...any)) result {
	r.Case, r.Run = name, run
	if err != nil {
		r.Error = firstLine(err.Error())
		logf("  failed: %s", r.Error)
		return r
	}
	logf("  load %s · preprocess %s · vision %s · first token %s · %s tokens/s · peak %s MB · %s MB sent · %d tokens",
		num(r.LoadMs, 0), num(r.PreprocessMs, 0), num(r.VisionMs, 0), num(r.TTFTMs, 0), num(r.DecodeTps, 1),
		num(r.PeakMemMB, 0), num(r.DownloadedMB, 1), r.Tokens)
	if len(r.LoadStages) > 0 {
		logf("  load stages: %s", strings.Join(r.LoadStages, "; "))
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// modelFiles are the ONNX files of one variant.
func modelFiles(variant string) []string {
	suffix := ""
	if variant != "fp32" {
		suffix = "_" + variant
	}
	var out []string
	for _, part := range []string{"vision_encoder", "embed_tokens", "decoder_model_merged"} {
		out = append(out, part+suffix+".onnx")
	}
	return out
}

func regrowModel(cfg config, files []string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(cfg.modelDir)), ".skeleton-")
	if err != nil {
		if err = os.MkdirAll(filepath.Dir(filepath.Clean(cfg.modelDir)), 0o755); err != nil {
			return err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(filepath.Clean(cfg.modelDir)), ".skeleton-"); err != nil {
			return err
		}
	}
	defer os.RemoveAll(tmp)
	skel, err := regrow.Unpack(cfg.skeleton, tmp)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", cfg.skeleton, err)
	}
	return regrow.Regrow(skel, cfg.modelDir, files, 1)
}

// needFiles checks what the benchmark serves and runs, with the command
// that makes each.
func needFiles(root string, cfg config) error {
	need := []struct{ path, fix string }{
		{cfg.skeleton, "the benchmark needs the weight-stripped model from ../shared/fixtures (or -skeleton)"},
	}
	if len(cfg.contestants) > 0 {
		need = append(need,
			struct{ path, fix string }{filepath.Join(root, "web", "worker.wasm"), "run make web"},
			struct{ path, fix string }{filepath.Join(root, "node_modules", "@huggingface", "transformers", "package.json"), "run npm ci --ignore-scripts"},
		)
	}
	if len(cfg.native) > 0 {
		need = append(need, struct{ path, fix string }{cfg.smolvlm, "run make build"})
	}
	for _, n := range need {
		if _, err := os.Stat(n.path); err != nil {
			return fmt.Errorf("%s is missing: %s", n.path, n.fix)
		}
	}
	return nil
}

// machine describes where the figures come from.
func machine() map[string]string {
	m := map[string]string{
		"os": runtime.GOOS + "/" + runtime.GOARCH, "cores": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		m["memory"] = strings.Join(strings.Fields(strings.TrimPrefix(line, "MemTotal:")), " ")
	}
	return m
}
