//go:build cgo && !js && !windows

package ortnative

import (
	"errors"
	"math"
	"os"
	"slices"
	"testing"
)

// swiftShaderICD is the Vulkan driver Debian's chromium ships (SwiftShader,
// Vulkan on the CPU), which make test needs anyway. Dawn refuses Debian 12's
// lavapipe (Mesa 22.3: "Vulkan shaderUniform*ArrayDynamicIndexing required").
const swiftShaderICD = "/usr/lib/chromium/vk_swiftshader_icd.json"

// setupWebGPU is setup on the WebGPU execution provider. It fails, not
// skips, without an adapter; with VK_ICD_FILENAMES unset it uses chromium's
// SwiftShader when present.
func setupWebGPU(t *testing.T, opts Options) *Engine {
	t.Helper()
	if os.Getenv("VK_ICD_FILENAMES") == "" {
		if _, err := os.Stat(swiftShaderICD); err == nil {
			t.Setenv("VK_ICD_FILENAMES", swiftShaderICD)
		}
	}
	opts.Device = DeviceWebGPU
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestWebGPUKeepsCacheOnDevice runs a decoder prefill and one step on WebGPU:
// the present.* outputs stay in GPU buffers (unreadable, fed straight back)
// and the logits come to the host. With CacheOnHost the cache is host memory
// again and the logits must be the same bits; both are checked against the
// CPU's within the GPU kernels' rounding.
func TestWebGPUKeepsCacheOnDevice(t *testing.T) {
	cpu, dir, cfg := setup(t)
	engines := []*Engine{cpu, setupWebGPU(t, Options{}), setupWebGPU(t, Options{CacheOnHost: true})}
	var logits [3][]float32
	for i, e := range engines {
		emb := load(t, e, dir, "embed_tokens")
		dec := load(t, e, dir, "decoder_model_merged")
		ids := []int64{1, 11, 22, 33}
		out := run(t, dec, "prefill", decoderInputs(t, e, dec, cfg, embed(t, e, emb, ids), nil, 0))
		_, err := out["present.0.key"].Float32s(0, 1)
		if wantDevice := i == 1; wantDevice != errors.Is(err, errOnDevice) {
			t.Errorf("%s (CacheOnHost %v): reading present.0.key: %v", e.Name(), e.opts.CacheOnHost, err)
		}
		out = run(t, dec, "step", decoderInputs(t, e, dec, cfg, embed(t, e, emb, []int64{44}), out, len(ids)))
		checkShape(t, "present.0.key", out["present.0.key"], 1, int64(cfg.KVHeads), int64(len(ids)+1), int64(cfg.HeadDim))
		logits[i] = allFloats(t, "logits", out["logits"])
	}
	if !slices.Equal(logits[1], logits[2]) {
		t.Errorf("webgpu logits differ with the cache on the device and on the host")
	}
	var worst float64
	for j := range logits[0] {
		worst = max(worst, math.Abs(float64(logits[0][j]-logits[1][j]))/(1+math.Abs(float64(logits[0][j]))))
	}
	// Measured 0.014 on SwiftShader: the WebGPU kernels round differently
	// from MLAS; tokens are compared in pipeline's WebGPU test.
	if worst > 0.05 {
		t.Errorf("webgpu logits differ from the CPU's by up to %.2g (relative)", worst)
	}
	t.Logf("webgpu logits within %.2g (relative) of the CPU's", worst)
}

// TestSoftwareVulkan reads the Vulkan loader's driver choice: software only
// when every driver named is SwiftShader or lavapipe, VK_DRIVER_FILES
// before VK_ICD_FILENAMES. An engine on the CPU is never a software GPU;
// one on this machine's SwiftShader is.
func TestSoftwareVulkan(t *testing.T) {
	for _, c := range []struct {
		drivers, icd string
		want         bool
	}{
		{"", "", false},
		{"", swiftShaderICD, true},
		{"/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", "", true},
		{"/usr/share/vulkan/icd.d/nvidia_icd.json", swiftShaderICD, false},
		{"", "/usr/share/vulkan/icd.d/lvp_icd.json:/usr/share/vulkan/icd.d/radeon_icd.x86_64.json", false},
		{"/a/vk_swiftshader_icd.json:/b/lvp_icd.json", "", true},
	} {
		env := map[string]string{"VK_DRIVER_FILES": c.drivers, "VK_ICD_FILENAMES": c.icd}
		if got := softwareVulkan(func(k string) string { return env[k] }); got != c.want {
			t.Errorf("VK_DRIVER_FILES=%q VK_ICD_FILENAMES=%q: software %v, want %v", c.drivers, c.icd, got, c.want)
		}
	}
	cpu, _, _ := setup(t)
	if cpu.SoftwareGPU() {
		t.Error("the CPU engine reports a software GPU")
	}
	// The CPU provider is discovered on the CPU, never on a GPU.
	if onGPU, err := epOnGPU(cpu.env, "CPUExecutionProvider"); onGPU || err != nil {
		t.Errorf("CPUExecutionProvider discovered on a GPU: %v, %v", onGPU, err)
	}
	onGPU, err := epOnGPU(cpu.env, webgpuEPDevice)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s discovered on a GPU: %v", webgpuEPDevice, onGPU)
	t.Setenv("VK_DRIVER_FILES", "") // restored after the test
	os.Unsetenv("VK_DRIVER_FILES")
	t.Setenv("VK_ICD_FILENAMES", swiftShaderICD)
	if gpu := setupWebGPU(t, Options{}); !gpu.SoftwareGPU() {
		t.Errorf("WebGPU on %s is not reported as a software GPU", swiftShaderICD)
	}
}
