package app

import (
	"reflect"
	"testing"
)

func TestGroupModels(t *testing.T) {
	files := []cachedFile{
		{"http://h/models/default/config.json", 10},
		{"http://h/models/default/onnx/decoder_model_merged_q4.onnx", 1000},
		{"https://huggingface.co/HuggingFaceTB/SmolVLM-256M-Instruct/resolve/main/onnx/vision_encoder.onnx?download=1", 5},
		{"http://h/models/default/onnx/vision_encoder.onnx", 200},
		{"https://huggingface.co/HuggingFaceTB/SmolVLM-256M-Instruct/resolve/main/tokenizer.json", 7},
	}
	want := []cachedModel{
		{URL: "http://h/models/default/", Files: 3, Bytes: 1210},
		{URL: "https://huggingface.co/HuggingFaceTB/SmolVLM-256M-Instruct/resolve/main/", Files: 2, Bytes: 12},
	}
	if got := groupModels(files); !reflect.DeepEqual(got, want) {
		t.Errorf("groupModels = %+v, want %+v", got, want)
	}
}
