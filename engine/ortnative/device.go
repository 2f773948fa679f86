//go:build cgo && !js && !windows

package ortnative

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pocketvlm/smolvlm/engine"
)

// webgpuEP is the name onnxruntime registers its WebGPU execution provider
// under for SessionOptionsAppendExecutionProvider (provider_registration.cc).
const webgpuEP = "WebGPU"

// webgpuMemory names the WebGPU EP's allocator (WEBGPU_BUFFER in
// onnxruntime's allocator.h), for binding outputs to GPU buffers.
const webgpuMemory = "WebGPU_Buffer"

// bindMemory creates the memory descriptions Run binds outputs to.
func (e *Engine) bindMemory() error {
	var err error
	if e.devMem, err = createMemInfo(webgpuMemory); err != nil {
		return fmt.Errorf("device %s: memory info %s: %w", e.opts.Device, webgpuMemory, err)
	}
	if e.cpuMem, err = createMemInfo("Cpu"); err != nil {
		return fmt.Errorf("memory info Cpu: %w", err)
	}
	return nil
}

// keepOnDevice says which outputs stay in device memory: the decoder's
// key/value cache, which only feeds the next step as past_key_values.*.
// The logits come back to the host: only their last row is read, and the
// decoder loaded from memory (onnxedit) already computes only that row.
func keepOnDevice(output string) bool { return strings.HasPrefix(output, "present.") }

// webgpuEPDevice is the name of the WebGPU execution provider among
// onnxruntime's discovered devices (GetEpDevices).
const webgpuEPDevice = "WebGpuExecutionProvider"

// softwareGPU reports that the WebGPU adapter computes on the processor:
// the Vulkan loader is told to use only software drivers (softwareVulkan),
// or onnxruntime's device discovery finds no GPU for the WebGPU execution
// provider. On an NVIDIA H100 it lists WebGpuExecutionProvider on the GPU
// (PCI vendor 0x10de, discrete); on a machine without a GPU it lists the
// CPU execution provider alone, and Dawn's adapter is then a software one
// whatever the driver files say.
func softwareGPU(env envHandle, getenv func(string) string) bool {
	if softwareVulkan(getenv) {
		return true
	}
	onGPU, err := epOnGPU(env, webgpuEPDevice)
	return err == nil && !onGPU
}

// softwareVulkan reports that the Vulkan loader is told to use only drivers
// that compute on the processor: every driver file in VK_DRIVER_FILES, or
// else VK_ICD_FILENAMES (the loader reads them in that order), is
// SwiftShader's or Mesa's lavapipe's. With neither variable set the loader
// offers every installed driver and Dawn takes a hardware adapter before a
// software one, so this reports false (a machine without a GPU is told
// apart by softwareGPU's device discovery).
func softwareVulkan(getenv func(string) string) bool {
	files := getenv("VK_DRIVER_FILES")
	if files == "" {
		files = getenv("VK_ICD_FILENAMES")
	}
	if files == "" {
		return false
	}
	for _, f := range filepath.SplitList(files) {
		name := strings.ToLower(filepath.Base(f))
		if !strings.Contains(name, "swiftshader") && !strings.Contains(name, "lvp") && !strings.Contains(name, "lavapipe") {
			return false
		}
	}
	return true
}

// probe creates a one-node session on the engine's execution provider, so
// that a library without it, or a machine without a usable adapter, fails in
// New with one line rather than at the first model.
func (e *Engine) probe() error {
	h, err := createSessionFromBytes(e.env, engine.IdentityModel(engine.ONNXFloat32), e.cfg)
	if err != nil {
		return deviceErr(e.opts.Device, err)
	}
	releaseSession(h)
	return nil
}

// deviceErr turns onnxruntime's message about a missing provider or adapter
// into one line that says what to check.
func deviceErr(device string, err error) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	// Drop onnxruntime's source location and failed condition, if any.
	for _, start := range []string{"Failed to get a WebGPU adapter", "Failed to "} {
		if i := strings.Index(msg, start); i >= 0 {
			msg = msg[i:]
			break
		}
	}
	hint := ""
	switch {
	case strings.Contains(msg, "not supported in this build") || strings.Contains(msg, "Unknown provider"):
		hint = "this onnxruntime library has no WebGPU execution provider"
	case strings.Contains(strings.ToLower(msg), "adapter"):
		hint = "no usable Vulkan adapter (needs libvulkan1 and a Vulkan driver that Dawn accepts; VK_ICD_FILENAMES picks the driver)"
	}
	if hint != "" {
		return fmt.Errorf("device %s: %s (%s)", device, hint, msg)
	}
	return fmt.Errorf("device %s: %s", device, msg)
}
