package app

import (
	"net/url"
	"testing"
)

func TestParseSettings(t *testing.T) {
	def := DefaultSettings("")
	tests := []struct {
		query    string
		want     func(*Settings)
		warnings int
	}{
		{"", func(*Settings) {}, 0},
		{"device=webgpu", func(s *Settings) { s.Device = DeviceWebGPU }, 0},
		{"device=WASM", func(s *Settings) { s.Device = DeviceWASM }, 0},
		{"device=cuda", func(*Settings) {}, 1},
		{"dtype=q4", func(s *Settings) { s.DType = Variants{Vision: "q4", Embed: "q4", Decoder: "q4"} }, 0},
		{"dtype=vision=fp16,embed=fp32,decoder=q4", func(s *Settings) { s.DType = Variants{Vision: "fp16", Embed: "fp32", Decoder: "q4"} }, 0},
		{"dtype=decoder=q4f16", func(s *Settings) { s.DType = Variants{Decoder: "q4f16"} }, 0},
		{"dtype=int3", func(*Settings) {}, 1},
		{"dtype=vision=fp16,brain=q4", func(*Settings) {}, 1},
		{"split=0", func(s *Settings) { s.Split = SplitOff }, 0},
		{"split=1", func(s *Settings) { s.Split = SplitOn }, 0},
		{"split=maybe", func(*Settings) {}, 1},
		{"max_new_tokens=24", func(s *Settings) { s.MaxNewTokens = 24 }, 0},
		{"max_new_tokens=0", func(*Settings) {}, 1},
		{"max_new_tokens=lots", func(*Settings) {}, 1},
		{"repetition_penalty=1.2", func(s *Settings) { s.RepetitionPenalty = 1.2 }, 0},
		{"repetition_penalty=1", func(s *Settings) { s.RepetitionPenalty = 1 }, 0},
		{"repetition_penalty=0.5", func(*Settings) {}, 1},
		{"temperature=0.7&top_k=40&top_p=0.95&seed=7", func(s *Settings) {
			s.Sampling = Sampling{Temperature: 0.7, TopK: 40, TopP: 0.95, Seed: 7}
		}, 0},
		{"top_p=0", func(*Settings) {}, 1},
		{"seed=-1", func(*Settings) {}, 1},
		{"model=https://example.org/m/", func(s *Settings) { s.Model = "https://example.org/m/" }, 0},
		{"model=", func(*Settings) {}, 0},
		{"dequantize=1", func(s *Settings) { s.Unpack4Bit = UnpackFloat32 }, 0},
		{"dequantize=float32", func(s *Settings) { s.Unpack4Bit = UnpackFloat32 }, 0},
		{"dequantize=INT8", func(s *Settings) { s.Unpack4Bit = UnpackInt8 }, 0},
		{"dequantize=off", func(s *Settings) { s.Unpack4Bit = UnpackNone }, 0},
		{"dequantize=0", func(s *Settings) { s.Unpack4Bit = UnpackNone }, 0},
		{"dequantize=auto", func(*Settings) {}, 0},
		{"dequantize=fast", func(*Settings) {}, 1},
		{"device=cuda&split=2&max_new_tokens=24", func(s *Settings) { s.MaxNewTokens = 24 }, 2},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, warnings := ParseSettings(q, def)
		want := def
		tt.want(&want)
		if got != want {
			t.Errorf("%q: got %+v, want %+v", tt.query, got, want)
		}
		if len(warnings) != tt.warnings {
			t.Errorf("%q: %d warnings %q, want %d", tt.query, len(warnings), warnings, tt.warnings)
		}
	}
}

func TestSettingsQueryRoundTrip(t *testing.T) {
	def := DefaultSettings("/models/default/")
	for _, query := range []string{
		"",
		"device=wasm&dtype=fp32&max_new_tokens=24&repetition_penalty=1&split=0",
		"dtype=decoder%3Dq4%2Cvision%3Dfp16",
		"model=%2Fmodels%2Fother%2F&temperature=0.7&top_k=40&top_p=0.95&seed=9",
		"device=wasm&dequantize=float32",
		"device=wasm&dequantize=int8",
		"device=wasm&dequantize=0",
	} {
		q, _ := url.ParseQuery(query)
		s, warnings := ParseSettings(q, def)
		if len(warnings) > 0 {
			t.Fatalf("%q: %v", query, warnings)
		}
		back, _ := ParseSettings(s.Query(url.Values{}, def), def)
		if back != s {
			t.Errorf("%q: round trip gave %+v, want %+v", query, back, s)
		}
	}
}

func TestSettingsQueryKeepsOtherParameters(t *testing.T) {
	def := DefaultSettings("")
	s := def
	s.MaxNewTokens = 24
	q := url.Values{"utm": {"x"}, paramDevice: {"wasm"}}
	got := s.Query(q, def).Encode()
	if want := "max_new_tokens=24&utm=x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestVariantsString(t *testing.T) {
	for _, tt := range []struct {
		v    Variants
		want string
	}{
		{Variants{}, ""},
		{Variants{Vision: "q4", Embed: "q4", Decoder: "q4"}, "q4"},
		{Variants{Vision: "fp16", Embed: "fp32", Decoder: "q4"}, "vision=fp16,embed=fp32,decoder=q4"},
		{Variants{Decoder: "q4"}, "decoder=q4"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestSplitResolve(t *testing.T) {
	for _, tt := range []struct {
		s                   Split
		phone, model, wantS bool
	}{
		{SplitAuto, true, true, false},
		{SplitAuto, false, true, true},
		{SplitAuto, false, false, false},
		{SplitOn, true, false, true},
		{SplitOff, false, true, false},
	} {
		if got := tt.s.Resolve(tt.phone, tt.model); got != tt.wantS {
			t.Errorf("%v phone=%v model=%v: got %v", tt.s, tt.phone, tt.model, got)
		}
	}
}
