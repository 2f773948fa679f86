package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pocketvlm/smolvlm/generate"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// errorMessage is the error message of the protocol: one plain sentence for
// the person, and the technical cause for the console and bug reports.
func errorMessage(sentence, detail string) *protocol.Error {
	return &protocol.Error{Message: sentence, Detail: detail}
}

// userError pairs a plain sentence with the error behind it.
type userError struct {
	sentence string
	err      error
}

func (e *userError) Error() string { return e.sentence + " (" + e.err.Error() + ")" }
func (e *userError) Unwrap() error { return e.err }

// plain wraps err with the sentence a person should read.
func plain(sentence string, err error) error { return &userError{sentence: sentence, err: err} }

// sentence is the plain sentence for err: the one attached with plain, or
// one chosen from the kind of failure, or fallback.
func sentence(err error, fallback string) string {
	var ue *userError
	switch {
	case errors.As(err, &ue):
		return ue.sentence
	case errors.Is(err, imageproc.ErrTooManyPixels):
		return "The picture is too large; use one of at most 50 megapixels."
	case errors.Is(err, imageproc.ErrUnsupportedFormat):
		return "This picture's format cannot be read here; try a PNG or JPEG file."
	case errors.Is(err, imageproc.ErrEmptyImage), errors.Is(err, imageproc.ErrCorruptImage), errors.Is(err, imageproc.ErrUnsupportedVariant):
		return "The picture could not be read; the file may be damaged."
	case errors.Is(err, generate.ErrContextFull):
		return "This question does not fit in what the model can read at once; start a new chat, or ask a shorter question."
	case errors.Is(err, fs.ErrNotExist):
		return "A file of the model is missing on the server."
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	}
	return fallback
}

// panicDetail describes a recovered panic.
func panicDetail(r any) string { return fmt.Sprint(r) }
