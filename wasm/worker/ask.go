//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strings"
	"syscall/js"
	"time"

	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/sample"
	"github.com/pocketvlm/smolvlm/tokenizer"
)

// askRequest is an ask message in Go terms.
type askRequest struct {
	image   js.Value // Blob, or null
	text    string
	split   js.Value // bool, or undefined for the model's default
	newChat bool
	decoder string
	opts    generate.Options
}

// parseAsk reads an ask message; maxNewTokens and repetitionPenalty, when
// absent, are the model's (generation_config.json, else its defaults).
func parseAsk(msg js.Value, gen modelconfig.Generation) askRequest {
	r := askRequest{
		image:   msg.Get("image"),
		text:    stringField(msg, "text", ""),
		split:   msg.Get("split"),
		newChat: msg.Get("newChat").Truthy(),
		decoder: stringField(msg, "decoder", ""),
	}
	r.opts.MaxNewTokens = int(numberField(msg, "maxNewTokens", float64(gen.MaxNewTokens)))
	r.opts.MinNewTokens = int(numberField(msg, "minNewTokens", 0))
	r.opts.Sampling = sample.Options{
		RepetitionPenalty: numberField(msg, "repetitionPenalty", gen.RepetitionPenalty),
		Temperature:       numberField(msg, "temperature", 0),
		TopK:              int(numberField(msg, "topK", 0)),
		TopP:              numberField(msg, "topP", 0),
		Seed:              uint64(numberField(msg, "seed", 0)),
	}
	return r
}

// ask runs one user turn and streams the answer.
func (w *worker) ask(msg js.Value) {
	ctx, done := w.jobContext("ask")
	defer done()
	m := w.model
	if m == nil {
		w.post(errorMessage("Load a model before asking.", "ask without a loaded model"))
		return
	}
	req := parseAsk(msg, m.pipe.Config.Generation)
	if strings.TrimSpace(req.text) == "" && !req.image.Truthy() {
		w.post(errorMessage("Ask a question or add a picture.", "empty ask"))
		return
	}
	if req.newChat {
		w.reset()
	}
	start := time.Now()
	turn, decoder, err := w.prepareTurn(ctx, m, req)
	if err != nil {
		w.failAsk(ctx, m, err, "The picture could not be prepared.")
		return
	}
	preprocess := time.Since(start)
	if w.chat == nil {
		if w.chat, err = m.pipe.NewChat(); err != nil {
			w.failAsk(ctx, m, err, "The conversation could not start.")
			return
		}
	}
	before := m.eng.Stats()
	stream := tokenizer.NewStreamDecoder(m.pipe.Tokenizer, true)
	req.opts.OnToken = func(id int64) {
		w.post(map[string]any{"type": "token", "id": id, "text": stream.Push(id)})
		// Let a stop message in before the loop checks ctx for the next
		// step: onnxruntime-web's awaits alone may never yield a task.
		jsutil.Yield(ctx)
	}
	w.status("Writing the answer")
	ans, err := w.chat.Ask(ctx, turn, req.opts)
	if errors.Is(err, pipeline.ErrChatReset) {
		// The chat started over (the cache held part of this turn): the
		// page must start a new chat and send the picture again.
		w.reset()
		w.post(resetError(plain("The answer could not be generated, so the conversation starts over.", err)))
		return
	}
	if err != nil {
		// Nothing of this turn reached the model: the conversation is
		// as it was, and a follow-up still knows the picture.
		w.failAsk(ctx, m, err, "The answer could not be generated.")
		return
	}
	m.visionRuns += ans.VisionRuns
	w.post(w.doneMessage(m, ans, preprocess, decoder, before))
}

// prepareTurn decodes and preprocesses the ask's picture, if any.
func (w *worker) prepareTurn(ctx context.Context, m *loadedModel, req askRequest) (pipeline.Turn, string, error) {
	turn := pipeline.Turn{Text: req.text}
	if !req.image.Truthy() {
		return turn, "", nil
	}
	w.status("Reading the picture")
	rgb, decoder, err := decodePicture(ctx, req.image, req.decoder)
	if err != nil {
		return turn, decoder, err
	}
	split := m.pipe.Config.Preprocessor.DoImageSplitting
	if req.split.Type() == js.TypeBoolean {
		split = req.split.Bool()
	}
	img, err := m.pipe.PreprocessImage(rgb, split)
	if err != nil {
		return turn, decoder, err
	}
	turn.Image = img
	return turn, decoder, nil
}

// resetError is the error message of an ask whose failure started the
// conversation over.
func resetError(err error) map[string]any {
	msg := errorMessage(sentence(err, ""), err.Error())
	msg["reset"] = true
	return msg
}

// failAsk reports a failed ask. A cancelled one is not a failure: it ends
// with done, stop "cancelled" and no tokens (cancelling before the first
// decoder run leaves the conversation as it was).
func (w *worker) failAsk(ctx context.Context, m *loadedModel, err error, fallback string) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		w.post(map[string]any{
			"type":            "done",
			"tokens":          []any{},
			"text":            "",
			"stop":            string(generate.StopCancelled),
			"visionRuns":      0,
			"visionRunsTotal": m.visionRuns,
			"backend":         m.eng.Name(),
			"dtype":           dtypeObject(m.variants),
		})
		return
	}
	w.post(errorMessage(sentence(err, fallback), err.Error()))
}

// doneMessage is the protocol's done message for an answer.
func (w *worker) doneMessage(m *loadedModel, ans *pipeline.Answer, preprocess time.Duration, decoder string, before ortweb.Stats) map[string]any {
	t := ans.Timings
	after := m.eng.Stats()
	tokens := make([]any, len(ans.Tokens))
	for i, id := range ans.Tokens {
		tokens[i] = id
	}
	return map[string]any{
		"type":            "done",
		"tokens":          tokens,
		"text":            ans.Text,
		"stop":            string(ans.Stop),
		"ttftMs":          ms(t.FirstToken),
		"decodeTps":       t.DecodeTokensPerSecond(),
		"preprocessMs":    ms(preprocess),
		"visionMs":        ms(t.Vision),
		"visionRuns":      ans.VisionRuns,
		"visionRunsTotal": m.visionRuns,
		"backend":         m.eng.Name(),
		"dtype":           dtypeObject(m.variants),
		"promptTokens":    len(ans.InputIDs),
		"decoder":         decoder,
		"gpuReadBytes":    after.GPUReadBytes - before.GPUReadBytes,
		"gpuReads":        after.GPUReads - before.GPUReads,
	}
}

// tiles answers the debug message "tiles": the sha256 of each preprocessed
// tile (as cases.json records them) and, if asked, the tiles' RGB bytes.
func (w *worker) tiles(msg js.Value) {
	ctx, done := w.jobContext("tiles")
	defer done()
	if w.model == nil {
		w.post(errorMessage("Load a model before asking.", "tiles without a loaded model"))
		return
	}
	req := parseAsk(msg, w.model.pipe.Config.Generation)
	turn, decoder, err := w.prepareTurn(ctx, w.model, req)
	if err == nil && turn.Image == nil {
		err = errors.New("tiles without an image")
	}
	if err != nil {
		w.post(errorMessage(sentence(err, "The picture could not be prepared."), err.Error()))
		return
	}
	w.post(tilesMessage(turn.Image, decoder, msg.Get("pixels").Truthy()))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// numberField reads a number field of a message, or def when it is missing.
func numberField(v js.Value, name string, def float64) float64 {
	f := v.Get(name)
	if f.Type() != js.TypeNumber {
		return def
	}
	return f.Float()
}
