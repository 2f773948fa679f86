package pipeline_test

import (
	"cmp"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortnative"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/internal/fixture"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/sample"
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
	// SMOLVLM_WEBGPU_VARIANTS (e.g. "fp32,q4,q4f16,fp16") widens the check
	// on a real GPU, where the float16 variants run (shader-f16) and where
	// every case is quick; here one fp32 case is what SwiftShader allows.
	variants := strings.Split(cmp.Or(os.Getenv("SMOLVLM_WEBGPU_VARIANTS"), "fp32"), ",")
	all := os.Getenv("SMOLVLM_WEBGPU_VARIANTS") != ""
	steps := webgpuSteps
	if all {
		steps = referenceMaxNewTokens
	}
	var cases []preparedCase
	for _, c := range preparedCases(t) {
		if !c.exactTile || len(c.c.ORTTokens["fp32"]) < steps {
			continue
		}
		if all || len(cases) == 0 || len(c.image.Tiles) < len(cases[0].image.Tiles) {
			if !all {
				cases = cases[:0]
			}
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		t.Fatal("no bit-exact case with enough reference tokens")
	}
	for _, variant := range variants {
		p := openFixture(t)
		start := time.Now()
		if err := p.LoadModel(context.Background(), e, modelconfig.SameVariant(variant)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s load on %s: %v", variant, e.Name(), time.Since(start).Round(time.Millisecond))
		t.Logf("software GPU: %v; %d tiles per vision run (0: all)", e.SoftwareGPU(), p.Model.TilesPerRun)
		if wantBatched := e.SoftwareGPU(); wantBatched != (p.Model.TilesPerRun == 0) {
			t.Errorf("software GPU %v, %d tiles per vision run", wantBatched, p.Model.TilesPerRun)
		}
		for _, pc := range cases {
			checkWebGPUCase(t, p, pc, variant, steps)
		}
		p.Close()
	}
}

// checkWebGPUCase compares one case's greedy tokens with onnxruntime CPU's
// for variant.
func checkWebGPUCase(t *testing.T, p *pipeline.Pipeline, pc preparedCase, variant string, steps int) {
	t.Helper()
	want, ok := pc.c.ORTTokens[variant]
	if !ok {
		t.Fatalf("%s: the fixture has no onnxruntime CPU tokens for %s", pc.c.ID, variant)
	}
	chat, err := p.NewChat()
	if err != nil {
		t.Fatal(err)
	}
	defer chat.Close()
	ans, err := chat.Ask(context.Background(), pipeline.Turn{Image: pc.image, Text: pc.c.Prompt},
		generate.Options{MaxNewTokens: steps})
	if err != nil {
		t.Fatal(err)
	}
	n := fixture.ComparableSteps(pc.c.ORTMargins[variant], 1e-3, steps)
	if err := checkTokens(ans.Tokens[:min(n, len(ans.Tokens))], want[:n]); err != nil {
		t.Errorf("%s %s on WebGPU: %v", pc.c.ID, variant, err)
	}
	tm := ans.Timings
	t.Logf("%s %s (%d tiles): %d of %d steps compared; vision %v, first token %v, %.2f tok/s", pc.c.ID, variant, len(pc.image.Tiles),
		n, steps, tm.Vision.Round(time.Millisecond), tm.FirstToken.Round(time.Millisecond), tm.DecodeTokensPerSecond())
}

// TestWebGPUWhereFloat16Parts is a diagnostic for a real GPU, not part of
// make test (it skips unless SMOLVLM_WEBGPU_VARIANTS is set): it finds which
// sub-model's float16 kernels on WebGPU part from onnxruntime CPU, by running
// one float16 part at a time among fp32 ones on both engines and logging the
// first step where their greedy tokens differ; then the same for all-q4f16
// and for the automatic choice on a shader-f16 GPU (modelconfig.AutoOrder).
// Each configuration is a subtest (-run 'TestWebGPUWhereFloat16Parts/auto').
func TestWebGPUWhereFloat16Parts(t *testing.T) {
	if os.Getenv("SMOLVLM_WEBGPU_VARIANTS") == "" {
		t.Skip("diagnostic for a GPU with shader-f16: set SMOLVLM_WEBGPU_VARIANTS")
	}
	gpu, err := ortnative.New(ortnative.Options{Device: ortnative.DeviceWebGPU})
	if err != nil {
		t.Fatalf("webgpu engine: %v", err)
	}
	defer gpu.Close()
	cpu, err := ortnative.New(ortnative.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	type config struct {
		name string
		v    modelconfig.Variants
	}
	var configs []config
	for _, f16 := range []string{"fp16", "q4f16"} {
		for _, part := range []string{"vision", "embed", "decoder"} {
			v, err := modelconfig.ParseVariants(part + "=" + f16)
			if err != nil {
				t.Fatal(err)
			}
			configs = append(configs, config{f16 + "-" + part, v.WithDefault("fp32")})
		}
	}
	configs = append(configs, config{"q4f16", modelconfig.SameVariant("q4f16")},
		config{"auto", modelconfig.Variants{}.Auto(modelconfig.ComputeGPUF16, nil)})
	cases := preparedCases(t)
	for _, cf := range configs {
		t.Run(cf.name, func(t *testing.T) {
			for _, pc := range cases {
				if !pc.exactTile {
					continue
				}
				var got [2][]int64
				for i, e := range []*ortnative.Engine{cpu, gpu} {
					p := openFixture(t)
					if err := p.LoadModel(context.Background(), e, cf.v); err != nil {
						t.Fatal(err)
					}
					ans, err := answer(p, pc, sample.Options{})
					p.Close()
					if err != nil {
						t.Fatal(err)
					}
					got[i] = ans.Tokens
				}
				t.Logf("%-22s %s on WebGPU vs CPU: first difference at step %d of %d",
					pc.c.ID, cf.v, fixture.FirstDiff(got[1], got[0]), len(got[0]))
			}
		})
	}
}
