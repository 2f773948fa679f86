package modelconfig

import (
	"fmt"
	"strings"
)

// The three ONNX sub-models of the public SmolVLM export.
const (
	VisionEncoder = "vision_encoder"
	EmbedTokens   = "embed_tokens"
	Decoder       = "decoder_model_merged"
)

// variantSuffix maps a dtype name (as transformers.js calls them) to the
// file-name suffix of the export.
var variantSuffix = map[string]string{
	"fp32":      "",
	"fp16":      "_fp16",
	"q4":        "_q4",
	"q4f16":     "_q4f16",
	"int8":      "_int8",
	"uint8":     "_uint8",
	"bnb4":      "_bnb4",
	"quantized": "_quantized",
}

// VariantNames lists the dtype names ONNXFile accepts.
func VariantNames() []string {
	return []string{"fp32", "fp16", "q4", "q4f16", "int8", "uint8", "bnb4", "quantized"}
}

// ONNXFile is the model-folder-relative name of sub-model part in variant,
// e.g. ONNXFile(Decoder, "q4f16") = "onnx/decoder_model_merged_q4f16.onnx".
func ONNXFile(part, variant string) (string, error) {
	suffix, ok := variantSuffix[variant]
	if !ok {
		return "", fmt.Errorf("unknown model variant %q (want one of %s)", variant, strings.Join(VariantNames(), ", "))
	}
	return "onnx/" + part + suffix + ".onnx", nil
}
