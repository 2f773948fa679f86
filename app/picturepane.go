package app

import (
	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

type picturePaneProps struct {
	Picture    *picture
	Touch      bool // offer the phone's own camera app
	LiveCamera bool // getUserMedia exists
	CameraOpen bool
	OnPick     func(ctx goapp.Context, p picture)
	OnError    func(ctx goapp.Context, msg string)
	OnRemove   func(ctx goapp.Context)
	OnCamera   func(ctx goapp.Context, open bool)
}

// picturePane is where a picture comes in: a drop zone that also opens the
// file picker, paste from the clipboard anywhere on the page, the phone's
// camera (capture input), a live camera, and the preview once chosen.
type picturePane struct {
	goapp.Compo
	Props picturePaneProps

	dragging     bool
	releasePaste func()
}

func newPicturePane(props picturePaneProps) *picturePane { return &picturePane{Props: props} }

// OnMount listens for pastes on the whole document: a picture pasted
// anywhere (but into a text field) becomes the chat's picture.
func (c *picturePane) OnMount(ctx goapp.Context) {
	c.releasePaste = addListener(documentValue(), "paste", func(e goapp.Value) {
		pic, ok := pictureFromClipboard(e)
		if !ok {
			return // text: let the focused field have it
		}
		e.Call("preventDefault")
		ctx.Dispatch(func(ctx goapp.Context) { c.Props.OnPick(ctx, pic) })
	})
}

// OnDismount releases the paste listener.
func (c *picturePane) OnDismount() {
	if c.releasePaste != nil {
		c.releasePaste()
		c.releasePaste = nil
	}
}

func (c *picturePane) Render() goapp.UI {
	class := "picture-pane"
	if c.dragging {
		class += " is-dragging"
	}
	return goapp.Section().
		Class(class).
		Aria("label", "Picture").
		OnDragEnter(c.onDragOver).
		OnDragOver(c.onDragOver).
		OnDragLeave(c.onDragLeave).
		OnDrop(c.onDrop).
		Body(
			c.fileInputs(),
			goapp.If(c.Props.CameraOpen, func() goapp.UI {
				return newLiveCamera(liveCameraProps{
					OnShot:  c.Props.OnPick,
					OnError: c.Props.OnError,
					OnClose: func(ctx goapp.Context) { c.Props.OnCamera(ctx, false) },
				})
			}).ElseIf(c.Props.Picture != nil, func() goapp.UI {
				return c.renderPreview()
			}).Else(func() goapp.UI {
				return c.renderDropZone()
			}),
		)
}

// fileInputs are always in the page so their labels work in every state.
// They are visually hidden, not display:none, so they stay focusable.
//
// In the server's first paint they are disabled: nothing handles them until
// the app runs, and the app's DOM then replaces the first paint's, so a
// picture chosen there would be lost without a word.
func (c *picturePane) fileInputs() goapp.UI {
	starting := !goapp.IsClient
	return goapp.Div().Class("file-inputs").Body(
		goapp.Input().
			ID("image-input").
			Class("visually-hidden").
			Type("file").
			Accept("image/*").
			Disabled(starting).
			Aria("label", "Choose a picture").
			OnChange(c.onFiles),
		goapp.Input().
			ID("camera-input").
			Class("visually-hidden").
			Type("file").
			Accept("image/*").
			Capture("environment").
			TabIndex(-1).
			Disabled(starting).
			Aria("label", "Take a photo").
			OnChange(c.onFiles),
	)
}

func (c *picturePane) renderDropZone() goapp.UI {
	return goapp.Div().Class("dropzone-wrap").Body(
		goapp.Label().
			For("image-input").
			Class("dropzone").
			Body(
				goapp.Span().Class("dropzone-icon").Body(icon(iconUpload)),
				goapp.Strong().Class("dropzone-title").Text(c.dropTitle()),
				goapp.Span().Class("dropzone-hint").Text(c.dropHint()),
			),
		c.cameraButtons(),
	)
}

func (c *picturePane) dropTitle() string {
	if c.Props.Touch {
		return "Choose a picture"
	}
	return "Drop a picture here"
}

func (c *picturePane) dropHint() string {
	if !goapp.IsClient {
		return "The app is starting…"
	}
	if c.Props.Touch {
		return "From your photos, or take one with the camera"
	}
	return "or click to choose one · paste with Ctrl+V"
}

// cameraButtons offer the phone's camera app on touch screens and the live
// camera elsewhere, where the browser has one.
func (c *picturePane) cameraButtons() goapp.UI {
	return goapp.Div().Class("picture-actions").Body(
		goapp.If(c.Props.Touch, func() goapp.UI {
			return goapp.Label().For("camera-input").Class("button secondary").Body(
				icon(iconCamera), goapp.Span().Text("Take a photo"))
		}),
		goapp.If(c.Props.LiveCamera && !c.Props.Touch, func() goapp.UI {
			return goapp.Button().ID("camera-open").Class("button secondary").Type("button").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnCamera(ctx, true) }).
				Body(icon(iconCamera), goapp.Span().Text("Use the camera"))
		}),
	)
}

func (c *picturePane) renderPreview() goapp.UI {
	p := c.Props.Picture
	return goapp.Div().Class("preview-wrap").Body(
		newImagePreview(*p),
		goapp.Div().Class("picture-actions").Body(
			goapp.Label().For("image-input").Class("button secondary").Body(
				icon(iconPicture), goapp.Span().Text("Change")),
			goapp.If(c.Props.Touch, func() goapp.UI {
				return goapp.Label().For("camera-input").Class("button secondary").Body(
					icon(iconCamera), goapp.Span().Text("Photo"))
			}),
			goapp.If(c.Props.LiveCamera && !c.Props.Touch, func() goapp.UI {
				return goapp.Button().ID("camera-open").Class("button secondary").Type("button").
					OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnCamera(ctx, true) }).
					Body(icon(iconCamera), goapp.Span().Text("Camera"))
			}),
			goapp.Button().ID("picture-remove").Class("button secondary").Type("button").
				Aria("label", "Remove the picture").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnRemove(ctx) }).
				Body(icon(iconTrash), goapp.Span().Text("Remove")),
		),
	)
}

func (c *picturePane) onFiles(ctx goapp.Context, _ goapp.Event) {
	input := ctx.JSSrc()
	pic, ok := pictureFromFiles(input.Get("files"))
	clearFileInput(input) // so choosing the same file again still counts
	if !ok {
		c.Props.OnError(ctx, "That file is not a picture. Choose a PNG, JPEG, GIF or WebP image.")
		return
	}
	c.Props.OnPick(ctx, pic)
}

func (c *picturePane) onDragOver(ctx goapp.Context, e goapp.Event) {
	e.PreventDefault() // allows the drop
	if !c.dragging {
		c.dragging = true
	} else {
		ctx.PreventUpdate()
	}
}

func (c *picturePane) onDragLeave(ctx goapp.Context, e goapp.Event) {
	// Leaving for a child element is not leaving the pane.
	if rel := e.Get("relatedTarget"); rel.Truthy() && ctx.JSSrc().Call("contains", rel).Bool() {
		ctx.PreventUpdate()
		return
	}
	c.dragging = false
}

func (c *picturePane) onDrop(ctx goapp.Context, e goapp.Event) {
	e.PreventDefault()
	c.dragging = false
	pic, ok := pictureFromFiles(e.Get("dataTransfer").Get("files"))
	if !ok {
		c.Props.OnError(ctx, "Only pictures can be dropped here. Try a PNG, JPEG, GIF or WebP image.")
		return
	}
	c.Props.OnPick(ctx, pic)
}
