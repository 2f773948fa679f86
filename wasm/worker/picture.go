//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/idefics3"
	"github.com/pocketvlm/smolvlm/imageproc"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// maxPictureBytes refuses files far larger than any photo before reading
// them into memory.
const maxPictureBytes = 256 << 20

// readPicture reads a picture Blob's bytes, refusing files far larger
// than any photo before reading them.
func readPicture(ctx context.Context, blob js.Value) ([]byte, error) {
	if size := blob.Get("size"); size.Type() == js.TypeNumber && size.Float() > maxPictureBytes {
		return nil, fmt.Errorf("%w: a %.0f MB file", imageproc.ErrTooManyPixels, size.Float()/(1<<20))
	}
	data, err := blobBytes(ctx, blob)
	if err != nil {
		return nil, plain("The picture file could not be read.", err)
	}
	return data, nil
}

// decodePicture decodes a picture (data, the bytes of blob) into RGB with
// the decoder chooseDecoder picks for its format. It refuses pictures over
// imageproc.DefaultMaxPixels before decoding their pixels. If Go cannot
// decode a variant of a format it knows (an arithmetic-coded JPEG, say),
// the browser tries.
func decodePicture(ctx context.Context, data []byte, blob js.Value, request string) (*imageproc.RGB, string, error) {
	format, err := checkHeader(data)
	if err != nil {
		return nil, "", err
	}
	decoder, err := chooseDecoder(format, request)
	if err != nil {
		return nil, "", plain("The requested picture decoder is not valid.", err)
	}
	if decoder == decodeGo {
		rgb, err := imageproc.Decode(data, imageproc.DecodeOptions{})
		if err == nil || request == decodeGo || !errors.Is(err, imageproc.ErrUnsupportedVariant) {
			return rgb, decodeGo, err
		}
	}
	rgb, err := decodeInBrowser(ctx, blob)
	return rgb, decodeBrowser, err
}

// checkHeader sniffs a format Go knows from the header and refuses pictures
// with too many pixels; format is "" for formats only the browser knows.
func checkHeader(data []byte) (string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", nil // maybe HEIC or AVIF: the browser decides
	}
	if err := checkPixels(cfg.Width, cfg.Height); err != nil {
		return "", err
	}
	return format, nil
}

func checkPixels(w, h int) error {
	if int64(w)*int64(h) > imageproc.DefaultMaxPixels {
		return fmt.Errorf("%w: %d×%d", imageproc.ErrTooManyPixels, w, h)
	}
	return nil
}

func blobBytes(ctx context.Context, blob js.Value) ([]byte, error) {
	p, err := jsutil.Call(blob, "arrayBuffer")
	if err != nil {
		return nil, err
	}
	buf, err := jsutil.Await(ctx, p)
	if err != nil {
		return nil, err
	}
	return jsutil.GoBytes(buf), nil
}

// decodeInBrowser decodes with the browser's own decoders: createImageBitmap
// applies the EXIF orientation and no colour conversion or premultiplication
// (as Pillow does not), then an OffscreenCanvas yields straight RGBA.
func decodeInBrowser(ctx context.Context, blob js.Value) (*imageproc.RGB, error) {
	opts := map[string]any{"imageOrientation": "from-image", "premultiplyAlpha": "none", "colorSpaceConversion": "none"}
	p, err := jsutil.Call(js.Global(), "createImageBitmap", blob, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", imageproc.ErrUnsupportedFormat, err)
	}
	bitmap, err := jsutil.Await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: the browser cannot decode it: %w", imageproc.ErrUnsupportedFormat, err)
	}
	defer bitmap.Call("close")
	w, h := bitmap.Get("width").Int(), bitmap.Get("height").Int()
	if err := checkPixels(w, h); err != nil {
		return nil, err
	}
	rgba, err := bitmapRGBA(bitmap, w, h)
	if err != nil {
		return nil, err
	}
	return imageproc.FromRGBA(w, h, rgba)
}

// bitmapRGBA draws the bitmap on an OffscreenCanvas and reads its pixels.
func bitmapRGBA(bitmap js.Value, w, h int) ([]byte, error) {
	canvas, err := jsutil.New(js.Global().Get("OffscreenCanvas"), w, h)
	if err != nil {
		return nil, fmt.Errorf("canvas %d×%d: %w", w, h, err)
	}
	ctx2d, err := jsutil.Call(canvas, "getContext", "2d", map[string]any{"willReadFrequently": true})
	if err != nil || !ctx2d.Truthy() {
		return nil, fmt.Errorf("canvas %d×%d has no 2d context: %v", w, h, err)
	}
	if _, err := jsutil.Call(ctx2d, "drawImage", bitmap, 0, 0); err != nil {
		return nil, fmt.Errorf("draw picture: %w", err)
	}
	data, err := jsutil.Call(ctx2d, "getImageData", 0, 0, w, h, map[string]any{"colorSpace": "srgb"})
	if err != nil {
		return nil, fmt.Errorf("read pixels: %w", err)
	}
	return jsutil.GoBytes(data.Get("data")), nil
}

// postTiles sends the reply to the debug message "tiles".
func (w *worker) postTiles(img *idefics3.Result, decoder string, withPixels bool) {
	msg := &protocol.Tiles{Decoder: decoder, Rows: img.Rows, Cols: img.Cols}
	var pixels []any
	for _, t := range img.Tiles {
		sum := sha256.Sum256(t.Pix)
		msg.SHA256 = append(msg.SHA256, hex.EncodeToString(sum[:]))
		if withPixels {
			pixels = append(pixels, jsutil.TypedArray(t.Pix))
		}
	}
	var extra map[string]any
	if withPixels {
		extra = map[string]any{"pixels": pixels}
	}
	w.postWith(msg, extra)
}
