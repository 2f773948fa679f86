package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/pocketvlm/smolvlm/modelconfig"
)

func TestModelFolderListing(t *testing.T) {
	f := newFixture(t, Options{})
	writeFile(t, f.models, "smol/onnx/decoder_model_merged_q4.onnx", modelBytes(100))
	writeFile(t, f.models, "smol/onnx/decoder_model_merged_q4f16.onnx.part", modelBytes(10)) // unfinished download
	writeFile(t, f.models, "smol/onnx/.hidden.onnx", modelBytes(10))
	writeFile(t, f.models, "smol/onnx/sub/x.onnx", modelBytes(10))
	writeFile(t, f.models, "own/onnx/index.json", []byte(`{"files":[]}`))

	w := f.do("GET", "/models/smol/onnx/index.json")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("listing: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got listing
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := listing{Files: []listedFile{{"decoder_model_merged_q4.onnx", 100}, {"model.onnx", 4096}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listing %+v, want %+v", got, want)
	}
	avail, err := modelconfig.ParseListing(w.Body.Bytes())
	if err != nil || !reflect.DeepEqual(avail, modelconfig.Available{modelconfig.Decoder: {"q4"}}) {
		t.Errorf("the app reads the listing as %v, %v; want only the q4 decoder", avail, err)
	}
	if w := f.do("HEAD", "/models/smol/onnx/index.json"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD listing: %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := f.do("GET", "/models/own/onnx/index.json"); w.Body.String() != `{"files":[]}` {
		t.Errorf("a real index.json is not served as is: %q", w.Body.String())
	}
	for _, target := range []string{
		"/models/nope/onnx/index.json",        // no such folder
		"/models/smol/config.json/index.json", // not a folder
		"/models/.git/index.json",             // dot-folder
		"/web/sub/index.json",                 // only model folders are listed
	} {
		if w := f.do("GET", target); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, w.Code)
		}
	}
}
