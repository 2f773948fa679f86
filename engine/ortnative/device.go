//go:build cgo && !js && !windows

package ortnative

import (
	"fmt"
	"strings"
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

// probe creates a one-node session on the engine's execution provider, so
// that a library without it, or a machine without a usable adapter, fails in
// New with one line rather than at the first model.
func (e *Engine) probe() error {
	h, err := createSessionFromBytes(e.env, identityModel(1 /* FLOAT */), e.cfg)
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

// identityModel encodes an ONNX ModelProto for y = Identity(x), x and y of
// the given element type and shape [1].
func identityModel(elemType uint64) []byte {
	valueInfo := func(name string) []byte {
		dim := pbBytes(1, pbVarint(1, 1))                           // Dimension.dim_value
		tensor := append(pbVarint(1, elemType), pbBytes(2, dim)...) // TypeProto.Tensor
		return append(pbString(1, name), pbBytes(2, pbBytes(1, tensor))...)
	}
	node := append(append(pbString(1, "x"), pbString(2, "y")...), pbString(4, "Identity")...)
	graph := append(pbBytes(1, node), pbString(2, "g")...)
	graph = append(graph, pbBytes(11, valueInfo("x"))...)
	graph = append(graph, pbBytes(12, valueInfo("y"))...)
	opset := pbVarint(2, 13)
	model := append(pbVarint(1, 8), pbBytes(7, graph)...) // ir_version 8
	return append(model, pbBytes(8, opset)...)
}

// Protocol buffer wire encoding, just enough for identityModel.
func pbKey(field, wire uint64) []byte { return uvarint(field<<3 | wire) }

func pbVarint(field, v uint64) []byte { return append(pbKey(field, 0), uvarint(v)...) }

func pbString(field uint64, s string) []byte { return pbBytes(field, []byte(s)) }

func pbBytes(field uint64, b []byte) []byte {
	return append(append(pbKey(field, 2), uvarint(uint64(len(b)))...), b...)
}

func uvarint(v uint64) []byte {
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}
