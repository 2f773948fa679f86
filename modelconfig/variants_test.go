package modelconfig

import (
	"reflect"
	"testing"
)

func TestAvailableFromFiles(t *testing.T) {
	got := AvailableFromFiles([]string{
		"vision_encoder.onnx", "vision_encoder_q4.onnx", "embed_tokens_q4f16.onnx",
		"decoder_model_merged_q4.onnx", "decoder_model_merged_q4.onnx_data", "decoder_model_merged_q4f16.onnx.part",
		"decoder_model_merged_int9.onnx", "index.json", "other.onnx",
	})
	want := Available{VisionEncoder: {"fp32", "q4"}, EmbedTokens: {"q4f16"}, Decoder: {"q4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAutoVariantsPickWhatTheFolderHas(t *testing.T) {
	q4Only := Available{VisionEncoder: {"q4"}, EmbedTokens: {"q4"}, Decoder: {"q4"}}
	mixed := Available{VisionEncoder: {"fp32", "q4f16"}, EmbedTokens: {"fp16"}, Decoder: {"q4", "q4f16"}}
	for _, tc := range []struct {
		name  string
		req   Variants
		c     Compute
		avail Available
		want  Variants
	}{
		{"unknown folder, f16 GPU", Variants{}, ComputeGPUF16, nil, Variants{"q4f16", "q4f16", "q4"}},
		{"unknown folder, GPU", Variants{}, ComputeGPU, nil, SameVariant("q4")},
		{"unknown folder, CPU", Variants{}, ComputeCPU, nil, SameVariant("q4")},
		// Bug 4: bin/smolvlm download fetched q4 only; an f16 GPU asked for q4f16.
		{"q4 only, f16 GPU", Variants{}, ComputeGPUF16, q4Only, SameVariant("q4")},
		{"q4 only, CPU", Variants{}, ComputeCPU, q4Only, SameVariant("q4")},
		{"per part, f16 GPU", Variants{}, ComputeGPUF16, mixed, Variants{"q4f16", "fp16", "q4"}},
		{"no q4 decoder, f16 GPU", Variants{}, ComputeGPUF16, Available{VisionEncoder: {"q4f16"}, EmbedTokens: {"q4f16"}, Decoder: {"q4f16", "fp32"}}, SameVariant("q4f16")},
		{"per part, GPU", Variants{}, ComputeGPU, mixed, Variants{"fp32", "fp16", "q4"}},
		{"per part, CPU", Variants{}, ComputeCPU, mixed, Variants{"q4f16", "fp16", "q4"}},
		{"explicit parts kept", Variants{Decoder: "fp32"}, ComputeGPUF16, q4Only, Variants{"q4", "q4", "fp32"}},
		{"nothing there: the first choice", Variants{}, ComputeGPUF16, Available{}, Variants{"q4f16", "q4f16", "q4"}},
	} {
		if got := tc.req.Auto(tc.c, tc.avail); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestAutoDownloadIsEveryFirstChoice(t *testing.T) {
	if got := AutoDownload(); !reflect.DeepEqual(got, []string{"q4", "q4f16"}) {
		t.Errorf("AutoDownload() = %v", got)
	}
	avail := Available{}
	for _, part := range Parts {
		avail[part] = AutoDownload()
	}
	for _, c := range []Compute{ComputeCPU, ComputeGPU, ComputeGPUF16} {
		first := Variants{AutoOrder(c, VisionEncoder)[0], AutoOrder(c, EmbedTokens)[0], AutoOrder(c, Decoder)[0]}
		if got := (Variants{}).Auto(c, avail); got != first {
			t.Errorf("compute %d: the default download gives %+v, not the first choice %+v", c, got, first)
		}
	}
}

func TestParseListing(t *testing.T) {
	got, err := ParseListing([]byte(`{"files":[{"name":"embed_tokens_q4.onnx","size":5},{"name":"decoder_model_merged_fp16.onnx","size":7}]}`))
	if err != nil || !reflect.DeepEqual(got, Available{EmbedTokens: {"q4"}, Decoder: {"fp16"}}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseListing([]byte("<html>Index of /onnx</html>")); err == nil {
		t.Error("an HTML directory listing was read as a listing")
	}
}
