package idefics3

import (
	"fmt"

	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/modelconfig"
)

// OptionsFrom maps a model's preprocessor_config.json to Options, with image
// splitting set by split.
func OptionsFrom(pc modelconfig.Preprocessor, split bool) (Options, error) {
	filter, err := imageproc.ParseFilter(pc.Resample)
	if err != nil {
		return Options{}, fmt.Errorf("%s: %w", modelconfig.PreprocessorConfigFile, err)
	}
	return Options{
		DoResize:         pc.DoResize,
		LongestEdge:      pc.LongestEdge,
		DoImageSplitting: split,
		TileSize:         pc.TileSize,
		Resample:         filter,
		DoRescale:        pc.DoRescale,
		RescaleFactor:    pc.RescaleFactor,
		DoNormalize:      pc.DoNormalize,
		Mean:             pc.Mean,
		Std:              pc.Std,
	}, nil
}
