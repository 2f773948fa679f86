//go:build js && wasm

package main

import (
	"cmp"
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
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// generateOptions are the ask's generation options; maxNewTokens and
// repetitionPenalty, when absent, are the model's (generation_config.json,
// else its defaults).
func generateOptions(a *protocol.Ask, gen modelconfig.Generation) generate.Options {
	opts := generate.Options{
		MaxNewTokens: cmp.Or(a.MaxNewTokens, gen.MaxNewTokens),
		MinNewTokens: a.MinNewTokens,
		Sampling: sample.Options{
			RepetitionPenalty: cmp.Or(a.RepetitionPenalty, gen.RepetitionPenalty),
			Temperature:       a.Temperature,
			TopK:              a.TopK,
			TopP:              a.TopP,
			Seed:              uint64(a.Seed),
		},
	}
	return opts
}

// ask runs one user turn and streams the answer; image is the picture Blob
// beside the message (null or undefined for none).
func (w *worker) ask(req *protocol.Ask, image js.Value) {
	ctx, done := w.jobContext(protocol.TypeAsk)
	defer done()
	if w.noModel("ask") {
		return
	}
	m := w.model
	opts := generateOptions(req, m.pipe.Config.Generation)
	if strings.TrimSpace(req.Text) == "" && !image.Truthy() {
		w.post(errorMessage("Ask a question or add a picture.", "empty ask"))
		return
	}
	if req.NewChat {
		w.reset()
	}
	start := time.Now()
	// Without a look there is nothing to reuse, and the picture's sha256
	// is not worth its time.
	turn, pic, err := w.prepareTurn(ctx, m, req, image, w.looked != nil)
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
	opts.OnToken = func(id int64) {
		w.post(&protocol.Token{ID: id, Text: stream.Push(id)})
		// Let a stop message in before the loop checks ctx for the next
		// step: onnxruntime-web's awaits alone may never yield a task.
		jsutil.Yield(ctx)
	}
	w.status("Writing the answer")
	ans, err := w.chat.Ask(ctx, turn, opts)
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
	w.post(w.doneMessage(m, ans, preprocess, pic, before))
}

// prepareTurn reads, decodes and preprocesses the ask's picture, if any
// (pic is nil without one). With reuse, a picture the last look prepared
// comes with its vision features, and the turn skips all of that work.
func (w *worker) prepareTurn(ctx context.Context, m *loadedModel, req *protocol.Ask, image js.Value, reuse bool) (pipeline.Turn, *preparedPicture, error) {
	turn := pipeline.Turn{Text: req.Text}
	if !image.Truthy() {
		return turn, nil, nil
	}
	pic, err := w.preparePicture(ctx, m, image, req.Split, req.Decoder, reuse)
	if err != nil {
		return turn, nil, err
	}
	turn.Image, turn.Features = pic.image, pic.features
	return turn, pic, nil
}

// resetError is the error message of an ask whose failure started the
// conversation over.
func resetError(err error) *protocol.Error {
	msg := errorMessage(sentence(err, ""), err.Error())
	msg.Reset = true
	return msg
}

// failAsk reports a failed ask. A cancelled one is not a failure: it ends
// with done, stop "cancelled" and no tokens (cancelling before the first
// decoder run leaves the conversation as it was).
func (w *worker) failAsk(ctx context.Context, m *loadedModel, err error, fallback string) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		w.post(cancelledDone(m))
		return
	}
	w.post(errorMessage(sentence(err, fallback), err.Error()))
}

// stoppedAsk answers an ask stopped before its turn came: it never ran.
func (w *worker) stoppedAsk() {
	if !w.noModel("ask") {
		w.post(cancelledDone(w.model))
	}
}

// noModel answers a request (what: its type) that needs a model when none
// is loaded, and says so.
func (w *worker) noModel(what string) bool {
	if w.model != nil {
		return false
	}
	w.post(errorMessage("Load a model before asking.", what+" without a loaded model"))
	return true
}

// cancelledDone is the done of an ask cancelled before its first token.
func cancelledDone(m *loadedModel) *protocol.Done {
	return &protocol.Done{
		Stop:            protocol.StopCancelled,
		VisionRunsTotal: m.visionRuns,
		Backend:         protocol.Device(m.eng.Name()),
		DType:           m.variants,
	}
}

// doneMessage is the protocol's done message for an answer.
func (w *worker) doneMessage(m *loadedModel, ans *pipeline.Answer, preprocess time.Duration, pic *preparedPicture, before ortweb.Stats) *protocol.Done {
	t := ans.Timings
	after := m.eng.Stats()
	var decoder string
	if pic != nil {
		decoder = pic.decoder
	}
	return &protocol.Done{
		LookedAhead:     pic != nil && pic.features != nil,
		Tokens:          ans.Tokens,
		Text:            ans.Text,
		Stop:            protocol.StopReason(ans.Stop),
		TTFTMs:          ms(t.FirstToken),
		DecodeTPS:       t.DecodeTokensPerSecond(),
		PreprocessMs:    ms(preprocess),
		VisionMs:        ms(t.Vision),
		VisionRuns:      ans.VisionRuns,
		VisionRunsTotal: m.visionRuns,
		Backend:         protocol.Device(m.eng.Name()),
		DType:           m.variants,
		PromptTokens:    len(ans.InputIDs),
		Decoder:         decoder,
		GPUReadBytes:    after.GPUReadBytes - before.GPUReadBytes,
		GPUReads:        after.GPUReads - before.GPUReads,
	}
}

// tiles answers the debug message "tiles": the sha256 of each preprocessed
// tile (as cases.json records them) and, if asked, the tiles' RGB bytes.
func (w *worker) tiles(req *protocol.TilesRequest, image js.Value) {
	ctx, done := w.jobContext(protocol.TypeTiles)
	defer done()
	if w.noModel("tiles") {
		return
	}
	turn, pic, err := w.prepareTurn(ctx, w.model, &req.Ask, image, false)
	if err == nil && pic == nil {
		err = errors.New("tiles without an image")
	}
	if err != nil {
		w.post(errorMessage(sentence(err, "The picture could not be prepared."), err.Error()))
		return
	}
	w.postTiles(turn.Image, pic.decoder, req.Pixels)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
