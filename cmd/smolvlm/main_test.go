package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/hub"
	"github.com/pocketvlm/smolvlm/internal/fixture"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func fixturePaths(t *testing.T) (model, dir string) {
	t.Helper()
	dir, err := fixture.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "model"), dir
}

func TestPreprocessJSONMatchesCases(t *testing.T) {
	model, dir := fixturePaths(t)
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		out, _, err := runCLI(t, "preprocess", "-model", model, "-image", filepath.Join(dir, c.Image),
			"-prompt", c.Prompt, "-split="+map[bool]string{true: "true", false: "false"}[c.DoImageSplitting], "-json")
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		var got struct {
			InputIDs         []int64  `json:"input_ids"`
			PixelValuesShape []int64  `json:"pixel_values_shape"`
			TileSHA256       []string `json:"tile_sha256"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if !slices.Equal(got.InputIDs, c.InputIDs) || !slices.Equal(got.PixelValuesShape, c.PixelValuesShape) {
			t.Errorf("%s: input_ids or shape differ", c.ID)
		}
		if strings.HasSuffix(c.Image, ".png") && !slices.Equal(got.TileSHA256, c.TileSHA256) {
			t.Errorf("%s: tile hashes differ", c.ID)
		}
	}
}

func TestCaptionJSONGreedy(t *testing.T) {
	model, dir := fixturePaths(t)
	cases, err := fixture.Cases()
	if err != nil {
		t.Fatal(err)
	}
	c := cases[0]
	var got captionJSON
	// -warm-up runs the sessions before the question, -attention repeated
	// keeps the export's attention: same answer.
	for _, extra := range []string{"-warm-up=false", "-warm-up", "-attention=repeated"} {
		out, _, err := runCLI(t, "caption", "-model", model, "-image", filepath.Join(dir, c.Image),
			"-prompt", c.Prompt, "-max-new-tokens", "24", "-json", extra)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Tokens, c.ReferenceTokens["greedy"]) || !slices.Equal(got.InputIDs, c.InputIDs) {
			t.Errorf("%s: tokens %v, want %v", extra, got.Tokens, c.ReferenceTokens["greedy"])
		}
	}
	if got.Engine != "onnxruntime-cpu" {
		t.Errorf("engine %q, want onnxruntime-cpu (the default device)", got.Engine)
	}
	for _, k := range []string{"preprocess", "vision", "first_token", "decode_tokens_s"} {
		if _, ok := got.Timings[k]; !ok {
			t.Errorf("timings_ms lacks %s", k)
		}
	}
}

func TestCaptionStreamsText(t *testing.T) {
	model, dir := fixturePaths(t)
	out, errOut, err := runCLI(t, "caption", "-model", model, "-image", filepath.Join(dir, "images/astronaut.png"),
		"-split=false", "-max-new-tokens", "6", "-variant", "q4")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) == "" || !strings.Contains(errOut, "tokens/s") {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
}

// TestErrorsAreOneLine checks that bad input ends in one clear sentence.
func TestErrorsAreOneLine(t *testing.T) {
	model, dir := fixturePaths(t)
	img := filepath.Join(dir, "images/astronaut.png")
	notImage := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	noTokenizer := t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json", "chat_template.json"} {
		raw, _ := os.ReadFile(filepath.Join(model, f))
		os.WriteFile(filepath.Join(noTokenizer, f), raw, 0o644)
	}
	long := strings.Repeat("word ", 9000)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"caption", "-model", model, "-image", "/no/such.png"}, "no such file"},
		{[]string{"caption", "-model", model, "-image", notImage}, "unsupported image format"},
		{[]string{"caption", "-model", model, "-image", img, "-variant", "int3"}, "unknown model variant"},
		{[]string{"caption", "-model", noTokenizer, "-image", img}, "tokenizer.json"},
		{[]string{"caption", "-model", model, "-image", img, "-split=false", "-prompt", long}, "too long"},
		{[]string{"caption", "-model", model, "-image", img, "-max-pixels", "1000"}, "pixels"},
		{[]string{"caption", "-image", img}, "-model is required"},
		{[]string{"caption", "-model", model, "-image", img, "-device", "gpu"}, "want cpu or webgpu"},
		{[]string{"caption", "-model", model, "-image", img, "-attention", "flash"}, "unknown attention"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, _, err := runCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v, want one line containing %q", tc.args[:2], err, tc.want)
		}
	}
}

// TestCaptionWebGPUWithoutAdapter asks for WebGPU with no Vulkan driver to
// be found: one line saying so, not a crash or a silent fall back to the CPU.
func TestCaptionWebGPUWithoutAdapter(t *testing.T) {
	model, dir := fixturePaths(t)
	t.Setenv("VK_ICD_FILENAMES", filepath.Join(t.TempDir(), "no_icd.json"))
	_, _, err := runCLI(t, "caption", "-model", model, "-image", filepath.Join(dir, "images/astronaut.png"), "-device", "webgpu")
	if err == nil || !strings.Contains(err.Error(), "no usable Vulkan adapter") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line saying there is no adapter", err)
	}
}

// TestDownloadAgainstFakeHub downloads through a local server that plays the
// Hub; the fixture's ONNX files differ from the real ones, so the pinned
// hashes must refuse them after the config files were fetched and verified.
func TestDownloadAgainstFakeHub(t *testing.T) {
	model, _ := fixturePaths(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, file, _ := strings.Cut(r.URL.Path, "/resolve/")
		_, file, _ = strings.Cut(file, "/")
		http.ServeFile(w, r, filepath.Join(model, filepath.FromSlash(file)))
	}))
	defer srv.Close()
	dir := t.TempDir()
	_, _, err := runCLI(t, "download", "-dir", dir, "-endpoint", srv.URL, "-variants", "q4")
	if err == nil || !strings.Contains(err.Error(), "differs from the pinned manifest") {
		t.Fatalf("err = %v, want a pinned-hash mismatch", err)
	}
	// config.json comes first and is the tiny model's: refused and not kept.
	if _, err := os.Stat(filepath.Join(dir, "config.json")); !os.IsNotExist(err) {
		t.Error("a file failing its hash was kept")
	}
	// Issue 7, bug 4: without -variants, every variant the app picks by
	// itself: q4 and q4f16, 8 config files and 6 ONNX files.
	out, _, _ := runCLI(t, "download", "-dir", t.TempDir(), "-endpoint", srv.URL)
	if want := fmt.Sprintf(": %d files,", len(hub.ConfigFiles)+6); !strings.Contains(out, want) {
		t.Errorf("download without -variants says %q; want %q (q4 and q4f16)", out, want)
	}
	if _, _, err := runCLI(t, "download", "-variants", "fp7"); err == nil || !strings.Contains(err.Error(), "unknown model variant") {
		t.Errorf("bad variant: err = %v", err)
	}
}
