package main

import (
	"fmt"
	"strings"

	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// gpuInfo is what the worker learned about the WebGPU adapter.
type gpuInfo struct {
	Available bool   // an adapter was found
	Reason    string // why not, in plain words, when !Available
	ShaderF16 bool   // the adapter has the shader-f16 feature
	// Software: the adapter computes on the processor (SwiftShader, or one
	// the browser marks as a fallback adapter).
	Software bool
	// MaxBinding is the adapter's maxStorageBufferBindingSize: the largest
	// weight a shader can read in one piece.
	MaxBinding int64
	// MaxBuffer is the adapter's maxBufferSize.
	MaxBuffer int64
}

// chooseBackend applies the device rule: "wasm" is WebAssembly; "auto" and
// "webgpu" use WebGPU when an adapter exists and fall back to WebAssembly
// with a notice otherwise. A software adapter runs onnxruntime-web's WebGPU
// kernels on the processor, far slower than its WebAssembly ones (on
// SwiftShader the vision encoder took 190 s where WebAssembly takes 4): "auto"
// takes WebAssembly there, and "webgpu" keeps it with a notice saying so.
func chooseBackend(device protocol.Device, gpu gpuInfo) (backend protocol.Device, notice string, err error) {
	switch device, err = protocol.ParseDevice(string(device)); {
	case err != nil:
		return "", "", err
	case device == protocol.DeviceWasm:
		return protocol.DeviceWasm, "", nil
	case gpu.Available && gpu.Software && device == protocol.DeviceAuto:
		return protocol.DeviceWasm, softwareAdapterAuto, nil
	case gpu.Available && gpu.Software:
		return protocol.DeviceWebGPU, softwareAdapterAsked, nil
	case gpu.Available:
		return protocol.DeviceWebGPU, "", nil
	}
	return protocol.DeviceWasm, gpu.Reason + ", so the model runs on the processor (WebAssembly), which is slower.", nil
}

// The notices of a software WebGPU adapter.
const (
	softwareAdapterAuto  = "WebGPU here runs in software, without a graphics card, so the model runs on the processor (WebAssembly), which is faster here."
	softwareAdapterAsked = "WebGPU here runs in software, without a graphics card: expect it to be much slower than WebAssembly."
)

// hostInfo is what the browser says of the computer the worker runs on.
type hostInfo struct {
	// MemoryGB is navigator.deviceMemory: the device's memory in GB,
	// rounded down to a power of two and capped at 8 by Chromium; 0 where
	// the browser does not say (Firefox, Safari).
	MemoryGB float64
	// Mobile is navigator.userAgentData.mobile: a phone.
	Mobile bool
}

// unpackMemoryGB is the least navigator.deviceMemory at which the automatic
// choice unpacks a q4 decoder to float32 on WebAssembly. Unpacked, it
// decodes 2.4–3.8× faster with the same tokens (bench, README), and the
// worker's peak grows by about 1.1 GB (to 2.3 GB at one tile, 3.5 GB at 13).
const unpackMemoryGB = 8

// chooseDequantize says whether the q4 decoder's 4-bit MatMuls are unpacked
// (pipeline.Pipeline.Dequantize): only on WebAssembly, whose onnxruntime-web
// build has no fast 4-bit kernel; as the load asks when it asks; otherwise
// on a computer, not a phone, that reports unpackMemoryGB or more. A load
// asking for int8 activations alone (Int8MatMul without Dequantize) keeps
// the 4-bit weights, as it always has.
func chooseDequantize(load *protocol.Load, backend protocol.Device, host hostInfo) bool {
	switch {
	case backend != protocol.DeviceWasm:
		return false
	case load.Dequantize != nil:
		return *load.Dequantize
	case load.Int8MatMul:
		return false
	}
	return host.MemoryGB >= unpackMemoryGB && !host.Mobile
}

// halfVariants need shader-f16 on WebGPU: their activations and key/value
// cache are float16.
func needsF16(variant string) bool { return variant == "fp16" || variant == "q4f16" }

// compute says what backend runs on, for the automatic variant rule
// (modelconfig.AutoOrder, the one place it is written down).
func compute(backend protocol.Device, gpu gpuInfo) modelconfig.Compute {
	switch {
	case backend != protocol.DeviceWebGPU:
		return modelconfig.ComputeCPU
	case gpu.ShaderF16:
		return modelconfig.ComputeGPUF16
	}
	return modelconfig.ComputeGPU
}

// chooseVariants fills the automatic parts of req with the first variant of
// modelconfig.AutoOrder that the model folder has (avail; nil: unknown, all
// taken to be there), and adjusts the backend where the result cannot run on
// it:
//
//   - A float16 part (fp16, q4f16) on a WebGPU adapter without shader-f16
//     moves the whole model to WebAssembly, with a notice.
//   - On WebGPU, the largest single weight (the vocab × hidden embedding
//     table, which the fp32 and fp16 decoders also hold as lm_head) must fit
//     the adapter's storage-binding and buffer limits, or the model moves to
//     WebAssembly, with a notice. (SmolVLM-256M's fp32 table, 113 MB, fits
//     WebGPU's minimum limit of 128 MiB; the automatic f16 choice halves it.)
func chooseVariants(req modelconfig.Variants, backend protocol.Device, gpu gpuInfo, cfg *modelconfig.Config, avail modelconfig.Available) (modelconfig.Variants, protocol.Device, string, error) {
	v := req.Auto(compute(backend, gpu), avail)
	for _, part := range []string{v.Vision, v.Embed, v.Decoder} {
		if _, err := modelconfig.ONNXFile(modelconfig.Decoder, part); err != nil {
			return v, backend, "", err
		}
	}
	if backend != protocol.DeviceWebGPU {
		return v, backend, "", nil
	}
	if !gpu.ShaderF16 && (needsF16(v.Vision) || needsF16(v.Embed) || needsF16(v.Decoder)) {
		return req.Auto(modelconfig.ComputeCPU, avail), protocol.DeviceWasm,
			"This graphics adapter cannot compute in half precision (no shader-f16), so the float16 model runs on the processor (WebAssembly).", nil
	}
	limit := gpu.MaxBinding
	if gpu.MaxBuffer > 0 && (limit == 0 || gpu.MaxBuffer < limit) {
		limit = gpu.MaxBuffer
	}
	if limit <= 0 || largestWeight(v, cfg) <= limit {
		return v, backend, "", nil
	}
	return req.Auto(modelconfig.ComputeCPU, avail), protocol.DeviceWasm, fmt.Sprintf(
		"This graphics adapter cannot hold the model's largest weight (%d MB; its limit is %d MB), so the model runs on the processor (WebAssembly).",
		largestWeight(v, cfg)>>20, limit>>20), nil
}

// largestWeight estimates the largest single tensor of the chosen files:
// the vocab × hidden embedding table in embed_tokens, and the same-sized
// lm_head in a decoder that is not 4-bit.
func largestWeight(v modelconfig.Variants, cfg *modelconfig.Config) int64 {
	table := int64(cfg.Text.VocabSize) * int64(cfg.Text.HiddenSize)
	size := table * elemBytes(v.Embed)
	if !strings.HasPrefix(v.Decoder, "q4") {
		size = max(size, table*elemBytes(v.Decoder))
	}
	return size
}

// elemBytes is the width of a variant's large float weights. The 4-bit
// embed_tokens files hold the float table unchanged (as in the public
// export): q4 → float32, q4f16 → float16.
func elemBytes(variant string) int64 {
	if needsF16(variant) {
		return 2
	}
	return 4
}

// Picture decoders.
const (
	decodeGo      = "go"      // imageproc.Decode, in Go
	decodeBrowser = "browser" // createImageBitmap + OffscreenCanvas
)

// defaultDecoder is the decoder used for each format Go can sniff, when the
// ask does not force one. PNG, GIF and WebP decode in Go bit for bit as the
// reference (Pillow) does, whatever the browser. JPEG goes to the browser:
// Chromium decodes with libjpeg-turbo as Pillow does, and gave all 45 tiles
// of the fixture's five JPEG cases bit for bit, against 0 of 45 from Go
// (mean 0.04-0.07 levels off, max 5; see PROTOCOL.md). Formats Go cannot
// read (HEIC, AVIF, BMP, ...) go to the browser too.
var defaultDecoder = map[string]string{
	"png":  decodeGo,
	"gif":  decodeGo,
	"webp": decodeGo,
	"jpeg": decodeBrowser,
}

// chooseDecoder picks the decoder for a picture of format ("" when Go could
// not sniff it) given the ask's request ("", "auto", "go" or "browser").
func chooseDecoder(format, request string) (string, error) {
	switch request {
	case decodeGo, decodeBrowser:
		return request, nil
	case "", "auto":
	default:
		return "", fmt.Errorf("unknown decoder %q (want auto, go or browser)", request)
	}
	if d, ok := defaultDecoder[format]; ok {
		return d, nil
	}
	return decodeBrowser, nil
}
