// Package modelconfig reads an Idefics3 / SmolVLM model folder in the Hugging
// Face layout (config.json, generation_config.json, preprocessor_config.json,
// processor_config.json, tokenizer.json, tokenizer_config.json,
// chat_template.json, onnx/*.onnx). Every dimension and token id the rest of
// the program uses comes from here.
package modelconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// File names of the Hugging Face layout.
const (
	ConfigFile             = "config.json"
	GenerationConfigFile   = "generation_config.json"
	PreprocessorConfigFile = "preprocessor_config.json"
	ProcessorConfigFile    = "processor_config.json"
	TokenizerFile          = "tokenizer.json"
	TokenizerConfigFile    = "tokenizer_config.json"
	ChatTemplateFile       = "chat_template.json"
	// RandomWeightsFile marks a folder whose weights are random (the bundled
	// tiny test model; a benchmark model regrown at full size): its answers
	// are random words. It holds {"random_weights": true}; internal/fixture
	// and the Makefile's fixture target write it into the test model.
	RandomWeightsFile = "random_weights.json"
)

// Text holds the language model's dimensions (config.json text_config).
type Text struct {
	NumLayers             int
	NumAttentionHeads     int
	NumKeyValueHeads      int
	HeadDim               int
	HiddenSize            int
	VocabSize             int
	MaxPositionEmbeddings int
}

// Vision holds the vision encoder's dimensions (config.json vision_config).
type Vision struct {
	ImageSize  int
	PatchSize  int
	HiddenSize int
}

// Preprocessor is preprocessor_config.json, as the image processor needs it.
type Preprocessor struct {
	DoResize         bool
	LongestEdge      int // size.longest_edge
	DoImageSplitting bool
	TileSize         int // max_image_size.longest_edge
	Resample         int // Pillow's filter number
	DoRescale        bool
	RescaleFactor    float64
	DoNormalize      bool
	Mean, Std        [3]float64
}

// Config is everything the pipeline reads from a model folder.
type Config struct {
	ImageTokenID int64
	ScaleFactor  int
	ImageSeqLen  int // image tokens per tile (processor_config.json)
	Text         Text
	Vision       Vision
	Preprocessor Preprocessor
	EOSTokenIDs  []int64 // generation_config.json
	ChatTemplate string
	// Special token strings from tokenizer_config.json.
	BOSToken, EOSToken string
	// AdditionalSpecialTokens lists tokenizer_config.json's
	// additional_special_tokens, e.g. <fake_token_around_image>.
	AdditionalSpecialTokens []string
	// Generation holds generation_config.json's defaults for generating.
	Generation Generation
	// RandomWeights: the folder says its weights are random
	// (RandomWeightsFile), so answers are random words.
	RandomWeights bool
}

// configStep is one file Load reads, and what it takes from it.
type configStep struct {
	name     string
	optional bool
	apply    func([]byte) error
}

// steps are the files Load reads into c, in order.
func (c *Config) steps() []configStep {
	return []configStep{
		{ConfigFile, false, c.applyModelConfig},
		{GenerationConfigFile, false, c.applyGenerationConfig},
		{PreprocessorConfigFile, false, c.applyPreprocessorConfig},
		{ProcessorConfigFile, true, c.applyProcessorConfig},
		{TokenizerConfigFile, false, c.applyTokenizerConfig},
		{ChatTemplateFile, true, c.applyChatTemplate},
		{RandomWeightsFile, true, c.applyRandomWeights},
	}
}

// ConfigFiles names the files Load reads, in its order (some optional), so
// that a reader over the network can fetch them all at once.
func ConfigFiles() []string {
	var names []string
	for _, s := range new(Config).steps() {
		names = append(names, s.name)
	}
	return names
}

// Load reads and validates the configuration files of the model folder src.
// A missing or malformed file is an error naming that file.
func Load(src Source) (*Config, error) {
	var c Config
	steps := c.steps()
	for _, s := range steps {
		raw, err := src.ReadFile(s.name)
		if err != nil {
			if s.optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("model folder: read %s: %w", s.name, err)
		}
		if err := s.apply(raw); err != nil {
			return nil, fmt.Errorf("model folder: %s: %w", s.name, err)
		}
	}
	if err := c.finish(); err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	return &c, nil
}

type modelConfigJSON struct {
	ImageTokenID *int64 `json:"image_token_id"`
	ScaleFactor  int    `json:"scale_factor"`
	TextConfig   struct {
		NumHiddenLayers       int `json:"num_hidden_layers"`
		NumAttentionHeads     int `json:"num_attention_heads"`
		NumKeyValueHeads      int `json:"num_key_value_heads"`
		HeadDim               int `json:"head_dim"`
		HiddenSize            int `json:"hidden_size"`
		VocabSize             int `json:"vocab_size"`
		MaxPositionEmbeddings int `json:"max_position_embeddings"`
	} `json:"text_config"`
	VisionConfig struct {
		ImageSize  int `json:"image_size"`
		PatchSize  int `json:"patch_size"`
		HiddenSize int `json:"hidden_size"`
	} `json:"vision_config"`
	VocabSize int `json:"vocab_size"`
}

func (c *Config) applyModelConfig(raw []byte) error {
	var j modelConfigJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	if j.ImageTokenID == nil {
		return errors.New("image_token_id is missing")
	}
	t := j.TextConfig
	c.ImageTokenID = *j.ImageTokenID
	c.ScaleFactor = j.ScaleFactor
	c.Text = Text{
		NumLayers:             t.NumHiddenLayers,
		NumAttentionHeads:     t.NumAttentionHeads,
		NumKeyValueHeads:      t.NumKeyValueHeads,
		HeadDim:               t.HeadDim,
		HiddenSize:            t.HiddenSize,
		VocabSize:             t.VocabSize,
		MaxPositionEmbeddings: t.MaxPositionEmbeddings,
	}
	if c.Text.VocabSize == 0 {
		c.Text.VocabSize = j.VocabSize
	}
	// Llama configs may omit num_key_value_heads (no GQA) and head_dim
	// (hidden_size / num_attention_heads), as transformers defaults them.
	if c.Text.NumKeyValueHeads == 0 {
		c.Text.NumKeyValueHeads = t.NumAttentionHeads
	}
	if c.Text.HeadDim == 0 && t.NumAttentionHeads > 0 {
		c.Text.HeadDim = t.HiddenSize / t.NumAttentionHeads
	}
	c.Vision = Vision(j.VisionConfig)
	return positive(map[string]int{
		"scale_factor":                    c.ScaleFactor,
		"text_config.num_hidden_layers":   c.Text.NumLayers,
		"text_config.num_key_value_heads": c.Text.NumKeyValueHeads,
		"text_config.head_dim":            c.Text.HeadDim,
		"text_config.hidden_size":         c.Text.HiddenSize,
		"text_config.vocab_size":          c.Text.VocabSize,
		"vision_config.image_size":        c.Vision.ImageSize,
		"vision_config.patch_size":        c.Vision.PatchSize,
	})
}

// DefaultMaxNewTokens bounds an answer when generation_config.json has no
// max_new_tokens: the one default of the command line's worker, the app and
// its worker.
const DefaultMaxNewTokens = 256

// Generation is what generation_config.json sets for generate; a field it
// leaves out gets the default named on it.
type Generation struct {
	MaxNewTokens      int     // max_new_tokens; DefaultMaxNewTokens
	RepetitionPenalty float64 // repetition_penalty; 1 (off), as in transformers
}

func (c *Config) applyGenerationConfig(raw []byte) error {
	var j struct {
		EOSTokenID        json.RawMessage `json:"eos_token_id"`
		MaxNewTokens      *int            `json:"max_new_tokens"`
		RepetitionPenalty *float64        `json:"repetition_penalty"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	c.Generation = Generation{MaxNewTokens: DefaultMaxNewTokens, RepetitionPenalty: 1}
	if j.MaxNewTokens != nil {
		if *j.MaxNewTokens <= 0 {
			return fmt.Errorf("max_new_tokens must be positive (got %d)", *j.MaxNewTokens)
		}
		c.Generation.MaxNewTokens = *j.MaxNewTokens
	}
	if j.RepetitionPenalty != nil {
		if *j.RepetitionPenalty <= 0 {
			return fmt.Errorf("repetition_penalty must be positive (got %g)", *j.RepetitionPenalty)
		}
		c.Generation.RepetitionPenalty = *j.RepetitionPenalty
	}
	ids, err := intOrList(j.EOSTokenID)
	if err != nil {
		return fmt.Errorf("eos_token_id: %w", err)
	}
	c.EOSTokenIDs = ids
	return nil
}

// intOrList decodes a JSON number or array of numbers (eos_token_id is either).
func intOrList(raw json.RawMessage) ([]int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int64{one}, nil
	}
	var many []int64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("want a token id or a list of token ids")
	}
	return many, nil
}

type longestEdge struct {
	LongestEdge int `json:"longest_edge"`
}

func (c *Config) applyPreprocessorConfig(raw []byte) error {
	var j struct {
		DoResize         *bool       `json:"do_resize"`
		Size             longestEdge `json:"size"`
		DoImageSplitting *bool       `json:"do_image_splitting"`
		MaxImageSize     longestEdge `json:"max_image_size"`
		Resample         *int        `json:"resample"`
		DoRescale        *bool       `json:"do_rescale"`
		RescaleFactor    *float64    `json:"rescale_factor"`
		DoNormalize      *bool       `json:"do_normalize"`
		ImageMean        []float64   `json:"image_mean"`
		ImageStd         []float64   `json:"image_std"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	p := &c.Preprocessor
	p.DoResize = boolOr(j.DoResize, true)
	p.LongestEdge = j.Size.LongestEdge
	p.DoImageSplitting = boolOr(j.DoImageSplitting, true)
	p.TileSize = j.MaxImageSize.LongestEdge
	p.DoRescale = boolOr(j.DoRescale, true)
	p.DoNormalize = boolOr(j.DoNormalize, true)
	if j.Resample == nil || j.RescaleFactor == nil {
		return errors.New("resample and rescale_factor are required")
	}
	p.Resample = *j.Resample
	p.RescaleFactor = *j.RescaleFactor
	if len(j.ImageMean) != 3 || len(j.ImageStd) != 3 {
		return errors.New("image_mean and image_std need three values each")
	}
	copy(p.Mean[:], j.ImageMean)
	copy(p.Std[:], j.ImageStd)
	for _, s := range p.Std {
		if s == 0 {
			return errors.New("image_std has a zero")
		}
	}
	return positive(map[string]int{
		"size.longest_edge":           p.LongestEdge,
		"max_image_size.longest_edge": p.TileSize,
	})
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func (c *Config) applyProcessorConfig(raw []byte) error {
	var j struct {
		ImageSeqLen int `json:"image_seq_len"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	c.ImageSeqLen = j.ImageSeqLen
	return nil
}

func (c *Config) applyTokenizerConfig(raw []byte) error {
	var j struct {
		BOSToken                json.RawMessage   `json:"bos_token"`
		EOSToken                json.RawMessage   `json:"eos_token"`
		AdditionalSpecialTokens []json.RawMessage `json:"additional_special_tokens"`
		ChatTemplate            string            `json:"chat_template"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	var err error
	if c.BOSToken, err = tokenContent(j.BOSToken); err != nil {
		return fmt.Errorf("bos_token: %w", err)
	}
	if c.EOSToken, err = tokenContent(j.EOSToken); err != nil {
		return fmt.Errorf("eos_token: %w", err)
	}
	for _, raw := range j.AdditionalSpecialTokens {
		s, err := tokenContent(raw)
		if err != nil {
			return fmt.Errorf("additional_special_tokens: %w", err)
		}
		c.AdditionalSpecialTokens = append(c.AdditionalSpecialTokens, s)
	}
	if c.ChatTemplate == "" {
		c.ChatTemplate = j.ChatTemplate
	}
	return nil
}

// tokenContent reads a special token written either as a string or as an
// AddedToken object {"content": ...}.
func tokenContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("want a string or an object with content")
	}
	return obj.Content, nil
}

// applyChatTemplate reads chat_template.json, which takes precedence over
// tokenizer_config.json's chat_template as in transformers' processors.
func (c *Config) applyChatTemplate(raw []byte) error {
	var j struct {
		ChatTemplate string `json:"chat_template"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	if j.ChatTemplate != "" {
		c.ChatTemplate = j.ChatTemplate
	}
	return nil
}

// applyRandomWeights reads RandomWeightsFile's random_weights field.
func (c *Config) applyRandomWeights(raw []byte) error {
	var j struct {
		RandomWeights *bool `json:"random_weights"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	if j.RandomWeights == nil {
		return errors.New("random_weights is missing")
	}
	c.RandomWeights = *j.RandomWeights
	return nil
}

func (c *Config) finish() error {
	if c.ImageSeqLen == 0 {
		// Idefics3Processor's default: one token per patch after pixel shuffle.
		patches := c.Vision.ImageSize / c.Vision.PatchSize
		c.ImageSeqLen = patches * patches / (c.ScaleFactor * c.ScaleFactor)
	}
	if c.ChatTemplate == "" {
		return fmt.Errorf("no chat_template in %s or %s", ChatTemplateFile, TokenizerConfigFile)
	}
	if len(c.EOSTokenIDs) == 0 {
		return fmt.Errorf("%s has no eos_token_id", GenerationConfigFile)
	}
	if c.Preprocessor.TileSize != c.Vision.ImageSize {
		return fmt.Errorf("%s max_image_size %d differs from the vision encoder's image_size %d",
			PreprocessorConfigFile, c.Preprocessor.TileSize, c.Vision.ImageSize)
	}
	return nil
}

func positive(fields map[string]int) error {
	for name, v := range fields {
		if v <= 0 {
			return fmt.Errorf("%s must be a positive number (got %d)", name, v)
		}
	}
	return nil
}
