package app

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/pocketvlm/smolvlm/modelconfig"
)

// formatBytes writes a byte count the way people read file sizes.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	x, prefix := float64(n), ""
	for _, p := range []string{"kB", "MB", "GB", "TB"} {
		x /= unit
		prefix = p
		if x < unit {
			break
		}
	}
	if x < 10 {
		return fmt.Sprintf("%.1f %s", x, prefix)
	}
	return fmt.Sprintf("%.0f %s", x, prefix)
}

// percent is loaded/total in whole percent, 0 when total is unknown.
func percent(loaded, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(math.Min(100, math.Floor(float64(loaded)*100/float64(total))))
}

// formatMs writes a duration given in milliseconds.
func formatMs(ms float64) string {
	if ms >= 10000 {
		return fmt.Sprintf("%.0f s", ms/1000)
	}
	if ms >= 1000 {
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// formatRate writes tokens per second.
func formatRate(tps float64) string {
	if tps >= 100 {
		return fmt.Sprintf("%.0f tokens/s", tps)
	}
	return fmt.Sprintf("%.1f tokens/s", tps)
}

// backendLabel names a backend for people.
func backendLabel(b string) string {
	switch b {
	case "webgpu":
		return "WebGPU"
	case "wasm":
		return "CPU (WebAssembly)"
	}
	return b
}

// variantLabel summarises the sub-model variants: "q4" when all agree.
func variantLabel(v Variants) string {
	if v.Vision == v.Embed && v.Embed == v.Decoder {
		return v.Vision
	}
	return fmt.Sprintf("vision %s · embed %s · decoder %s", orAuto(v.Vision), orAuto(v.Embed), orAuto(v.Decoder))
}

// partLabels name the sub-models (modelconfig's names) as Settings does.
var partLabels = map[string]string{
	modelconfig.VisionEncoder: "vision encoder",
	modelconfig.EmbedTokens:   "token embeddings",
	modelconfig.Decoder:       "language decoder",
}

// partsLabel lists sub-models by their labels.
func partsLabel(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = cmp.Or(partLabels[p], p)
	}
	return strings.Join(out, ", ")
}

func orAuto(v string) string {
	if v == "" {
		return "auto"
	}
	return v
}

// fileLabel shortens a model file URL to its name.
func fileLabel(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return path.Base(u)
}
