package pipeline

import (
	"fmt"
	"strings"
)

// ParseVariants reads a variant for all sub-models ("q4") or per sub-model
// ("vision=fp16,embed=fp32,decoder=q4f16"; unnamed parts default to fp32).
// This is also the syntax of the app's dtype URL parameter.
func ParseVariants(s string) (Variants, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "=") {
		if s == "" {
			return Variants{}, fmt.Errorf("empty model variant")
		}
		return SameVariant(s), nil
	}
	v := SameVariant("fp32")
	for _, kv := range strings.Split(s, ",") {
		key, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch key {
		case "vision":
			v.Vision = val
		case "embed":
			v.Embed = val
		case "decoder":
			v.Decoder = val
		default:
			return v, fmt.Errorf("unknown sub-model %q (want vision, embed or decoder)", key)
		}
	}
	return v, nil
}
