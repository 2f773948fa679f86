// Package pipeline joins the pieces into SmolVLM's end-to-end pipeline: model
// folder → configuration, tokenizer and chat template; picture → tiles and
// pixel values; conversation → prompt token ids; and, with an engine, the
// generation loop. The browser app and the command line both use it.
package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/onnxedit"
	"github.com/pocketvlm/smolvlm/prompt"
	"github.com/pocketvlm/smolvlm/tokenizer"
)

// Pipeline is an opened model folder. Preprocessing works without an engine;
// generation needs LoadModel.
type Pipeline struct {
	Source    modelconfig.Source
	Config    *modelconfig.Config
	Tokenizer *tokenizer.Tokenizer
	Template  *prompt.Template
	Expander  prompt.Expander
	Model     *generate.Model
	// Dequantize, set before LoadModel, turns the 4-bit MatMuls of a q4
	// decoder into float32 ones at load, or, with Int8MatMul, those of every
	// q4 sub-model into int8 ones (see edit): for engines without a fast
	// 4-bit kernel.
	Dequantize bool
	// OneAtATime makes LoadModel load the sessions one after the other, to
	// measure what loading them at once buys.
	OneAtATime bool
	// RepeatKV keeps the export's attention, which repeats the shared
	// key/value heads for every query head at every step, to measure what
	// the grouped rewrite (see decoderPlan) buys.
	RepeatKV bool
	// Int8MatMul, set before LoadModel, lets the 4-bit MatMuls of q4 and
	// q4f16 files quantize their activations to int8 (accuracy_level 4; see
	// edit): faster on CPUs, but the answers are no longer the reference's.
	Int8MatMul bool

	// dequantized are the parts whose 4-bit MatMuls Dequantize planned to
	// unpack, by the last LoadModel.
	mu          sync.Mutex
	dequantized []string
}

// Dequantized lists the parts (modelconfig.Decoder, …) whose 4-bit MatMuls
// the last LoadModel unpacked (Dequantize: to float32, or int8 with Int8MatMul), in no order.
func (p *Pipeline) Dequantized() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dequantized)
}

// DequantizedTo is what Dequantized's parts were unpacked to: "int8" (with
// Int8MatMul) or "float32"; "" when none was.
func (p *Pipeline) DequantizedTo() string {
	switch {
	case len(p.Dequantized()) == 0:
		return ""
	case p.Int8MatMul:
		return "int8"
	}
	return "float32"
}

// Open reads the configuration, tokenizer and chat template of a model folder.
func Open(src modelconfig.Source) (*Pipeline, error) {
	p, err := OpenConfig(src)
	if err != nil {
		return nil, err
	}
	if err := p.LoadTokenizer(); err != nil {
		return nil, err
	}
	return p, nil
}

// OpenConfig reads the configuration and chat template of a model folder,
// enough to choose and load the model's files. LoadTokenizer must follow
// before the pipeline makes prompts; the browser runs it while the model
// loads, since tokenizer.json takes a second to parse there.
func OpenConfig(src modelconfig.Source) (*Pipeline, error) {
	cfg, err := modelconfig.Load(src)
	if err != nil {
		return nil, err
	}
	tmpl, err := prompt.CompileTemplate(cfg.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	return &Pipeline{Source: src, Config: cfg, Template: tmpl}, nil
}

// LoadTokenizer reads the model folder's tokenizer and checks that it knows
// the configuration's image token.
func (p *Pipeline) LoadTokenizer() error {
	raw, err := p.Source.ReadFile(modelconfig.TokenizerFile)
	if err != nil {
		return fmt.Errorf("model folder: read %s: %w", modelconfig.TokenizerFile, err)
	}
	tok, err := tokenizer.Load(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("model folder: %s: %w", modelconfig.TokenizerFile, err)
	}
	imageToken, ok := tok.Token(p.Config.ImageTokenID)
	if !ok {
		return fmt.Errorf("model folder: image_token_id %d is not in %s", p.Config.ImageTokenID, modelconfig.TokenizerFile)
	}
	p.Tokenizer = tok
	p.Expander = prompt.Expander{ImageToken: imageToken, ImageSeqLen: p.Config.ImageSeqLen}
	return nil
}

// LoadModel loads the three ONNX sessions on eng, in the variants v (none
// may be automatic here). The three load at once: their downloads overlap,
// and the engine creates sessions as it can (onnxruntime-web one at a time).
func (p *Pipeline) LoadModel(ctx context.Context, eng engine.Engine, v modelconfig.Variants) error {
	p.mu.Lock()
	p.dequantized = nil
	p.mu.Unlock()
	parts := []struct{ name, variant string }{
		{modelconfig.VisionEncoder, v.Vision},
		{modelconfig.EmbedTokens, v.Embed},
		{modelconfig.Decoder, v.Decoder},
	}
	files := make([]string, len(parts))
	for i, part := range parts {
		file, err := modelconfig.ONNXFile(part.name, part.variant)
		if err != nil {
			return err
		}
		files[i] = file
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sessions := make([]engine.Session, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		load := func() {
			s, err := p.loadSession(ctx, eng, part.name, part.variant, files[i])
			if err != nil {
				errs[i] = fmt.Errorf("load %s: %w", files[i], err)
				cancel() // the others need not finish
				return
			}
			sessions[i] = s
		}
		if p.OneAtATime {
			load()
		} else {
			wg.Go(load)
		}
	}
	wg.Wait()
	// The first failure that is not the others' cancellation explains it.
	var failed error
	for _, err := range errs {
		if err != nil && (failed == nil || errors.Is(failed, context.Canceled) && !errors.Is(err, context.Canceled)) {
			failed = err
		}
	}
	if failed != nil {
		releaseSessions(sessions)
		return failed
	}
	c := p.Config
	m, err := generate.NewModel(eng, sessions[0], sessions[1], sessions[2], generate.Dims{
		ImageTokenID: c.ImageTokenID,
		NumKVHeads:   c.Text.NumKeyValueHeads,
		HeadDim:      c.Text.HeadDim,
		HiddenSize:   c.Text.HiddenSize,
		MaxPositions: c.Text.MaxPositionEmbeddings,
		EOSTokenIDs:  c.EOSTokenIDs,
	})
	if err != nil {
		releaseSessions(sessions)
		return err
	}
	m.TilesPerRun = tilesPerRun(eng)
	p.Model = m
	return nil
}

// tilesPerRun is how many of a picture's tiles each vision encoder run
// takes on eng (generate.Model.TilesPerRun): one, except on a GPU emulated
// on the processor (engine.SoftwareGPU), where all go in one run.
//
//   - On a CPU the encoder's activations are a tile's instead of all of
//     them (its attention scores alone are 48 MB a tile): at 2048×1536 (13
//     tiles) the peak memory halves in the browser and falls 2.4× natively,
//     the encoder runs 1.1–1.4× faster, and Stop ends an encoding at the
//     next tile.
//   - On an NVIDIA H100 (WebGPU, natively) one tile per run made the 13-tile
//     q4 encoder 3× faster and gave the same tokens.
//   - On SwiftShader it made the browser tests' WebGPU cases 1.5× slower
//     (805 → 1,248 s): a software adapter keeps one run.
func tilesPerRun(eng engine.Engine) int {
	if s, ok := eng.(engine.SoftwareGPU); ok && s.SoftwareGPU() {
		return 0
	}
	return 1
}

// loadSession loads one sub-model, part in variant from file, rewritten by
// the edits it gets (see edit) where the engine can load an edited file.
func (p *Pipeline) loadSession(ctx context.Context, eng engine.Engine, part, variant, file string) (engine.Session, error) {
	location := p.Source.Location(file)
	if loader, ok := eng.(engine.EditLoader); ok {
		if edit := p.edit(part, variant); edit != nil {
			return loader.LoadSessionEdited(ctx, location, edit)
		}
	}
	return eng.LoadSession(ctx, location)
}

// edit is the rewrite of a sub-model's file, for the native and the browser
// engines alike; nil leaves it as it is.
//
// The decoder computes logits for the last position only
// (onnxedit.LastTokenLogits): generation never reads the others, and a long
// prompt's full logits (1,141 × 49,280 floats = 225 MB for SmolVLM) are
// never allocated. Planning the rewrite reads 0.6 MB of the 539 MB fp32
// decoder, so every variant gets it. A decoder the rewrite does not
// recognise loads as it is; the loop reads either shape. Its attention then
// reads the shared key/value heads in place (onnxedit.PlanGroupedAttention)
// instead of repeating the cache for every query head at every step, the
// same dot products with a quarter fewer nodes (4,201 → 3,363 for
// SmolVLM-256M) and none of the copies.
//
// With Int8MatMul, the 4-bit MatMuls of q4 and q4f16 files also get
// accuracy_level 4 (onnxedit.PlanMatMulNBitsAccuracy), planned on top of
// the last-position rewrite (Plan.Then), so it too reads only the nodes.
//
// With Dequantize, a q4 decoder's 4-bit MatMuls become float32 ones
// instead (onnxedit.PlanDequantizeMatMulNBits): onnxruntime-web's
// WebAssembly backend has no fast 4-bit kernel, so a q4 download decodes
// several times faster as float32 MatMuls (see the README's benchmark), at
// the memory of an fp32 decoder in onnxruntime. The rewrite computes the
// float32 weights a few megabytes at a time as the engine assembles the file
// where it lives. The vision encoder stays q4: unpacked to float32, it ran
// no faster (within the ±8% run-to-run noise, once per picture) for
// 0.4–1.0 GB more memory.
//
// With both, every q4 sub-model's 4-bit MatMuls become int8 ones
// (onnxedit.PlanRequantizeMatMulNBitsInt8): nearly float32's decode at
// q4's memory, and the vision encoder 1.4× faster, since onnxruntime-web's
// integer GEMM outruns its float32 one there; approximate answers.
func (p *Pipeline) edit(part, variant string) engine.Edit {
	decoder := part == modelconfig.Decoder
	q4 := variant == "q4" || variant == "q4f16"
	unpack4 := p.Dequantize && variant == "q4"
	switch {
	case unpack4 && p.Int8MatMul:
		return p.unpackEdit(part, variant, onnxedit.PlanRequantizeMatMulNBitsInt8)
	case unpack4 && decoder:
		return p.unpackEdit(part, variant, onnxedit.PlanDequantizeMatMulNBits)
	case p.Int8MatMul && q4 && decoder:
		return planEdit(p.decoderPlan(variant, accuracyInt8))
	case p.Int8MatMul && q4:
		return planEdit(accuracyInt8)
	case decoder:
		return planEdit(p.decoderPlan(variant, nil))
	}
	return nil
}

// planner plans a rewrite of the file of size bytes that src reads.
type planner func(src io.ReaderAt, size int64) (onnxedit.Plan, error)

// decoderPlan plans the decoder's own rewrites, the last-position logits
// (skipped where it does not recognise the decoder) and, unless RepeatKV or
// the variant computes in float16, the grouped attention
// (onnxedit.PlanGroupedAttention, with the model's head counts), then,
// unless the variant computes in float16, each RMS normalization as one
// node (onnxedit.PlanRMSNorm: what onnxruntime's CPU optimizer makes of it
// anyway, and what lets its WebGPU one fuse the normalizations into the
// 4-bit MatMuls) and each rotate_half as one Gather
// (onnxedit.PlanRotateHalf, with the model's head size), the same bits in
// fewer kernels, then next on top (nil: nothing more). Each is planned
// over the one before (Plan.Then), so together they read only the nodes.
//
// The float16 decoders (fp16, q4f16) keep the export's graph: in another
// graph onnxruntime rounds their half-precision intermediates at other
// places, and on the CPU their tokens then left onnxruntime's own within
// the steps the tests compare (with the grouped attention: fp16 at step 4
// of astronaut_nosplit, q4f16 at steps 8 and 12 of astronaut_nosplit and
// alpha_gradient_split).
func (p *Pipeline) decoderPlan(variant string, next planner) planner {
	inFloat32 := variant != "fp16" && variant != "q4f16"
	grouped := !p.RepeatKV && inFloat32
	heads, kvHeads, headSize := p.Config.Text.NumAttentionHeads, p.Config.Text.NumKeyValueHeads, p.Config.Text.HeadDim
	return func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
		plan, err := onnxedit.PlanLastTokenLogits(src, size)
		if err != nil {
			plan = onnxedit.AsIs(size)
		}
		if grouped {
			plan, err = plan.Then(src, func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
				return onnxedit.PlanGroupedAttention(src, size, heads, kvHeads)
			})
			if err != nil {
				return onnxedit.Plan{}, err
			}
		}
		if inFloat32 {
			if plan, err = plan.Then(src, onnxedit.PlanRMSNorm); err != nil {
				return onnxedit.Plan{}, err
			}
			plan, err = plan.Then(src, func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
				return onnxedit.PlanRotateHalf(src, size, headSize)
			})
			if err != nil {
				return onnxedit.Plan{}, err
			}
		}
		if next == nil {
			return plan, nil
		}
		return plan.Then(src, next)
	}
}

// accuracyInt8 plans accuracy_level 4 on every MatMulNBits.
func accuracyInt8(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
	return onnxedit.PlanMatMulNBitsAccuracy(src, size, onnxedit.AccuracyInt8)
}

// unpackEdit is the Dequantize rewrite of a sub-model (unpack: to float32
// weights, or int8 ones with Int8MatMul), on top of the decoder's
// last-position one; it records the part as unpacked. Its weights are
// computed as the engine assembles the file (onnxedit.Piece.Fill), a few
// megabytes at a time.
func (p *Pipeline) unpackEdit(part, variant string, unpack func(io.ReaderAt, int64) (onnxedit.Plan, error)) engine.Edit {
	plan := planner(unpack)
	if part == modelconfig.Decoder {
		plan = p.decoderPlan(variant, unpack)
	}
	return planEdit(func(src io.ReaderAt, size int64) (onnxedit.Plan, error) {
		plan, err := plan(src, size)
		if err == nil && slices.ContainsFunc(plan.Pieces, func(pc onnxedit.Piece) bool { return pc.Fill != nil }) {
			p.mu.Lock()
			p.dequantized = append(p.dequantized, part)
			p.mu.Unlock()
		}
		return plan, err
	})
}

// planEdit makes an onnxedit planner an engine.Edit; a plan that changes
// nothing (a model already rewritten) becomes no plan.
func planEdit(plan func(io.ReaderAt, int64) (onnxedit.Plan, error)) engine.Edit {
	return func(src io.ReaderAt, size int64) (*engine.Plan, error) {
		p, err := plan(src, size)
		if err != nil || p.Unchanged() {
			return nil, err
		}
		out := &engine.Plan{Size: p.Size, Pieces: make([]engine.Piece, len(p.Pieces))}
		for i, pc := range p.Pieces {
			out.Pieces[i] = engine.Piece{Off: pc.Off, Len: pc.Len, Data: pc.Data, Fill: pc.Fill}
		}
		return out, nil
	}
}

func releaseSessions(ss []engine.Session) {
	for _, s := range ss {
		if s != nil {
			s.Release()
		}
	}
}

// Close releases the sessions.
func (p *Pipeline) Close() {
	if p.Model != nil {
		releaseSessions([]engine.Session{p.Model.Vision, p.Model.Embed, p.Model.Decoder})
		p.Model = nil
	}
}

// ProcessorOptions maps preprocessor_config.json to the image processor's
// options, with image splitting set by split.
func (p *Pipeline) ProcessorOptions(split bool) (idefics3.Options, error) {
	return idefics3.OptionsFrom(p.Config.Preprocessor, split)
}

// PreprocessImage turns a decoded picture into tiles and pixel values.
func (p *Pipeline) PreprocessImage(img *imageproc.RGB, split bool) (*idefics3.Result, error) {
	opts, err := p.ProcessorOptions(split)
	if err != nil {
		return nil, err
	}
	return idefics3.Preprocess(img, opts)
}

// PromptIDs renders msgs with the chat template (plus the generation prompt),
// expands each image placeholder for its grid and tokenizes the result.
func (p *Pipeline) PromptIDs(msgs []prompt.Message, grids []prompt.Grid) ([]int64, error) {
	text, err := p.Template.Render(msgs, true)
	if err != nil {
		return nil, err
	}
	text, err = p.Expander.Expand(text, grids)
	if err != nil {
		return nil, err
	}
	return p.Tokenizer.Encode(text), nil
}

// GridOf is the prompt grid of a preprocessed image.
func GridOf(r *idefics3.Result) prompt.Grid {
	return prompt.Grid{Rows: r.Rows, Cols: r.Cols}
}

// ImageInput is the generation loop's view of a preprocessed image.
func ImageInput(r *idefics3.Result) generate.Image {
	return generate.Image{PixelValues: r.PixelValues, Mask: r.PixelAttentionMask, Shape: r.Shape}
}

// EncodeImage runs the vision encoder on a preprocessed picture ahead of
// its question; the result goes in Turn.Features.
func (p *Pipeline) EncodeImage(ctx context.Context, r *idefics3.Result) ([]float32, error) {
	if p.Model == nil {
		return nil, errors.New("the model is not loaded")
	}
	return p.Model.EncodeImage(ctx, ImageInput(r))
}

// WarmUp runs the loaded model once on placeholder inputs (generate.Model.WarmUp),
// the vision encoder too when withVision is set, on a tile of the size the
// vision config gives.
func (p *Pipeline) WarmUp(ctx context.Context, withVision bool) error {
	if p.Model == nil {
		return errors.New("warm-up: no model loaded")
	}
	tile := 0
	if withVision {
		tile = p.Config.Vision.ImageSize
	}
	return p.Model.WarmUp(ctx, tile)
}
