package app

import (
	"fmt"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

type liveCameraProps struct {
	OnShot  func(ctx goapp.Context, p picture)
	OnError func(ctx goapp.Context, msg string)
	OnClose func(ctx goapp.Context)
}

// liveCamera shows the camera in a video and turns a frame into a picture
// (video → canvas → JPEG Blob). The camera is switched off on dismount.
type liveCamera struct {
	goapp.Compo
	Props liveCameraProps

	video   goapp.Value
	stream  goapp.Value
	started bool
	closed  bool // dismounted: a late stream must be switched off at once
	status  string
}

func newLiveCamera(props liveCameraProps) *liveCamera { return &liveCamera{Props: props} }

func (c *liveCamera) OnMount(ctx goapp.Context) {
	c.status, c.closed = "Starting the camera…", false
	c.video = c.JSValue().Call("querySelector", "video")
	video := c.video
	openCamera(video, func(stream goapp.Value, err error) {
		if c.closed { // closed while the browser asked for permission
			closeCamera(video, stream)
			return
		}
		ctx.Dispatch(func(ctx goapp.Context) {
			if err != nil {
				c.Props.OnError(ctx, sentence(err.Error()))
				c.Props.OnClose(ctx)
				return
			}
			c.stream, c.started, c.status = stream, true, ""
		})
	})
}

// OnDismount turns the camera off.
func (c *liveCamera) OnDismount() {
	c.closed = true
	closeCamera(c.video, c.stream)
	c.stream = nil
}

func (c *liveCamera) Render() goapp.UI {
	return goapp.Div().Class("camera").Body(
		goapp.Video().
			Class("camera-video").
			AutoPlay(true).
			Attr("playsinline", true).
			Muted(true).
			Aria("label", "Camera view"),
		goapp.If(c.status != "", func() goapp.UI {
			return goapp.P().Class("camera-status").Role("status").Text(c.status)
		}),
		goapp.Div().Class("picture-actions").Body(
			goapp.Button().ID("camera-shoot").Class("button primary").Type("button").
				Disabled(!c.started).
				OnClick(c.shoot).
				Body(icon(iconShutter), goapp.Span().Text("Take the picture")),
			goapp.Button().Class("button secondary").Type("button").
				OnClick(func(ctx goapp.Context, _ goapp.Event) { c.Props.OnClose(ctx) }).
				Body(icon(iconClose), goapp.Span().Text("Cancel")),
		),
	)
}

func (c *liveCamera) shoot(ctx goapp.Context, _ goapp.Event) {
	snapshot(c.video, func(blob goapp.Value, err error) {
		ctx.Dispatch(func(ctx goapp.Context) {
			if err != nil {
				c.Props.OnError(ctx, sentence(err.Error()))
				return
			}
			name := fmt.Sprintf("Photo %s", time.Now().Format("15:04:05"))
			if pic, ok := pictureFromBlob(blob, name); ok {
				c.Props.OnShot(ctx, pic)
			}
		})
	})
}
