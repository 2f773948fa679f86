package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pocketvlm/smolvlm/hub"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

// defaultModelDir is where make run looks for the real model.
const defaultModelDir = "models/smolvlm-256m-instruct"

func runDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("download", flag.ContinueOnError)
	dir := fs.String("dir", defaultModelDir, "model folder to fill")
	variants := fs.String("variants", strings.Join(modelconfig.AutoDownload(), ","),
		"comma-separated variants of all three sub-models to fetch (fp32, fp16, q4, q4f16, ...); the default is every variant the app picks by itself (modelconfig.AutoOrder)")
	endpoint := fs.String("endpoint", hub.DefaultEndpoint, "Hub address (a mirror with the same URL layout works)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	m := hub.SmolVLM256M()
	var onnx []string
	for _, v := range strings.Split(*variants, ",") {
		for _, part := range []string{modelconfig.VisionEncoder, modelconfig.EmbedTokens, modelconfig.Decoder} {
			f, err := modelconfig.ONNXFile(part, strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("-variants: %w", err)
			}
			onnx = append(onnx, f)
		}
	}
	files := hub.FilesFor(onnx...)
	var total int64
	for _, f := range files {
		total += m.Files[f].Size
	}
	fmt.Fprintf(stdout, "%s at %.12s: %d files, %.0f MB into %s\n", m.Repo, m.Revision, len(files), float64(total)/1e6, *dir)
	last := time.Now()
	progress := func(file string, done, size int64) {
		if done == size || time.Since(last) > time.Second {
			last = time.Now()
			fmt.Fprintf(stderr, "\r%-45s %6.1f / %6.1f MB %3.0f%%", file, float64(done)/1e6, float64(size)/1e6, 100*float64(done)/float64(max(size, 1)))
			if done == size {
				fmt.Fprintln(stderr)
			}
		}
	}
	if err := hub.Download(ctx, m, *dir, files, hub.Options{Endpoint: *endpoint, Progress: progress}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "all files present and verified (size and SHA-256)")
	return nil
}
