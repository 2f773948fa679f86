package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/prompt"
)

// inputFlags are the flags preprocess and caption share.
type inputFlags struct {
	model, image, prompt string
	split                optionalBool
	maxPixels            int64
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model folder (Hugging Face layout)")
	fs.StringVar(&f.image, "image", "", "picture file (PNG, JPEG, GIF, WebP)")
	fs.StringVar(&f.prompt, "prompt", "Can you describe this image?", "question about the picture")
	fs.Var(&f.split, "split", "split the picture into tiles (default: the model's preprocessor_config.json)")
	fs.Int64Var(&f.maxPixels, "max-pixels", imageproc.DefaultMaxPixels, "refuse pictures with more pixels than this")
}

// optionalBool is a -flag=true|false that remembers whether it was set.
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string {
	if !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsageShown
		}
		return errUsageShown
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// prepared is a picture and a question turned into model inputs.
type prepared struct {
	pipe     *pipeline.Pipeline
	image    *idefics3.Result
	inputIDs []int64
}

func (f *inputFlags) prepare() (*prepared, error) {
	if f.model == "" {
		return nil, errors.New("-model is required (a model folder)")
	}
	if f.image == "" {
		return nil, errors.New("-image is required (a picture file)")
	}
	pipe, err := pipeline.Open(modelconfig.Dir(f.model))
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.image)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	img, err := imageproc.Decode(data, imageproc.DecodeOptions{MaxPixels: f.maxPixels})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.image, err)
	}
	split := pipe.Config.Preprocessor.DoImageSplitting
	if f.split.set {
		split = f.split.value
	}
	res, err := pipe.PreprocessImage(img, split)
	if err != nil {
		return nil, fmt.Errorf("preprocess %s: %w", f.image, err)
	}
	ids, err := pipe.PromptIDs([]prompt.Message{prompt.UserTurn(true, f.prompt)}, []prompt.Grid{pipeline.GridOf(res)})
	if err != nil {
		return nil, err
	}
	return &prepared{pipe: pipe, image: res, inputIDs: ids}, nil
}

func runPreprocess(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("preprocess", flag.ContinueOnError)
	var in inputFlags
	in.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	p, err := in.prepare()
	if err != nil {
		return err
	}
	out := struct {
		InputIDs         []int64  `json:"input_ids"`
		PixelValuesShape []int64  `json:"pixel_values_shape"`
		TileSHA256       []string `json:"tile_sha256"`
		Rows             int      `json:"rows"`
		Cols             int      `json:"cols"`
	}{p.inputIDs, p.image.Shape[:], tileHashes(p.image.Tiles), p.image.Rows, p.image.Cols}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	layout := "one image (no splitting)"
	if out.Rows > 0 {
		layout = fmt.Sprintf("%d×%d tiles + global image", out.Rows, out.Cols)
	}
	fmt.Fprintf(stdout, "prompt tokens: %d\npixel values:  %v\nlayout:        %s\n",
		len(out.InputIDs), out.PixelValuesShape, layout)
	for i, h := range out.TileSHA256 {
		fmt.Fprintf(stdout, "tile %2d sha256 %s\n", i, h)
	}
	return nil
}

// tileHashes is the sha256 of each tile's RGB bytes (H×W×C), as in cases.json.
func tileHashes(tiles []*imageproc.RGB) []string {
	out := make([]string, len(tiles))
	for i, t := range tiles {
		sum := sha256.Sum256(t.Pix)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}
