package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

// TestRoundTrip encodes one message of every type and decodes it back.
func TestRoundTrip(t *testing.T) {
	split := false
	requests := []Message{
		&Load{LoadID: 3, Model: "/models/default/", Device: DeviceWasm, DType: modelconfig.Variants{Decoder: "q4"}, Threads: 2},
		&Ask{Text: "What is this?", Split: &split, NewChat: true, MaxNewTokens: 32, Seed: 7},
		&Stop{},
		&Reset{},
		&TilesRequest{Ask: Ask{Decoder: "go"}, Pixels: true},
		&Look{Split: &split, Decoder: "browser"},
	}
	replies := []Message{
		&Ready{},
		&Progress{LoadID: 1, File: "onnx/decoder_model_merged_q4.onnx", Loaded: 10, Total: 20, Cached: true},
		&Stored{LoadID: 3, Complete: true},
		&Loaded{Backend: DeviceWebGPU, DType: modelconfig.SameVariant("q4"), Variants: &Available{Vision: []string{"q4"}, Embed: []string{}, Decoder: []string{"fp32", "q4"}}, Defaults: Defaults{Split: true, MaxNewTokens: 256, RepetitionPenalty: 1}},
		&Status{Text: "Loading the model"},
		&Token{ID: 42, Text: " cat"},
		&Done{Tokens: []int64{1, 2}, Stop: StopEOS, TTFTMs: 12.5, Backend: DeviceWasm, LookedAhead: true},
		&Looked{PreprocessMs: 3.5, VisionMs: 40, Tiles: 13, Decoder: "go"},
		&Error{Message: "The picture could not be read.", Detail: "png: invalid format", Reset: true},
		&Tiles{SHA256: []string{"ab"}, Rows: 1, Cols: 2, Pixels: [][]byte{{1, 2, 3}}},
	}
	check := func(m Message, decode func([]byte) (Message, error)) {
		t.Helper()
		raw, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"type":"` + string(m.Type()) + `"`; !strings.HasPrefix(string(raw), want) {
			t.Errorf("%s encodes as %s; want it to start with %s", m.Type(), raw, want)
		}
		got, err := decode(raw)
		if err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s round trip: got %+v, want %+v", raw, got, m)
		}
	}
	for _, m := range requests {
		check(m, DecodeRequest)
	}
	for _, m := range replies {
		check(m, DecodeReply)
	}
}

// TestDecodeLoadDType reads the dtype forms a load may carry.
func TestDecodeLoadDType(t *testing.T) {
	for raw, want := range map[string]modelconfig.Variants{
		`{"type":"load","model":"m"}`:                                                       {},
		`{"type":"load","model":"m","dtype":null}`:                                          {},
		`{"type":"load","model":"m","dtype":""}`:                                            {},
		`{"type":"load","model":"m","dtype":"fp16"}`:                                        modelconfig.SameVariant("fp16"),
		`{"type":"load","model":"m","dtype":{"decoder":"q4f16"}}`:                           {Decoder: "q4f16"},
		`{"type":"load","model":"m","dtype":{"vision":"fp32","embed":"q4","decoder":"q4"}}`: {Vision: "fp32", Embed: "q4", Decoder: "q4"},
	} {
		m, err := DecodeRequest([]byte(raw))
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if got := m.(*Load).DType; got != want {
			t.Errorf("%s: dtype %+v, want %+v", raw, got, want)
		}
	}
}

// TestDecodeBad gives one clear error per kind of bad message.
func TestDecodeBad(t *testing.T) {
	for raw, want := range map[string]string{
		`not json`:                            "message:",
		`{"text":"hi"}`:                       "without a type",
		`{"type":"launch"}`:                   `unknown message type "launch"`,
		`{"type":"load","dtype":7}`:           "want an object",
		`{"type":"ask","maxNewTokens":"ten"}`: "ask message:",
	} {
		_, err := DecodeRequest([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", raw, err, want)
		}
	}
	if _, err := DecodeReply([]byte(`{"type":"load"}`)); !errors.Is(err, ErrUnknownType) {
		t.Errorf("a request read as a reply: %v, want ErrUnknownType", err)
	}
}

// TestOmitted checks what an ask leaves out for the worker to default, and
// that a done without tokens still lists them.
func TestOmitted(t *testing.T) {
	raw, _ := Encode(&Ask{Text: "hi"})
	if string(raw) != `{"type":"ask","text":"hi"}` {
		t.Errorf("a plain ask encodes as %s", raw)
	}
	raw, _ = Encode(&Done{Stop: StopCancelled})
	if !strings.Contains(string(raw), `"tokens":[]`) {
		t.Errorf("a done without tokens encodes as %s; want tokens []", raw)
	}
	raw, _ = Encode(Stop{})
	if string(raw) != `{"type":"stop"}` {
		t.Errorf("stop encodes as %s", raw)
	}
}

// TestStopReasons: done's stop values are the generation loop's.
func TestStopReasons(t *testing.T) {
	for got, want := range map[generate.StopReason]StopReason{
		generate.StopEOS:         StopEOS,
		generate.StopMaxTokens:   StopMaxTokens,
		generate.StopCancelled:   StopCancelled,
		generate.StopContextFull: StopContextFull,
	} {
		if StopReason(got) != want {
			t.Errorf("generate's %q is not the protocol's %q", got, want)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for _, d := range Devices {
		if got, err := ParseDevice(string(d)); err != nil || got != d {
			t.Errorf("ParseDevice(%q) = %q, %v", d, got, err)
		}
	}
	if d, err := ParseDevice(""); d != DeviceAuto || err != nil {
		t.Errorf(`ParseDevice("") = %q, %v; want auto`, d, err)
	}
	if _, err := ParseDevice("cuda"); err == nil || !strings.Contains(err.Error(), "auto, webgpu, wasm") {
		t.Errorf(`ParseDevice("cuda"): %v`, err)
	}
}

func TestAvailableHas(t *testing.T) {
	a := AvailableOf(modelconfig.Available{modelconfig.VisionEncoder: {"q4"}, modelconfig.EmbedTokens: {"q4"}, modelconfig.Decoder: {"q4", "fp32"}})
	if !a.Has(modelconfig.SameVariant("q4")) || !a.Has(modelconfig.Variants{Decoder: "fp32"}) {
		t.Error("q4 everywhere and an fp32 decoder are there")
	}
	if a.Has(modelconfig.SameVariant("fp32")) {
		t.Error("fp32 vision is not there")
	}
	var unknown *Available
	if !unknown.Has(modelconfig.SameVariant("fp16")) {
		t.Error("an unknown listing has everything")
	}
}
