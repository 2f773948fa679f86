package modelconfig

import (
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
