package modelconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/internal/fixture"
)

func TestLoadFixtureAndRealConfig(t *testing.T) {
	tiny, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	// The real SmolVLM-256M-Instruct config files (unchanged copies from the
	// Hub; their SHA-256 are pinned in hub/smolvlm-256m-instruct.manifest.json).
	real := filepath.Join(fixture.Root(), "testdata", "smolvlm-256m-instruct")
	for _, tc := range []struct {
		dir                      string
		layers, kvHeads, headDim int
		hidden                   int
		random                   bool
	}{
		{tiny, 2, 1, 32, 96, true},
		{real, 30, 3, 64, 576, false},
	} {
		c, err := Load(Dir(tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		if c.RandomWeights != tc.random {
			t.Errorf("%s: RandomWeights %v, want %v (%s)", tc.dir, c.RandomWeights, tc.random, RandomWeightsFile)
		}
		got := []int{c.Text.NumLayers, c.Text.NumKeyValueHeads, c.Text.HeadDim, c.Text.HiddenSize}
		want := []int{tc.layers, tc.kvHeads, tc.headDim, tc.hidden}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: text dims %v, want %v", tc.dir, got, want)
				break
			}
		}
		if c.ImageTokenID != 49190 || c.ImageSeqLen != 64 || c.ScaleFactor != 4 {
			t.Errorf("image token %d seq %d scale %d", c.ImageTokenID, c.ImageSeqLen, c.ScaleFactor)
		}
		if len(c.EOSTokenIDs) != 1 || c.EOSTokenIDs[0] != 49279 {
			t.Errorf("eos %v", c.EOSTokenIDs)
		}
		p := c.Preprocessor
		if p.LongestEdge != 2048 || p.TileSize != 512 || p.Resample != 1 || p.Mean != [3]float64{0.5, 0.5, 0.5} {
			t.Errorf("preprocessor %+v", p)
		}
		if !strings.Contains(c.ChatTemplate, "<end_of_utterance>") {
			t.Errorf("chat template %q", c.ChatTemplate)
		}
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	tiny, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ConfigFile, GenerationConfigFile, PreprocessorConfigFile, TokenizerConfigFile} {
		dir := t.TempDir()
		for _, f := range []string{ConfigFile, GenerationConfigFile, PreprocessorConfigFile, ProcessorConfigFile, TokenizerConfigFile, ChatTemplateFile} {
			raw, err := os.ReadFile(filepath.Join(tiny, f))
			if err != nil {
				t.Fatal(err)
			}
			if f == name {
				continue
			}
			os.WriteFile(filepath.Join(dir, f), raw, 0o644)
		}
		_, err := Load(Dir(dir))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s: err = %v", name, err)
		}
		os.WriteFile(filepath.Join(dir, name), []byte("{not json"), 0o644)
		_, err = Load(Dir(dir))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("malformed %s: err = %v", name, err)
		}
	}
}

func TestONNXFile(t *testing.T) {
	got, err := ONNXFile(Decoder, "q4f16")
	if err != nil || got != "onnx/decoder_model_merged_q4f16.onnx" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, _ := ONNXFile(VisionEncoder, "fp32"); got != "onnx/vision_encoder.onnx" {
		t.Fatalf("got %q", got)
	}
	if _, err := ONNXFile(Decoder, "fp8"); err == nil {
		t.Fatal("want error for unknown variant")
	}
}

func TestDirRefusesEscapes(t *testing.T) {
	if _, err := Dir(t.TempDir()).ReadFile("../etc/passwd"); err == nil {
		t.Fatal("want error")
	}
}

// TestRandomWeightsFromTheMarkerOnly: the tiny model's dimensions do not make
// a folder random-weight, and the marker does whatever the dimensions.
func TestRandomWeightsFromTheMarkerOnly(t *testing.T) {
	tiny, err := fixture.ModelDir()
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(fixture.Root(), "testdata", "smolvlm-256m-instruct")
	for _, tc := range []struct {
		name, from, marker string
		want               bool
		wantErr            string
	}{
		{"tiny dimensions, no marker", tiny, "", false, ""},
		{"real dimensions, marker", real, `{"random_weights": true}`, true, ""},
		{"marker saying no", tiny, `{"random_weights": false}`, false, ""},
		{"marker without the field", real, `{}`, false, RandomWeightsFile},
		{"marker not JSON", real, `yes`, false, RandomWeightsFile},
	} {
		dir := t.TempDir()
		for _, name := range []string{ConfigFile, GenerationConfigFile, PreprocessorConfigFile, ProcessorConfigFile, TokenizerConfigFile, ChatTemplateFile} {
			if raw, err := os.ReadFile(filepath.Join(tc.from, name)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if tc.marker != "" {
			if err := os.WriteFile(filepath.Join(dir, RandomWeightsFile), []byte(tc.marker), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := Load(Dir(dir))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case c.RandomWeights != tc.want:
			t.Errorf("%s: RandomWeights %v, want %v", tc.name, c.RandomWeights, tc.want)
		}
	}
}

// TestGenerationDefaults: generation_config.json's max_new_tokens and
// repetition_penalty where present, else DefaultMaxNewTokens and 1 (off).
func TestGenerationDefaults(t *testing.T) {
	real := filepath.Join(fixture.Root(), "testdata", "smolvlm-256m-instruct")
	for _, tc := range []struct {
		name, generation string
		want             Generation
		wantErr          bool
	}{
		{"the real model's (neither field)", "", Generation{DefaultMaxNewTokens, 1}, false},
		{"both set", `{"eos_token_id": 2, "max_new_tokens": 64, "repetition_penalty": 1.2}`, Generation{64, 1.2}, false},
		{"penalty only", `{"eos_token_id": 2, "repetition_penalty": 1.05}`, Generation{DefaultMaxNewTokens, 1.05}, false},
		{"zero tokens", `{"eos_token_id": 2, "max_new_tokens": 0}`, Generation{}, true},
	} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(real)); err != nil {
			t.Fatal(err)
		}
		if tc.generation != "" {
			if err := os.WriteFile(filepath.Join(dir, GenerationConfigFile), []byte(tc.generation), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := Load(Dir(dir))
		switch {
		case tc.wantErr:
			if err == nil || !strings.Contains(err.Error(), GenerationConfigFile) {
				t.Errorf("%s: err %v, want one naming %s", tc.name, err, GenerationConfigFile)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case c.Generation != tc.want:
			t.Errorf("%s: %+v, want %+v", tc.name, c.Generation, tc.want)
		}
	}
}
