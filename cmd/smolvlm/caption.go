package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/sample"
	"github.com/pocketvlm/smolvlm/tokenizer"
)

func runCaption(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("caption", flag.ContinueOnError)
	var in inputFlags
	in.register(fs)
	variant := fs.String("variant", "fp32", "model variant: fp32, fp16, q4 or q4f16 (per part: -variant vision=fp16,embed=fp32,decoder=q4)")
	maxNew := fs.Int("max-new-tokens", 256, "stop after this many new tokens")
	minNew := fs.Int("min-new-tokens", 0, "never stop at the end-of-sequence token before this many new tokens (for benchmarks)")
	var so sample.Options
	fs.Float64Var(&so.RepetitionPenalty, "repetition-penalty", 1.0, "penalise tokens already in the sequence (1 is off)")
	fs.Float64Var(&so.Temperature, "temperature", 0, "sampling temperature (0 is greedy)")
	fs.IntVar(&so.TopK, "top-k", 0, "sample among the k most likely tokens (0 is all)")
	fs.Float64Var(&so.TopP, "top-p", 1, "sample among the most likely tokens up to this probability mass")
	fs.Uint64Var(&so.Seed, "seed", 0, "random seed for sampling")
	threads := fs.Int("threads", 0, "onnxruntime intra-op threads (0 is its default)")
	device := fs.String("device", ortnative.DeviceCPU, "where the model runs: cpu, or webgpu (onnxruntime's WebGPU execution provider, on Vulkan)")
	asJSON := fs.Bool("json", false, "print JSON instead of streaming the answer")
	int8MatMul := fs.Bool("int8", false, "let the q4 and q4f16 files' 4-bit MatMuls quantize their activations to int8 (onnxruntime's accuracy_level 4): faster, but the answers are no longer the reference's")
	attention := fs.String("attention", "grouped", "the fp32 and q4 decoders' attention: grouped (the shared key/value heads read in place) or repeated (the export's, which copies them for every query head), to measure what the rewrite buys")
	warmUp := fs.Bool("warm-up", false, "run every session once on placeholder inputs before the question, as the browser worker does on WebGPU (its time counts in the load)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	variants, err := parseVariants(*variant)
	if err != nil {
		return err
	}
	if *maxNew <= 0 {
		return errors.New("-max-new-tokens must be positive")
	}
	if *attention != "grouped" && *attention != "repeated" {
		return fmt.Errorf("-attention: unknown attention %q (have grouped, repeated)", *attention)
	}
	start := time.Now()
	p, err := in.prepare()
	if err != nil {
		return err
	}
	preprocess := time.Since(start)

	eng, err := ortnative.New(ortnative.Options{IntraOpThreads: *threads, Device: *device})
	if err != nil {
		return err
	}
	defer eng.Close()
	loadStart := time.Now()
	p.pipe.Int8MatMul = *int8MatMul
	p.pipe.RepeatKV = *attention == "repeated"
	if err := p.pipe.LoadModel(ctx, eng, variants); err != nil {
		return err
	}
	defer p.pipe.Close()
	if *warmUp {
		if err := p.pipe.WarmUp(ctx, p.image != nil); err != nil {
			return err
		}
	}
	load := time.Since(loadStart)

	chat, err := p.pipe.NewChat()
	if err != nil {
		return err
	}
	defer chat.Close()
	stream := tokenizer.NewStreamDecoder(p.pipe.Tokenizer, true)
	opts := generate.Options{MaxNewTokens: *maxNew, MinNewTokens: *minNew, Sampling: so}
	if !*asJSON {
		opts.OnToken = func(id int64) { io.WriteString(stdout, stream.Push(id)) }
	}
	ans, err := chat.Ask(ctx, pipeline.Turn{Image: p.image, Text: in.prompt}, opts)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(stdout, stream.Flush())
		t := ans.Timings
		fmt.Fprintf(stderr, "%d tokens (%s) · preprocess %s · vision %s · first token %s · %.1f tokens/s · %s\n",
			len(ans.Tokens), ans.Stop, ms(preprocess), ms(t.Vision), ms(t.FirstToken), t.DecodeTokensPerSecond(), eng.Name())
		return nil
	}
	return json.NewEncoder(stdout).Encode(captionJSON{
		InputIDs: p.inputIDs,
		Tokens:   ans.Tokens,
		Text:     ans.Text,
		Stop:     string(ans.Stop),
		Engine:   eng.Name(),
		Timings: map[string]float64{
			"preprocess":      msf(preprocess),
			"load":            msf(load),
			"vision":          msf(ans.Timings.Vision),
			"first_token":     msf(ans.Timings.FirstToken),
			"decode":          msf(ans.Timings.Decode),
			"decode_tokens_s": ans.Timings.DecodeTokensPerSecond(),
		},
	})
}

type captionJSON struct {
	InputIDs []int64            `json:"input_ids"`
	Tokens   []int64            `json:"tokens"`
	Text     string             `json:"text"`
	Stop     string             `json:"stop"`
	Engine   string             `json:"engine"`
	Timings  map[string]float64 `json:"timings_ms"`
}

// parseVariants reads "q4" (all parts) or "vision=fp16,embed=fp32,decoder=q4";
// parts left out are fp32, the reference precision.
func parseVariants(s string) (modelconfig.Variants, error) {
	v, err := modelconfig.ParseVariants(s)
	if err != nil {
		return v, fmt.Errorf("-variant: %w", err)
	}
	return v.WithDefault("fp32"), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
