//go:build !js

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// nativeRun times bin/smolvlm caption on the same files and picture: the
// onnxruntime build that onnxruntime-node ships, on the CPU or on WebGPU.
// device may carry "@attention=repeated" (caption -attention repeated),
// which makes the row contestant "native@attention=repeated".
func nativeRun(ctx context.Context, cfg config, modelDir, picture string, pc pictureCase, device string) (result, error) {
	device, option, withOption := strings.Cut(device, "@")
	// The native WebGPU rows get their own table: the browser's webgpu
	// table compares browser contestants.
	backend := device
	if device == "webgpu" {
		backend = "webgpu-native"
	}
	res := result{Contestant: "native", Backend: backend, RanOn: device}
	if withOption {
		res.Contestant += "@" + option
	}
	args := []string{"caption", "-model", modelDir, "-image", picture, "-prompt", cfg.prompt,
		"-split=" + strconv.FormatBool(pc.Split), "-variant", cfg.variant,
		"-max-new-tokens", strconv.Itoa(cfg.tokens), "-min-new-tokens", strconv.Itoa(cfg.tokens), "-json"}
	if device != "cpu" {
		args = append(args, "-device", device)
	}
	if option == "attention=repeated" {
		args = append(args, "-attention", "repeated")
	}
	cmd := exec.CommandContext(ctx, cfg.smolvlm, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("%s: %v: %s", cfg.smolvlm, err, firstLine(strings.TrimSpace(stderr.String())))
	}
	var out struct {
		InputIDs []int64            `json:"input_ids"`
		Tokens   []int64            `json:"tokens"`
		Timings  map[string]float64 `json:"timings_ms"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return res, fmt.Errorf("%s printed no JSON: %w", cfg.smolvlm, err)
	}
	t := out.Timings
	res.LoadMs, res.PreprocessMs, res.VisionMs = ptr(t["load"]), ptr(t["preprocess"]), ptr(t["vision"])
	// As in the browser, the time to first token counts from the picture file.
	res.TTFTMs, res.DecodeTps = ptr(t["preprocess"]+t["first_token"]), ptr(t["decode_tokens_s"])
	res.Tokens, res.PromptTokens, res.TokenIDs = len(out.Tokens), len(out.InputIDs), out.Tokens
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.PeakMemMB = ptr(float64(ru.Maxrss) / 1000) // kB on Linux
	}
	res.DownloadedMB = ptr(0)
	return res, nil
}

func ptr(v float64) *float64 { return &v }
