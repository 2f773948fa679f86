package pipeline_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
)

// swiftShaderICD is the Vulkan driver Debian's chromium ships: SwiftShader,
// Vulkan on the CPU. Dawn accepts it; Debian 12's lavapipe (Mesa 22.3) it
// refuses ("Vulkan shaderUniform*ArrayDynamicIndexing required").
const swiftShaderICD = "/usr/lib/chromium/vk_swiftshader_icd.json"

// webgpuSteps is how many greedy steps the WebGPU test compares: SwiftShader
// is slow (the vision encoder alone takes minutes on 2 busy cores).
const webgpuSteps = 8

// TestGenerateWebGPUMatchesOnnxruntime runs the fp32 fixture on onnxruntime's
// WebGPU execution provider and compares the greedy tokens of one PNG case
// with onnxruntime CPU's (which equal the PyTorch reference), up to the first
// step whose top-1 margin is too small for another backend's rounding. It
// needs a WebGPU adapter and fails without one; when VK_ICD_FILENAMES is unset
// it uses chromium's SwiftShader, which make test needs anyway.
func TestGenerateWebGPUMatchesOnnxruntime(t *testing.T) {
	if os.Getenv("VK_ICD_FILENAMES") == "" {
		if _, err := os.Stat(swiftShaderICD); err == nil {
			t.Setenv("VK_ICD_FILENAMES", swiftShaderICD)
		}
	}
	e, err := ortnative.New(ortnative.Options{Device: ortnative.DeviceWebGPU})
	if err != nil {
		t.Fatalf("webgpu engine: %v", err)
	}
	defer e.Close()
	if e.Name() != "onnxruntime-webgpu" {
		t.Errorf("Name() = %q", e.Name())
	}
	var pc *preparedCase
	for _, c := range preparedCases(t) {
		if c.exactTile && len(c.c.ORTTokens["fp32"]) >= webgpuSteps && (pc == nil || len(c.image.Tiles) < len(pc.image.Tiles)) {
			pc = &c
		}
	}
	if pc == nil {
		t.Fatal("no bit-exact case with enough reference tokens")
	}
	p := openFixture(t)
	start := time.Now()
	if err := p.LoadModel(context.Background(), e, modelconfig.SameVariant("fp32")); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Logf("load on %s: %v", e.Name(), time.Since(start).Round(time.Millisecond))
	chat, err := p.NewChat()
	if err != nil {
		t.Fatal(err)
	}
	defer chat.Close()
	ans, err := chat.Ask(context.Background(), pipeline.Turn{Image: pc.image, Text: pc.c.Prompt},
		generate.Options{MaxNewTokens: webgpuSteps})
	if err != nil {
		t.Fatal(err)
	}
	want := pc.c.ORTTokens["fp32"]
	n := fixture.ComparableSteps(pc.c.ORTMargins["fp32"], 1e-3, webgpuSteps)
	if err := checkTokens(ans.Tokens[:min(n, len(ans.Tokens))], want[:n]); err != nil {
		t.Errorf("%s on %s: %v", pc.c.ID, e.Name(), err)
	}
	tm := ans.Timings
	t.Logf("%s (%d tiles): %d of %d steps compared; vision %v, first token %v, %.2f tok/s", pc.c.ID, len(pc.image.Tiles),
		n, webgpuSteps, tm.Vision.Round(time.Millisecond), tm.FirstToken.Round(time.Millisecond), tm.DecodeTokensPerSecond())
}
