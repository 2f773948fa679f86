package app

import (
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/wasm/protocol"

	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Device is where the worker runs the model.
type Device = protocol.Device

// The devices, by the names the app's code uses.
const (
	DeviceAuto   = protocol.DeviceAuto
	DeviceWebGPU = protocol.DeviceWebGPU
	DeviceWASM   = protocol.DeviceWasm
)

// variantNames are the ONNX variants a sub-model may use; "" lets the worker
// choose from the adapter and the model folder.
var variantNames = modelconfig.AppVariants

// Variants picks the ONNX variant of each sub-model; an empty field means
// "auto": the worker decides from the GPU adapter.
type Variants = modelconfig.Variants

// Split says whether pictures are cut into tiles (more detail, slower).
type Split int

// Split modes. SplitAuto follows the screen: off on phones (fast), the
// model's preprocessor_config.json on larger screens.
const (
	SplitAuto Split = iota
	SplitOn
	SplitOff
)

// Sampling chooses how the next token is picked. Temperature 0 is greedy,
// and then the other fields are unused.
type Sampling struct {
	Temperature float64
	TopK        int
	TopP        float64
	Seed        int64 // 0: a new random seed for every answer
}

// Settings are everything a person can change, all deep-linkable as URL
// query parameters (see ParseSettings).
type Settings struct {
	Model  string // URL of a model folder
	Device Device
	DType  Variants
	Split  Split
	// MaxNewTokens and RepetitionPenalty: 0 is the model's own
	// (generation_config.json, which the worker reads).
	MaxNewTokens      int
	RepetitionPenalty float64
	Sampling          Sampling
	// Unpack4Bit says what the worker does with q4's 4-bit MatMuls when it
	// runs on WebAssembly (protocol.Load.Dequantize), which has no fast
	// 4-bit kernel.
	Unpack4Bit Unpack
}

// Unpack is what q4's 4-bit weights become on WebAssembly. The figures
// are make bench's (README, "What made us faster").
type Unpack string

const (
	// UnpackAuto leaves it to the worker: float32 on a computer that says
	// it has 8 GB or more, as downloaded on a phone and where the browser
	// does not say.
	UnpackAuto Unpack = ""
	// UnpackNone keeps them as downloaded: the reference's arithmetic,
	// least memory.
	UnpackNone Unpack = "0"
	// UnpackInt8 makes the vision encoder's and the decoder's int8, with
	// int8 activations: answers about 3× faster, first token sooner, at
	// q4's memory; approximate.
	UnpackInt8 Unpack = "int8"
	// UnpackFloat32 makes the decoder's float32: answers up to 4× faster,
	// the reference's arithmetic but for rounding, about 1.1 GB more memory.
	UnpackFloat32 Unpack = "float32"
)

// param is the dequantize parameter's value: the Unpack itself, but for
// the automatic choice.
func (u Unpack) param() string {
	if u == UnpackAuto {
		return "auto"
	}
	return string(u)
}

// dequantize is the load's Dequantize for u: nil leaves it to the worker.
func (u Unpack) dequantize() *bool {
	if u == UnpackAuto {
		return nil
	}
	on := u != UnpackNone
	return &on
}

// Defaults and limits of the settings.
const (
	DefaultModelURL      = "/models/default/"
	maxMaxNewTokens      = 4096
	maxRepetitionPenalty = 3
	maxTemperature       = 2
	maxTopK              = 1000
	// Sampling values offered when a person switches from greedy to sampling.
	suggestedTemperature = 0.7
	suggestedTopK        = 50
	suggestedTopP        = 0.9
)

// Query parameter names.
const (
	paramModel             = "model"
	paramDevice            = "device"
	paramDType             = "dtype"
	paramSplit             = "split"
	paramMaxNewTokens      = "max_new_tokens"
	paramRepetitionPenalty = "repetition_penalty"
	paramTemperature       = "temperature"
	paramTopK              = "top_k"
	paramTopP              = "top_p"
	paramSeed              = "seed"
	paramUnpack4Bit        = "dequantize"
)

// settingParams lists every parameter the page owns, in URL order.
var settingParams = []string{
	paramModel, paramDevice, paramDType, paramSplit, paramMaxNewTokens,
	paramRepetitionPenalty, paramTemperature, paramTopK, paramTopP, paramSeed,
	paramUnpack4Bit,
}

// DefaultSettings are the settings of a page opened without parameters.
func DefaultSettings(modelURL string) Settings {
	if modelURL == "" {
		modelURL = DefaultModelURL
	}
	return Settings{
		Model:    modelURL,
		Device:   DeviceAuto,
		Split:    SplitAuto,
		Sampling: Sampling{TopK: suggestedTopK, TopP: suggestedTopP},
	}
}

// ParseSettings reads settings from URL query parameters over defaults. A
// value it cannot use is skipped and explained in one plain sentence of
// warnings, so a mistyped link still opens a working page.
func ParseSettings(q url.Values, defaults Settings) (s Settings, warnings []string) {
	s = defaults
	warn := func(name, value, want string) {
		warnings = append(warnings, fmt.Sprintf("The link's %s=%q was ignored: %s.", name, value, want))
	}
	for _, name := range settingParams {
		v := strings.TrimSpace(q.Get(name))
		if !q.Has(name) || v == "" {
			continue
		}
		if want := s.set(name, v); want != "" {
			warn(name, v, want)
		}
	}
	return s, warnings
}

// set applies one parameter, or says what it wants instead.
func (s *Settings) set(name, v string) (want string) {
	switch name {
	case paramModel:
		s.Model = v
	case paramDevice:
		return s.setDevice(v)
	case paramDType:
		return s.setDType(v)
	case paramSplit:
		return s.setSplit(v)
	case paramMaxNewTokens:
		return setInt(&s.MaxNewTokens, v, 1, maxMaxNewTokens)
	case paramRepetitionPenalty:
		return setFloat(&s.RepetitionPenalty, v, 1, maxRepetitionPenalty, false)
	case paramTemperature:
		return setFloat(&s.Sampling.Temperature, v, 0, maxTemperature, false)
	case paramTopK:
		return setInt(&s.Sampling.TopK, v, 0, maxTopK)
	case paramTopP:
		return setFloat(&s.Sampling.TopP, v, 0, 1, true)
	case paramSeed:
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil || seed < 0 || seed > maxSeed {
			return fmt.Sprintf("use a whole number from 0 to %d", maxSeed)
		}
		s.Sampling.Seed = seed
	case paramUnpack4Bit:
		switch u := Unpack(strings.ToLower(v)); u {
		case UnpackNone, UnpackInt8, UnpackFloat32:
			s.Unpack4Bit = u
		case "auto":
			s.Unpack4Bit = UnpackAuto
		default: // 1 (float32), off, from links made before int8
			on := false
			if setBool(&on, v, unpackValues) != "" {
				return unpackValues
			}
			s.Unpack4Bit = UnpackNone
			if on {
				s.Unpack4Bit = UnpackFloat32
			}
		}
	}
	return ""
}

// unpackValues is the dequantize parameter's error.
const unpackValues = "use auto, 0 (4-bit weights as downloaded), int8 or float32"

// maxSeed keeps seeds exact as JavaScript numbers.
const maxSeed = 1<<53 - 1

// clearToModel sets a setting of modelDefaultParams back to the model's own.
func (s *Settings) clearToModel(param string) {
	switch param {
	case paramMaxNewTokens:
		s.MaxNewTokens = 0
	case paramRepetitionPenalty:
		s.RepetitionPenalty = 0
	}
}

func (s *Settings) setDevice(v string) string {
	if d := Device(strings.ToLower(v)); slices.Contains(protocol.Devices, d) {
		s.Device = d
		return ""
	}
	return "use auto, webgpu or wasm"
}

// setBool reads 1/true/on and 0/false/off, or returns want.
func setBool(dst *bool, v, want string) string {
	switch strings.ToLower(v) {
	case "1", "true", "on":
		*dst = true
	case "0", "false", "off":
		*dst = false
	default:
		return want
	}
	return ""
}

func (s *Settings) setSplit(v string) string {
	const want = "use 1 (split pictures into tiles) or 0 (don't)"
	if strings.EqualFold(v, "auto") {
		s.Split = SplitAuto
		return ""
	}
	var on bool
	if setBool(&on, v, want) != "" {
		return want
	}
	s.Split = SplitOff
	if on {
		s.Split = SplitOn
	}
	return ""
}

// setDType reads "q4" (every sub-model) or "vision=fp16,embed=fp32,decoder=q4"
// (some or all, the others automatic).
func (s *Settings) setDType(v string) string {
	d, err := modelconfig.ParseVariants(v)
	if err != nil || !offered(d.Vision) || !offered(d.Embed) || !offered(d.Decoder) {
		return "use fp32, fp16, q4 or q4f16, or per sub-model like vision=fp16,embed=fp32,decoder=q4"
	}
	s.DType = d
	return ""
}

// offered says whether the app offers variant v ("" is automatic).
func offered(v string) bool { return v == "" || validVariant(v) }

func validVariant(v string) bool { return slices.Contains(variantNames, v) }

func setInt(dst *int, v string, lo, hi int) string {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Sprintf("use a whole number from %d to %d", lo, hi)
	}
	*dst = n
	return ""
}

// setFloat accepts lo ≤ x ≤ hi, or lo < x ≤ hi when loOpen.
func setFloat(dst *float64, v string, lo, hi float64, loOpen bool) string {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < lo || x > hi || (loOpen && x == lo) {
		return fmt.Sprintf("use a number from %g to %g", lo, hi)
	}
	*dst = x
	return ""
}

// Query writes the settings that differ from defaults into q, removing the
// page's parameters that are back at their default and keeping any others,
// so a copied link reproduces the page.
func (s Settings) Query(q url.Values, defaults Settings) url.Values {
	out := url.Values{}
	for k, v := range q {
		if !slices.Contains(settingParams, k) {
			out[k] = v
		}
	}
	put := func(name, v, def string) {
		if v != def {
			out.Set(name, v)
		}
	}
	put(paramModel, s.Model, defaults.Model)
	put(paramDevice, string(s.Device), string(defaults.Device))
	put(paramDType, s.DType.String(), defaults.DType.String())
	put(paramSplit, s.Split.param(), defaults.Split.param())
	put(paramMaxNewTokens, strconv.Itoa(s.MaxNewTokens), strconv.Itoa(defaults.MaxNewTokens))
	put(paramRepetitionPenalty, formatFloat(s.RepetitionPenalty), formatFloat(defaults.RepetitionPenalty))
	put(paramTemperature, formatFloat(s.Sampling.Temperature), formatFloat(defaults.Sampling.Temperature))
	put(paramTopK, strconv.Itoa(s.Sampling.TopK), strconv.Itoa(defaults.Sampling.TopK))
	put(paramTopP, formatFloat(s.Sampling.TopP), formatFloat(defaults.Sampling.TopP))
	put(paramSeed, strconv.FormatInt(s.Sampling.Seed, 10), strconv.FormatInt(defaults.Sampling.Seed, 10))
	put(paramUnpack4Bit, s.Unpack4Bit.param(), defaults.Unpack4Bit.param())
	return out
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// param is the split parameter's value; "" for automatic.
func (s Split) param() string {
	switch s {
	case SplitOn:
		return "1"
	case SplitOff:
		return "0"
	}
	return ""
}

// Resolve decides whether to split: an explicit choice wins; otherwise phones
// (narrow or touch screens) get the fast path and larger screens follow the
// model's own preprocessor setting.
func (s Split) Resolve(phone, modelDefault bool) bool {
	switch s {
	case SplitOn:
		return true
	case SplitOff:
		return false
	}
	return !phone && modelDefault
}

// ReloadsModel reports whether going from s to t needs the model loaded
// again, the model running on backend now ("" while none is loaded):
// Unpack4Bit only acts on WebAssembly, so on WebGPU it changes nothing yet.
func (s Settings) ReloadsModel(t Settings, backend Device) bool {
	return s.Model != t.Model || s.Device != t.Device || s.DType != t.DType ||
		(s.Unpack4Bit != t.Unpack4Bit && backend != DeviceWebGPU)
}
