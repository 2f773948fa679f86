package modelconfig

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Variants picks the ONNX variant (fp32, fp16, q4, q4f16, ...) of each
// sub-model. An empty field means "automatic": the caller's default.
type Variants struct {
	Vision  string `json:"vision"`
	Embed   string `json:"embed"`
	Decoder string `json:"decoder"`
}

// SameVariant uses v for all three sub-models.
func SameVariant(v string) Variants { return Variants{v, v, v} }

// ParseVariants reads the syntax of the command line's -variant flag and the
// app's dtype URL parameter: one variant for every sub-model ("q4"), or some
// sub-models by name ("vision=fp16,embed=fp32,decoder=q4f16"), the others
// left empty (automatic).
func ParseVariants(s string) (Variants, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.Contains(s, "=") {
		if err := checkVariant(s); err != nil {
			return Variants{}, err
		}
		return SameVariant(s), nil
	}
	var v Variants
	for part := range strings.SplitSeq(s, ",") {
		key, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		if err := checkVariant(val); err != nil {
			return Variants{}, err
		}
		switch key {
		case "vision":
			v.Vision = val
		case "embed":
			v.Embed = val
		case "decoder":
			v.Decoder = val
		default:
			return Variants{}, fmt.Errorf("unknown sub-model %q (want vision, embed or decoder)", key)
		}
	}
	return v, nil
}

func checkVariant(v string) error {
	if !slices.Contains(VariantNames(), v) {
		return fmt.Errorf("unknown model variant %q (want one of %s)", v, strings.Join(VariantNames(), ", "))
	}
	return nil
}

// String is the inverse of ParseVariants: "" (all automatic), "q4" (all the
// same) or "vision=fp16,decoder=q4" (automatic ones left out).
func (v Variants) String() string {
	if v.Vision == v.Embed && v.Embed == v.Decoder {
		return v.Vision
	}
	var parts []string
	for _, p := range []struct{ name, v string }{{"vision", v.Vision}, {"embed", v.Embed}, {"decoder", v.Decoder}} {
		if p.v != "" {
			parts = append(parts, p.name+"="+p.v)
		}
	}
	return strings.Join(parts, ",")
}

// WithDefault fills the automatic (empty) parts with def.
func (v Variants) WithDefault(def string) Variants {
	for _, p := range []*string{&v.Vision, &v.Embed, &v.Decoder} {
		if *p == "" {
			*p = def
		}
	}
	return v
}

// AppVariants are the variants the app offers for each sub-model (its
// Precision setting and dtype link parameter) and its worker looks for.
var AppVariants = []string{"fp32", "fp16", "q4", "q4f16"}

// Compute is what a model will run on, as far as the automatic variant
// choice cares.
type Compute int

const (
	ComputeCPU    Compute = iota // onnxruntime's CPU kernels (WebAssembly, native)
	ComputeGPU                   // WebGPU without shader-f16: no float16 math
	ComputeGPUF16                // WebGPU with shader-f16
)

// AutoOrder is the automatic variant rule, the one place it is written down
// (wasm/PROTOCOL.md describes it): the variants an automatic sub-model part
// may use on c, best first. The download decides first (people fetch the
// model over their phone's connection), then what c computes natively:
//
//   - WebGPU with shader-f16: q4f16 for the vision encoder and the
//     embeddings, q4 for the decoder (SmolVLM-256M: 198 MB for the three
//     against 189 MB all q4f16 and 1,028 MB for fp32), then q4, fp16, fp32
//     (the decoder: q4f16 second). The q4 decoder computes in float32 and
//     gets onnxruntime's fused WebGPU kernels: natively on an H200 it
//     decoded 1.25–1.45× the q4f16 one and loaded 0.2 s sooner, and on an
//     H100 and an H200 it gave onnxruntime CPU's tokens where the float16
//     decoder parts from them within 0–2 steps (README, "The GPU
//     natively"); the float16 vision encoder and embeddings drift late or
//     not at all.
//   - WebGPU without shader-f16: q4 (264 MB), then fp32. Float16 graphs
//     cannot run on such a GPU: q4f16 and fp16 come last, and choosing one
//     moves the model to WebAssembly.
//   - CPU: q4, then q4f16, fp32, fp16. onnxruntime's CPU kernels compute
//     float16 by converting to float32; q4's MatMulNBits computes in f32.
//
// Each sub-model takes the first variant in this order that the model folder
// has (see Available), so a folder holding q4 alone works everywhere.
func AutoOrder(c Compute, part string) []string {
	switch {
	case c == ComputeGPUF16 && part == Decoder:
		return []string{"q4", "q4f16", "fp16", "fp32"}
	case c == ComputeGPUF16:
		return []string{"q4f16", "q4", "fp16", "fp32"}
	case c == ComputeGPU:
		return []string{"q4", "fp32", "q4f16", "fp16"}
	}
	return []string{"q4", "q4f16", "fp32", "fp16"}
}

// AutoDownload lists the first automatic choice of every kind of Compute:
// what bin/smolvlm download fetches by default, so that the app finds its
// first choice on every device.
func AutoDownload() []string {
	var out []string
	for _, c := range []Compute{ComputeCPU, ComputeGPU, ComputeGPUF16} {
		for _, part := range Parts {
			if v := AutoOrder(c, part)[0]; !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Parts are the three ONNX sub-models, in Variants field order.
var Parts = []string{VisionEncoder, EmbedTokens, Decoder}

// Available lists the ONNX variants a model folder holds, per sub-model
// (keyed by VisionEncoder, EmbedTokens, Decoder). A nil Available is unknown:
// every variant is taken to be there.
type Available map[string][]string

// AvailableFromFiles reads the variants out of file names of a model folder's
// onnx/ folder ("decoder_model_merged_q4.onnx"); other names are skipped.
func AvailableFromFiles(names []string) Available {
	a := Available{}
	for _, name := range names {
		base, ok := strings.CutSuffix(name, ".onnx")
		if !ok {
			continue
		}
		for _, part := range Parts {
			rest, ok := strings.CutPrefix(base, part)
			if !ok {
				continue
			}
			for _, v := range VariantNames() {
				if variantSuffix[v] == rest && !slices.Contains(a[part], v) {
					a[part] = append(a[part], v)
				}
			}
		}
	}
	return a
}

// Has reports whether the folder holds part in variant (always, when a is
// unknown).
func (a Available) Has(part, variant string) bool {
	return a == nil || slices.Contains(a[part], variant)
}

// Pick returns the first variant of order that the folder holds for part,
// or order[0] when it holds none of them (loading then names the missing
// file).
func (a Available) Pick(part string, order []string) string {
	for _, v := range order {
		if a.Has(part, v) {
			return v
		}
	}
	return order[0]
}

// Auto fills the automatic (empty) parts of v by AutoOrder(c, part) from
// what the folder holds.
func (v Variants) Auto(c Compute, a Available) Variants {
	for i, p := range []*string{&v.Vision, &v.Embed, &v.Decoder} {
		if *p == "" {
			*p = a.Pick(Parts[i], AutoOrder(c, Parts[i]))
		}
	}
	return v
}

// ListingFile is the listing of a model folder's ONNX files, relative to the
// folder. bin/smolvlm serve answers it for any folder under /models/ (see
// package server); other hosts (the Hub, a static server) may lack it.
const ListingFile = "onnx/index.json"

// Listing is the JSON of ListingFile.
type Listing struct {
	Files []ListedFile `json:"files"`
}

// ListedFile is one regular file of a listed folder.
type ListedFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// ParseListing reads ListingFile into the variants it shows.
func ParseListing(raw []byte) (Available, error) {
	var l Listing
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", ListingFile, err)
	}
	names := make([]string, len(l.Files))
	for i, f := range l.Files {
		names[i] = f.Name
	}
	return AvailableFromFiles(names), nil
}
