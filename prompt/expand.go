package prompt

import (
	"fmt"
	"strings"
)

// Markers that Idefics3Processor writes around image tokens. They are
// constants of the processor class, not of the model's config files.
const (
	FakeImageToken = "<fake_token_around_image>"
	GlobalImageTag = "<global-img>"
)

// Grid is how an image was split: Rows×Cols tiles plus a global image, or a
// single image when Rows and Cols are zero.
type Grid struct {
	Rows, Cols int
}

// Expander replaces <image> placeholders with the token layout of
// Idefics3Processor.
type Expander struct {
	ImageToken  string // the token whose id is config.json's image_token_id
	ImageSeqLen int    // image tokens per tile (processor_config.json)
}

// Expand replaces the i-th occurrence of the image token in text with the
// expansion of grids[i]. The number of placeholders must equal len(grids).
func (e Expander) Expand(text string, grids []Grid) (string, error) {
	parts := strings.Split(text, e.ImageToken)
	if len(parts)-1 != len(grids) {
		return "", fmt.Errorf("prompt has %d image placeholders but %d images were given", len(parts)-1, len(grids))
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for i, g := range grids {
		if g.Rows == 0 && g.Cols == 0 {
			e.writeSingleImage(&b)
		} else {
			e.writeSplitImage(&b, g)
		}
		b.WriteString(parts[i+1])
	}
	return b.String(), nil
}

// writeSplitImage follows Idefics3Processor's _prompt_split_image: one row of
// tiles per line, each tile tagged <row_r_col_c>, then a blank line and the
// global image.
func (e Expander) writeSplitImage(b *strings.Builder, g Grid) {
	for r := 1; r <= g.Rows; r++ {
		for c := 1; c <= g.Cols; c++ {
			fmt.Fprintf(b, "%s<row_%d_col_%d>", FakeImageToken, r, c)
			e.writeImageTokens(b)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	e.writeSingleImage(b)
}

// writeSingleImage follows Idefics3Processor's _prompt_single_image.
func (e Expander) writeSingleImage(b *strings.Builder) {
	b.WriteString(FakeImageToken)
	b.WriteString(GlobalImageTag)
	e.writeImageTokens(b)
	b.WriteString(FakeImageToken)
}

func (e Expander) writeImageTokens(b *strings.Builder) {
	for range e.ImageSeqLen {
		b.WriteString(e.ImageToken)
	}
}
