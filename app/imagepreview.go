package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// previewMaxEdge bounds the preview canvas: sharp on a 3× phone screen
// without holding a full-size photo in memory.
const previewMaxEdge = 1280

// imagePreview draws the chosen picture into a canvas. A canvas, unlike an
// <img> with a blob: URL, needs no img-src exception in the page's
// Content-Security-Policy.
type imagePreview struct {
	goapp.Compo
	Picture picture

	drawn   int // Serial of the picture on the canvas
	width   int
	height  int
	drawErr string
}

func newImagePreview(p picture) *imagePreview { return &imagePreview{Picture: p} }

func (v *imagePreview) OnMount(ctx goapp.Context) { v.draw(ctx) }

func (v *imagePreview) OnUpdate(ctx goapp.Context) {
	ctx.Defer(v.draw) // after the canvas is in the page
}

// draw paints the picture once per Serial; decoding runs in the browser off
// the main thread and the result comes back through Dispatch.
func (v *imagePreview) draw(ctx goapp.Context) {
	if v.drawn == v.Picture.Serial {
		return
	}
	serial := v.Picture.Serial
	v.drawn = serial
	canvas := v.JSValue().Call("querySelector", "canvas")
	drawPicture(canvas, v.Picture.Blob, previewMaxEdge, func(w, h int, err error) {
		ctx.Dispatch(func(goapp.Context) {
			if serial != v.Picture.Serial {
				return
			}
			v.width, v.height, v.drawErr = w, h, ""
			if err != nil {
				v.drawErr = sentence(err.Error())
			}
		})
	})
}

func (v *imagePreview) Render() goapp.UI {
	return goapp.Figure().Class("preview").DataSet("state", v.state()).Body(
		goapp.Canvas().
			ID("preview-canvas").
			Class("preview-canvas").
			Role("img").
			Aria("label", v.label()),
		goapp.If(v.drawErr != "", func() goapp.UI {
			return goapp.P().Class("preview-error").Text(v.drawErr)
		}),
		goapp.FigCaption().Class("preview-caption").Body(
			goapp.Span().Class("preview-name").Text(v.Picture.Name),
			goapp.Span().Class("preview-meta").Text(v.meta()),
		),
	)
}

// state is the figure's data-state: drawing, ready or error.
func (v *imagePreview) state() string {
	switch {
	case v.drawErr != "":
		return "error"
	case v.width > 0 && v.drawn == v.Picture.Serial:
		return "ready"
	}
	return "drawing"
}

func (v *imagePreview) label() string {
	if v.Picture.Name == "" {
		return "The chosen picture"
	}
	return "The chosen picture: " + v.Picture.Name
}

func (v *imagePreview) meta() string {
	size := formatBytes(v.Picture.Size)
	if v.width == 0 {
		return size
	}
	return fmt.Sprintf("%d × %d · %s", v.width, v.height, size)
}
