package protocol

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pocketvlm/smolvlm/modelconfig"
)

// Load asks the worker to load a model, replacing any loaded one.
type Load struct {
	// LoadID tags this load's progress, loaded and error replies, so the
	// page can drop what a load it replaced still says (0: untagged).
	LoadID int `json:"loadId,omitempty"`
	// Model is the model folder's URL, absolute or relative to Base.
	Model string `json:"model"`
	// Base is the page's location.href; without it a relative Model is
	// taken from the site's root.
	Base   string `json:"base,omitempty"`
	Device Device `json:"device,omitempty"`
	// DType is each sub-model's variant, "" for automatic. In JSON a plain
	// string sets all three.
	DType modelconfig.Variants `json:"dtype"`
	// Threads are WebAssembly threads; 0: navigator.hardwareConcurrency
	// when cross-origin isolated.
	Threads int `json:"threads,omitempty"`
	// WarmUp runs the sessions once at load on WebGPU (nil: on a hardware
	// adapter, not a software one).
	WarmUp *bool `json:"warmUp,omitempty"`
	// Dequantize turns a q4 decoder's 4-bit MatMuls into float32 ones on
	// WebAssembly (the vision encoder stays q4); with Int8MatMul, those of
	// the vision encoder and the decoder into int8 ones. nil is the
	// worker's choice: float32 on a computer that says it has memory to
	// spare, as downloaded elsewhere (and always with Int8MatMul).
	Dequantize *bool `json:"dequantize,omitempty"`
	// OneAtATime loads the three sessions one after the other instead of
	// at once (for benchmarks: what the parallel load buys).
	OneAtATime bool `json:"oneAtATime,omitempty"`
	// RepeatKV keeps the export's attention, which repeats the shared
	// key/value heads at every step (for benchmarks: what reading them in
	// place buys).
	RepeatKV bool `json:"repeatKV,omitempty"`
	// Int8MatMul lets the q4 and q4f16 files' 4-bit MatMuls quantize their
	// activations to int8 (accuracy_level 4): faster on CPUs, answers no
	// longer the reference's.
	Int8MatMul bool `json:"int8MatMul,omitempty"`
}

// UnmarshalJSON reads a load, whose dtype may be a string.
func (l *Load) UnmarshalJSON(b []byte) error {
	type plain Load
	var v struct {
		plain
		DType json.RawMessage `json:"dtype"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Load(v.plain)
	var all string
	switch {
	case len(v.DType) == 0 || string(v.DType) == "null":
	case json.Unmarshal(v.DType, &all) == nil:
		if all != "" {
			l.DType = modelconfig.SameVariant(all)
		}
	default:
		if err := json.Unmarshal(v.DType, &l.DType); err != nil {
			return fmt.Errorf("dtype %s: want an object {vision, embed, decoder} or a string", v.DType)
		}
	}
	return nil
}

// Ask is one user turn. Its picture (a Blob or File, or null for none)
// travels beside the JSON, as the object's image field.
type Ask struct {
	Text string `json:"text"`
	// Split cuts the picture into tiles; nil: the model's
	// do_image_splitting.
	Split *bool `json:"split,omitempty"`
	// NewChat forgets the conversation first.
	NewChat bool `json:"newChat,omitempty"`
	// MaxNewTokens and RepetitionPenalty: 0 is the model's
	// (Loaded.Defaults).
	MaxNewTokens      int     `json:"maxNewTokens,omitempty"`
	RepetitionPenalty float64 `json:"repetitionPenalty,omitempty"`
	// MinNewTokens keeps the end-of-sequence token from ending the answer
	// earlier (benchmarks on random weights).
	MinNewTokens int     `json:"minNewTokens,omitempty"`
	Temperature  float64 `json:"temperature,omitempty"` // 0: greedy
	TopK         int     `json:"topK,omitempty"`
	TopP         float64 `json:"topP,omitempty"`
	Seed         int64   `json:"seed,omitempty"`
	// Decoder picks the picture decoder: "auto" (or ""), "go" or
	// "browser".
	Decoder string `json:"decoder,omitempty"`
}

// Stop cancels the running ask; the tokens so far are kept.
type Stop struct{}

// Reset forgets the conversation, cancelling a running ask first.
type Reset struct{}

// TilesRequest (debug) decodes and preprocesses the ask's picture only.
// Look brings the picture of the next question ahead of it (the Blob travels
// beside the JSON, as an ask's): the worker decodes and preprocesses it and
// runs the vision encoder now, so an ask that brings the same picture
// (the same bytes, split and decoder) starts at the prompt. A newer look
// replaces an older one, cancelling it if it is still running.
type Look struct {
	// Split and Decoder as in the ask that will follow.
	Split   *bool  `json:"split,omitempty"`
	Decoder string `json:"decoder,omitempty"`
}

type TilesRequest struct {
	Ask
	// Pixels asks for the tiles' RGB bytes too.
	Pixels bool `json:"pixels,omitempty"`
}

// Ready says the worker runs and accepts messages.
type Ready struct{}

// Progress is the download progress of one model file.
type Progress struct {
	LoadID int    `json:"loadId,omitempty"`
	File   string `json:"file"`
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"` // 0 if unknown
	// Cached: the bytes come from the browser's cache, not the network.
	Cached bool `json:"cached"`
}

// Stored follows Loaded once every file the load downloaded has gone into
// the browser's cache, or failed to: the files are stored while the model is
// already answering. From then on, when Complete, the model also loads
// offline. It also follows a load's Error, not Complete, once the files
// that load began to store have settled: until then a delete of stored
// files would be undone by the writes in flight.
type Stored struct {
	LoadID int `json:"loadId,omitempty"`
	// Complete is false when some file could not be kept (a full quota, a
	// private window): the next load downloads it again.
	Complete bool `json:"complete"`
}

// Loaded says the model is ready and what the load chose.
type Loaded struct {
	LoadID  int                  `json:"loadId,omitempty"`
	Backend Device               `json:"backend"` // webgpu or wasm
	DType   modelconfig.Variants `json:"dtype"`
	// Notice explains a choice in plain words (why not WebGPU); may be "".
	Notice string `json:"notice"`
	Model  string `json:"model"` // the resolved folder URL
	// Tiny: the folder is marked as random weights.
	Tiny            bool  `json:"tiny"`
	DownloadedBytes int64 `json:"downloadedBytes"`
	CachedBytes     int64 `json:"cachedBytes"`
	Threads         int   `json:"threads"`
	// LastTokenLogits: the decoder computes the last position's logits only.
	LastTokenLogits bool `json:"lastTokenLogits"`
	// Dequantized are the parts whose 4-bit MatMuls load's Dequantize
	// unpacked, to DequantizedTo: "float32" or "int8".
	Dequantized   []string `json:"dequantized,omitempty"`
	DequantizedTo string   `json:"dequantizedTo,omitempty"`
	// Variants are those the folder has (nil: it could not tell).
	Variants *Available `json:"variants"`
	Defaults Defaults   `json:"defaults"`
}

// Available lists the variants a model folder has, per sub-model.
type Available struct {
	Vision  []string `json:"vision"`
	Embed   []string `json:"embed"`
	Decoder []string `json:"decoder"`
}

// AvailableOf converts modelconfig's listing; nil stays nil (unknown).
func AvailableOf(a modelconfig.Available) *Available {
	if a == nil {
		return nil
	}
	list := func(part string) []string { return append([]string{}, a[part]...) }
	return &Available{
		Vision:  list(modelconfig.VisionEncoder),
		Embed:   list(modelconfig.EmbedTokens),
		Decoder: list(modelconfig.Decoder),
	}
}

// Has reports whether every sub-model has the variant of v; a nil
// Available (unknown) has everything, and so does an automatic part.
func (a *Available) Has(v modelconfig.Variants) bool {
	if a == nil {
		return true
	}
	has := func(list []string, variant string) bool { return variant == "" || slices.Contains(list, variant) }
	return has(a.Vision, v.Vision) && has(a.Embed, v.Embed) && has(a.Decoder, v.Decoder)
}

// Defaults are the model's own settings, which an ask without them uses.
type Defaults struct {
	// Split is preprocessor_config.json's do_image_splitting.
	Split bool `json:"split"`
	// MaxNewTokens and RepetitionPenalty are generation_config.json's, or
	// modelconfig's defaults.
	MaxNewTokens      int     `json:"maxNewTokens"`
	RepetitionPenalty float64 `json:"repetitionPenalty"`
}

// DefaultsOf reads the defaults out of a model's configuration.
func DefaultsOf(c *modelconfig.Config) Defaults {
	return Defaults{
		Split:             c.Preprocessor.DoImageSplitting,
		MaxNewTokens:      c.Generation.MaxNewTokens,
		RepetitionPenalty: c.Generation.RepetitionPenalty,
	}
}

// Status tells what the worker is doing, in plain words.
type Status struct {
	Text string `json:"text"`
}

// Token is one generated token.
type Token struct {
	ID int64 `json:"id"`
	// Text is the newly completed text; it never splits a UTF-8 character.
	Text string `json:"text"`
}

// Done ends an answer.
type Done struct {
	Tokens []int64 `json:"tokens"` // every id of the answer
	// Text is the whole answer; it replaces the streamed text.
	Text         string     `json:"text"`
	Stop         StopReason `json:"stop"`
	TTFTMs       float64    `json:"ttftMs"`
	DecodeTPS    float64    `json:"decodeTps"`
	PreprocessMs float64    `json:"preprocessMs"`
	VisionMs     float64    `json:"visionMs"`
	// VisionRuns are this turn's vision encoder runs; VisionRunsTotal
	// those since the load.
	VisionRuns      int                  `json:"visionRuns"`
	VisionRunsTotal int                  `json:"visionRunsTotal"`
	Backend         Device               `json:"backend"`
	DType           modelconfig.Variants `json:"dtype"`
	// PromptTokens are the tokens this turn added before generating.
	PromptTokens int `json:"promptTokens"`
	// Decoder is the picture decoder used (go or browser; "" without one).
	Decoder string `json:"decoder"`
	// GPUReadBytes and GPUReads: bytes and copies read back from the GPU
	// in this turn.
	GPUReadBytes int64 `json:"gpuReadBytes"`
	GPUReads     int64 `json:"gpuReads"`
	// LookedAhead: the picture was read and encoded by a look before this
	// ask; PreprocessMs and VisionMs are then 0 (Looked has that work's).
	LookedAhead bool `json:"lookedAhead,omitempty"`
}

// Looked ends a look: the picture is ready for the ask that brings it. A
// look whose picture could not be prepared says why in Error; the page can
// ignore it, since the ask that brings the picture reports the failure.
type Looked struct {
	PreprocessMs float64 `json:"preprocessMs"`
	VisionMs     float64 `json:"visionMs"` // 0: the picture was ready already
	Tiles        int     `json:"tiles"`
	Decoder      string  `json:"decoder"`
	Error        string  `json:"error,omitempty"`
}

// MarshalJSON writes tokens as [] when there are none.
func (d Done) MarshalJSON() ([]byte, error) {
	type plain Done
	if d.Tokens == nil {
		d.Tokens = []int64{}
	}
	return json.Marshal(plain(d))
}

// Error says a request failed; the worker stays usable.
type Error struct {
	// Message is one plain sentence; Detail the technical cause.
	Message string `json:"message"`
	Detail  string `json:"detail"`
	// LoadID is set on a load's error.
	LoadID int `json:"loadId,omitempty"`
	// Reset (an ask's error): the failure started the conversation over.
	Reset bool `json:"reset,omitempty"`
}

// Tiles answers a TilesRequest.
type Tiles struct {
	// SHA256 is, per tile, the hex sha256 of its RGB bytes.
	SHA256  []string `json:"sha256"`
	Decoder string   `json:"decoder"`
	Rows    int      `json:"rows"`
	Cols    int      `json:"cols"`
	// Pixels are the tiles' RGB bytes, when asked. The worker sends them
	// as Uint8Arrays beside the JSON; a reader of JSON gets them in base64.
	Pixels [][]byte `json:"pixels,omitempty"`
}

func (Load) Type() Type         { return TypeLoad }
func (Ask) Type() Type          { return TypeAsk }
func (Stop) Type() Type         { return TypeStop }
func (Reset) Type() Type        { return TypeReset }
func (TilesRequest) Type() Type { return TypeTiles }
func (Look) Type() Type         { return TypeLook }
func (Looked) Type() Type       { return TypeLooked }
func (Ready) Type() Type        { return TypeReady }
func (Progress) Type() Type     { return TypeProgress }
func (Loaded) Type() Type       { return TypeLoaded }
func (Stored) Type() Type       { return TypeStored }
func (Status) Type() Type       { return TypeStatus }
func (Token) Type() Type        { return TypeToken }
func (Done) Type() Type         { return TypeDone }
func (Error) Type() Type        { return TypeError }
func (Tiles) Type() Type        { return TypeTiles }
