//go:build js && wasm

package main

import (
	"context"
	"crypto/sha256"
	"syscall/js"
	"time"

	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// pictureKey tells whether an ask brings the picture a look prepared: the
// same bytes, preprocessed the same way.
type pictureKey struct {
	sum     [sha256.Size]byte
	split   bool
	decoder string // as requested: "", auto, go or browser
}

// preparedPicture is a picture read, decoded and preprocessed for a turn;
// features, once a look has run the vision encoder on it.
type preparedPicture struct {
	key      pictureKey
	image    *idefics3.Result
	decoder  string // the decoder used: go or browser
	features []float32
}

// preparePicture reads, decodes and preprocesses a picture Blob. With
// reuse, the picture the last look prepared is returned as it is when the
// key matches (its features set); without, the key holds no sha256.
func (w *worker) preparePicture(ctx context.Context, m *loadedModel, blob js.Value, split *bool, decoder string, reuse bool) (*preparedPicture, error) {
	w.status("Reading the picture")
	data, err := readPicture(ctx, blob)
	if err != nil {
		return nil, err
	}
	key := pictureKey{split: m.pipe.Config.Preprocessor.DoImageSplitting, decoder: decoder}
	if split != nil {
		key.split = *split
	}
	if reuse {
		key.sum = sha256.Sum256(data)
	}
	if reuse && w.looked != nil && w.looked.key == key {
		return w.looked, nil
	}
	rgb, used, err := decodePicture(ctx, data, blob, decoder)
	if err != nil {
		return nil, err
	}
	img, err := m.pipe.PreprocessImage(rgb, key.split)
	if err != nil {
		return nil, err
	}
	return &preparedPicture{key: key, image: img, decoder: used}, nil
}

// look prepares the picture of the next question and runs the vision
// encoder on it while the person types; the ask that brings the same
// picture then starts at the prompt (prepareTurn). It answers looked, with
// Error set when the picture could not be prepared (the ask will say why,
// in its own words); a look cancelled by a newer look, a question without
// a picture or a load ends without a word.
func (w *worker) look(req *protocol.Look, image js.Value) {
	ctx, done := w.jobContext(protocol.TypeLook)
	defer done()
	m := w.model
	if m == nil || !image.Truthy() {
		w.post(&protocol.Looked{Error: "look without a loaded model or a picture"})
		return
	}
	start := time.Now()
	pic, err := w.preparePicture(ctx, m, image, req.Split, req.Decoder, true)
	if err != nil {
		w.lookFailed(ctx, err)
		return
	}
	msg := &protocol.Looked{PreprocessMs: ms(time.Since(start)), Decoder: pic.decoder, Tiles: int(pic.image.Shape[1])}
	if pic.features == nil {
		w.status("Looking at the picture")
		start = time.Now()
		features, err := m.pipe.EncodeImage(ctx, pic.image)
		if err == nil {
			m.visionRuns++
		}
		if err == nil && ctx.Err() != nil {
			// A run once started ends whatever ctx says; a newer
			// look, a question without a picture or a load took over.
			err = ctx.Err()
		}
		if err != nil {
			w.lookFailed(ctx, err)
			return
		}
		msg.VisionMs = ms(time.Since(start))
		// The ask needs the grid and the features, not the pixels.
		pic.features = features
		pic.image = &idefics3.Result{Rows: pic.image.Rows, Cols: pic.image.Cols, Shape: pic.image.Shape}
		w.looked = pic
	}
	w.post(msg)
}

func (w *worker) lookFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // something newer took over
	}
	w.post(&protocol.Looked{Error: err.Error()})
}
