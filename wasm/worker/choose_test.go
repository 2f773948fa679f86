package main

import (
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// smolvlm256 has the text dimensions of SmolVLM-256M.
var smolvlm256 = &modelconfig.Config{Text: modelconfig.Text{HiddenSize: 576, VocabSize: 49280}}

func TestChooseBackend(t *testing.T) {
	gpu := gpuInfo{Available: true}
	none := gpuInfo{Reason: "This browser does not offer WebGPU"}
	software := gpuInfo{Available: true, Software: true}
	for _, tc := range []struct {
		device protocol.Device
		gpu    gpuInfo
		want   protocol.Device
		notice bool
	}{
		{"auto", gpu, "webgpu", false},
		{"", gpu, "webgpu", false},
		{"webgpu", gpu, "webgpu", false},
		{"wasm", gpu, "wasm", false},
		{"auto", none, "wasm", true},
		{"webgpu", none, "wasm", true},
		{"wasm", none, "wasm", false},
		{"auto", software, "wasm", true},
		{"", software, "wasm", true},
		{"webgpu", software, "webgpu", true},
		{"wasm", software, "wasm", false},
	} {
		got, notice, err := chooseBackend(tc.device, tc.gpu)
		if err != nil || got != tc.want || (notice != "") != tc.notice {
			t.Errorf("chooseBackend(%q, %+v) = %q, %q, %v; want %q, notice %v", tc.device, tc.gpu, got, notice, err, tc.want, tc.notice)
		}
		if tc.notice && !tc.gpu.Available && !strings.HasPrefix(notice, tc.gpu.Reason) {
			t.Errorf("notice %q does not say why: %q", notice, tc.gpu.Reason)
		}
	}
	if _, _, err := chooseBackend("cuda", gpu); err == nil {
		t.Error("chooseBackend accepted an unknown device")
	}
}

// vars is a Variants literal in vision, embed, decoder order.
func vars(vision, embed, decoder string) modelconfig.Variants {
	return modelconfig.Variants{Vision: vision, Embed: embed, Decoder: decoder}
}

func TestChooseVariants(t *testing.T) {
	const gib = 1 << 30
	f16 := gpuInfo{Available: true, ShaderF16: true, MaxBinding: gib, MaxBuffer: gib}
	noF16 := gpuInfo{Available: true, MaxBinding: gib, MaxBuffer: gib}
	small := gpuInfo{Available: true, MaxBinding: 128 << 20, MaxBuffer: 256 << 20}               // the WebGPU minimum limits
	smallF16 := gpuInfo{Available: true, ShaderF16: true, MaxBinding: 100 << 20, MaxBuffer: gib} // below 113 MB
	auto := modelconfig.Variants{}
	only := func(variants ...string) modelconfig.Available {
		a := modelconfig.Available{}
		for _, part := range modelconfig.Parts {
			a[part] = variants
		}
		return a
	}
	q4Only, both, q4f16Only, fp32AndQ4f16 := only("q4"), only("q4", "q4f16"), only("q4f16"), only("fp32", "q4f16")
	big := &modelconfig.Config{Text: modelconfig.Text{HiddenSize: 2048, VocabSize: 49280}} // SmolVLM-2B: 404 MB table
	for _, tc := range []struct {
		name        string
		req         modelconfig.Variants
		backend     protocol.Device
		gpu         gpuInfo
		cfg         *modelconfig.Config
		want        modelconfig.Variants
		wantBackend protocol.Device
		notice      bool
		avail       modelconfig.Available // nil: unknown
	}{
		{"webgpu f16 auto", auto, "webgpu", f16, smolvlm256, vars("q4f16", "q4f16", "q4"), "webgpu", false, nil},
		{"webgpu no f16 auto", auto, "webgpu", noF16, smolvlm256, vars("q4", "q4", "q4"), "webgpu", false, nil},
		{"wasm auto", auto, "wasm", gpuInfo{}, smolvlm256, vars("q4", "q4", "q4"), "wasm", false, nil},
		{"explicit kept", modelconfig.SameVariant("q4"), "webgpu", noF16, smolvlm256, modelconfig.SameVariant("q4"), "webgpu", false, nil},
		{"partly automatic", modelconfig.Variants{Decoder: "fp32"}, "webgpu", f16, smolvlm256, vars("q4f16", "q4f16", "fp32"), "webgpu", false, nil},
		{"fp16 without shader-f16", modelconfig.SameVariant("fp16"), "webgpu", noF16, smolvlm256, modelconfig.SameVariant("fp16"), "wasm", true, nil},
		{"q4f16 decoder without shader-f16", modelconfig.Variants{Decoder: "q4f16"}, "webgpu", noF16, smolvlm256, vars("q4", "q4", "q4f16"), "wasm", true, nil},
		{"fp16 on wasm", modelconfig.SameVariant("fp16"), "wasm", gpuInfo{}, smolvlm256, modelconfig.SameVariant("fp16"), "wasm", false, nil},
		{"256M table fits the minimum limits", auto, "webgpu", small, smolvlm256, vars("q4", "q4", "q4"), "webgpu", false, nil},
		{"f16 halves the table", auto, "webgpu", smallF16, smolvlm256, vars("q4f16", "q4f16", "q4"), "webgpu", false, nil},
		{"fp32 table over the limit", modelconfig.Variants{Embed: "fp32"}, "webgpu", smallF16, smolvlm256, vars("q4", "fp32", "q4"), "wasm", true, nil},
		{"2B table too big without f16", auto, "webgpu", small, big, vars("q4", "q4", "q4"), "wasm", true, nil},
		{"fp32 decoder lm_head too big", modelconfig.Variants{Decoder: "fp32"}, "webgpu", small, big, vars("q4", "q4", "fp32"), "wasm", true, nil},
		// Issue 7, bug 4: bin/smolvlm download fetched q4 only, and an f16
		// adapter asked for the missing q4f16 files.
		{"f16 adapter, q4 downloaded", auto, "webgpu", f16, smolvlm256, vars("q4", "q4", "q4"), "webgpu", false, q4Only},
		{"f16 adapter, both downloaded", auto, "webgpu", f16, smolvlm256, vars("q4f16", "q4f16", "q4"), "webgpu", false, both},
		{"f16 adapter, q4f16 downloaded", auto, "webgpu", f16, smolvlm256, vars("q4f16", "q4f16", "q4f16"), "webgpu", false, q4f16Only},
		{"wasm, q4f16 downloaded", auto, "wasm", gpuInfo{}, smolvlm256, vars("q4f16", "q4f16", "q4f16"), "wasm", false, q4f16Only},
		{"no f16, q4f16 only: to wasm", auto, "webgpu", noF16, smolvlm256, vars("q4f16", "q4f16", "q4f16"), "wasm", true, q4f16Only},
		{"no f16, fp32 and q4f16: fp32 on the GPU", auto, "webgpu", noF16, smolvlm256, vars("fp32", "fp32", "fp32"), "webgpu", false, fp32AndQ4f16},
		{"explicit kept though missing", modelconfig.SameVariant("q4f16"), "webgpu", f16, smolvlm256, vars("q4f16", "q4f16", "q4f16"), "webgpu", false, q4Only},
		{"too big for the GPU: wasm's choice of what is there", auto, "webgpu", smallF16, big, vars("q4", "q4", "q4"), "wasm", true, q4Only},
	} {
		got, backend, notice, err := chooseVariants(tc.req, tc.backend, tc.gpu, tc.cfg, tc.avail)
		if err != nil || got != tc.want || backend != tc.wantBackend || (notice != "") != tc.notice {
			t.Errorf("%s: got %+v on %s, notice %q, err %v; want %+v on %s, notice %v",
				tc.name, got, backend, notice, err, tc.want, tc.wantBackend, tc.notice)
		}
	}
	if _, _, _, err := chooseVariants(modelconfig.SameVariant("fp8"), "wasm", gpuInfo{}, smolvlm256, nil); err == nil {
		t.Error("chooseVariants accepted an unknown variant")
	}
}

func TestChooseDecoder(t *testing.T) {
	for _, tc := range []struct{ format, request, want string }{
		{"png", "", "go"},
		{"png", "auto", "go"},
		{"gif", "", "go"},
		{"webp", "", "go"},
		{"jpeg", "", "browser"},
		{"jpeg", "go", "go"},
		{"png", "browser", "browser"},
		{"", "", "browser"}, // HEIC, AVIF: only the browser knows them
	} {
		got, err := chooseDecoder(tc.format, tc.request)
		if err != nil || got != tc.want {
			t.Errorf("chooseDecoder(%q, %q) = %q, %v; want %q", tc.format, tc.request, got, err, tc.want)
		}
	}
	if _, err := chooseDecoder("png", "pil"); err == nil {
		t.Error("chooseDecoder accepted an unknown decoder")
	}
}

func TestChooseDequantize(t *testing.T) {
	on, off := true, false
	laptop := hostInfo{MemoryGB: 8}
	for _, tc := range []struct {
		name    string
		load    protocol.Load
		backend protocol.Device
		host    hostInfo
		want    bool
	}{
		{"automatic on a computer with 8 GB", protocol.Load{}, "wasm", laptop, true},
		{"automatic with 4 GB", protocol.Load{}, "wasm", hostInfo{MemoryGB: 4}, false},
		{"automatic where the browser does not say", protocol.Load{}, "wasm", hostInfo{}, false},
		{"automatic on a phone with 8 GB", protocol.Load{}, "wasm", hostInfo{MemoryGB: 8, Mobile: true}, false},
		{"automatic on WebGPU", protocol.Load{}, "webgpu", laptop, false},
		{"automatic with int8 activations", protocol.Load{Int8MatMul: true}, "wasm", laptop, false},
		{"asked for", protocol.Load{Dequantize: &on}, "wasm", hostInfo{MemoryGB: 2, Mobile: true}, true},
		{"asked for with int8", protocol.Load{Dequantize: &on, Int8MatMul: true}, "wasm", hostInfo{}, true},
		{"asked for on WebGPU", protocol.Load{Dequantize: &on}, "webgpu", laptop, false},
		{"refused", protocol.Load{Dequantize: &off}, "wasm", laptop, false},
	} {
		if got := chooseDequantize(&tc.load, tc.backend, tc.host); got != tc.want {
			t.Errorf("%s: chooseDequantize = %v, want %v", tc.name, got, tc.want)
		}
	}
}
