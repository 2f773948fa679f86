package app

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// Browser-only calls. Every JS callback made here is released by the
// function that made it, or by the release func it returns; callbacks only
// read values and hand plain Go data to their caller, never blocking the
// browser's event loop. js_other.go holds the stubs with the same signatures.

// modelWorker is the Web Worker that runs the model.
type modelWorker struct {
	w       goapp.Value
	release []func()
}

// startWorker starts the module worker at url. onMessage receives each
// message serialised as JSON; onFail receives a plain sentence when the
// worker cannot run. Both are called from JS event callbacks.
func startWorker(url string, onMessage func(raw string), onFail func(msg string)) (w *modelWorker, err error) {
	ctor := goapp.Window().Get("Worker")
	if !ctor.Truthy() {
		return nil, errors.New("this browser cannot run the model in the background (no Web Workers)")
	}
	// new Worker throws (a Go panic from syscall/js) on a refused URL.
	defer func() {
		if r := recover(); r != nil {
			w, err = nil, fmt.Errorf("the model worker could not start: %v", r)
		}
	}()
	v := ctor.New(url, map[string]any{"type": "module"})
	w = &modelWorker{w: v}
	w.release = append(w.release,
		addListener(v, "message", func(e goapp.Value) { onMessage(jsonString(e.Get("data"))) }),
		addListener(v, "messageerror", func(goapp.Value) {
			onFail("A message from the model worker could not be read.")
		}),
		addListener(v, "error", func(e goapp.Value) {
			e.Call("preventDefault")
			onFail(workerErrorText(e))
		}),
	)
	return w, nil
}

// workerErrorText explains a worker error event.
func workerErrorText(e goapp.Value) string {
	if msg := e.Get("message"); msg.Truthy() {
		return "The model worker stopped: " + msg.String()
	}
	return "The model worker could not start: web/worker.js did not load."
}

// post sends one message to the worker, with the picture (a Blob or File)
// of an ask beside it; image nil sends none.
func (w *modelWorker) post(msg protocol.Message, image any) {
	if w == nil {
		return
	}
	raw, err := protocol.Encode(msg)
	if err != nil {
		goapp.Log(err)
		return
	}
	obj := goapp.Window().Get("JSON").Call("parse", string(raw))
	if image != nil {
		obj.Set("image", image)
	}
	w.w.Call("postMessage", obj)
}

// terminate stops the worker and releases its listeners.
func (w *modelWorker) terminate() {
	if w == nil {
		return
	}
	for _, r := range w.release {
		r()
	}
	w.w.Call("terminate")
}

// addListener calls fn with each event of target and returns the function
// that removes the listener and releases the Go callback.
func addListener(target goapp.Value, event string, fn func(e goapp.Value)) (release func()) {
	f := goapp.FuncOf(func(_ goapp.Value, args []goapp.Value) any {
		if len(args) > 0 {
			fn(args[0])
		}
		return nil
	})
	target.Call("addEventListener", event, f)
	return func() {
		target.Call("removeEventListener", event, f)
		f.Release()
	}
}

// documentValue is window.document.
func documentValue() goapp.Value { return goapp.Window().Get("document") }

// jsonString serialises a JS value.
func jsonString(v goapp.Value) string {
	return goapp.Window().Get("JSON").Call("stringify", v).String()
}

// settle calls done once promise settles, then releases both callbacks.
func settle(promise goapp.Value, done func(v goapp.Value, err error)) {
	var ok, fail goapp.Func
	release := func() {
		ok.Release()
		fail.Release()
	}
	ok = goapp.FuncOf(func(_ goapp.Value, args []goapp.Value) any {
		release()
		done(firstArg(args), nil)
		return nil
	})
	fail = goapp.FuncOf(func(_ goapp.Value, args []goapp.Value) any {
		release()
		done(nil, jsError{firstArg(args)})
		return nil
	})
	promise.Call("then", ok, fail)
}

func firstArg(args []goapp.Value) goapp.Value {
	if len(args) == 0 {
		return goapp.Undefined()
	}
	return args[0]
}

// jsError wraps a rejected promise's reason (usually a DOMException).
type jsError struct{ v goapp.Value }

func (e jsError) Error() string {
	if e.v == nil || !e.v.Truthy() {
		return "unknown error"
	}
	if msg := e.v.Get("message"); msg.Truthy() {
		return msg.String()
	}
	return e.v.Call("toString").String()
}

// name is the DOMException name (NotAllowedError, ...).
func (e jsError) name() string {
	if e.v == nil || !e.v.Truthy() || !e.v.Get("name").Truthy() {
		return ""
	}
	return e.v.Get("name").String()
}

// pageQuery is the query of the page's URL.
func pageQuery() url.Values {
	u, err := url.Parse(goapp.Window().Get("location").Get("href").String())
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// replaceQuery swaps the page URL's query without a reload or a history entry.
func replaceQuery(q url.Values) {
	loc := goapp.Window().Get("location")
	u := loc.Get("pathname").String()
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	u += loc.Get("hash").String()
	history := goapp.Window().Get("history")
	history.Call("replaceState", history.Get("state"), "", u)
}

// mediaMatches evaluates a CSS media query.
func mediaMatches(query string) bool {
	m := goapp.Window().Get("matchMedia")
	return m.Truthy() && goapp.Window().Call("matchMedia", query).Get("matches").Bool()
}

// phoneLike reports a narrow or touch-first screen, where speed matters most.
func phoneLike() bool { return mediaMatches("(max-width: 700px), (pointer: coarse)") }

// touchFirst reports a touch screen as the main pointer (phones, tablets).
func touchFirst() bool { return mediaMatches("(pointer: coarse)") }

// secureContext reports whether the page is a secure context (https://, or
// http://localhost), where the Cache API, service workers and the camera
// exist.
func secureContext() bool { return goapp.Window().Get("isSecureContext").Truthy() }

// liveCameraAvailable reports whether getUserMedia exists (it needs a secure page).
func liveCameraAvailable() bool {
	md := goapp.Window().Get("navigator").Get("mediaDevices")
	return md.Truthy() && md.Get("getUserMedia").Truthy()
}

// openCamera asks for the back camera and plays it in video.
func openCamera(video goapp.Value, done func(stream goapp.Value, err error)) {
	md := goapp.Window().Get("navigator").Get("mediaDevices")
	if !md.Truthy() {
		done(nil, errors.New("this browser has no camera access here; pick a picture instead"))
		return
	}
	constraints := map[string]any{
		"audio": false,
		"video": map[string]any{"facingMode": map[string]any{"ideal": "environment"}},
	}
	settle(md.Call("getUserMedia", constraints), func(stream goapp.Value, err error) {
		if err != nil {
			done(nil, cameraError(err))
			return
		}
		video.Set("srcObject", stream)
		video.Call("play")
		done(stream, nil)
	})
}

// cameraError turns a getUserMedia failure into one plain sentence.
func cameraError(err error) error {
	var je jsError
	if errors.As(err, &je) {
		switch je.name() {
		case "NotAllowedError", "SecurityError":
			return errors.New("camera access was refused; allow it in the browser's site settings, or pick a picture instead")
		case "NotFoundError", "OverconstrainedError":
			return errors.New("no camera was found; pick a picture instead")
		case "NotReadableError":
			return errors.New("the camera is busy in another app")
		}
	}
	return fmt.Errorf("the camera could not start: %w", err)
}

// closeCamera stops every track of stream and detaches it from video.
func closeCamera(video, stream goapp.Value) {
	if stream != nil && stream.Truthy() {
		tracks := stream.Call("getTracks")
		for i := 0; i < tracks.Length(); i++ {
			tracks.Index(i).Call("stop")
		}
	}
	if video != nil && video.Truthy() {
		video.Set("srcObject", nil)
	}
}

// cameraJPEGQuality keeps snapshots sharp at a fraction of PNG's size.
const cameraJPEGQuality = 0.92

// snapshot copies the video's current frame into a JPEG Blob.
func snapshot(video goapp.Value, done func(blob goapp.Value, err error)) {
	w, h := video.Get("videoWidth").Int(), video.Get("videoHeight").Int()
	if w == 0 || h == 0 {
		done(nil, errors.New("the camera is not showing a picture yet"))
		return
	}
	canvas := documentValue().Call("createElement", "canvas")
	canvas.Set("width", w)
	canvas.Set("height", h)
	canvas.Call("getContext", "2d").Call("drawImage", video, 0, 0, w, h)
	var cb goapp.Func
	cb = goapp.FuncOf(func(_ goapp.Value, args []goapp.Value) any {
		cb.Release()
		blob := firstArg(args)
		if !blob.Truthy() {
			done(nil, errors.New("the photo could not be saved"))
			return nil
		}
		done(blob, nil)
		return nil
	})
	canvas.Call("toBlob", cb, "image/jpeg", cameraJPEGQuality)
}

// drawPicture decodes blob (off the main thread, with EXIF orientation) and
// draws it into canvas, at most maxEdge pixels on its longer side.
func drawPicture(canvas, blob goapp.Value, maxEdge int, done func(w, h int, err error)) {
	create := goapp.Window().Get("createImageBitmap")
	if !create.Truthy() {
		done(0, 0, errors.New("this browser cannot show the picture"))
		return
	}
	settle(goapp.Window().Call("createImageBitmap", blob), func(bmp goapp.Value, err error) {
		if err != nil {
			done(0, 0, errors.New("this file is not a picture the browser can open"))
			return
		}
		w, h := bmp.Get("width").Int(), bmp.Get("height").Int()
		cw, ch := fitWithin(w, h, maxEdge)
		canvas.Set("width", cw)
		canvas.Set("height", ch)
		g := canvas.Call("getContext", "2d")
		g.Set("imageSmoothingQuality", "high")
		g.Call("drawImage", bmp, 0, 0, cw, ch)
		bmp.Call("close")
		done(w, h, nil)
	})
}

// fetchText downloads a small text file.
func fetchText(u string, done func(text string, err error)) {
	settle(goapp.Window().Call("fetch", u), func(resp goapp.Value, err error) {
		if err != nil {
			done("", err)
			return
		}
		if !resp.Get("ok").Bool() {
			done("", fmt.Errorf("%s: HTTP %d", u, resp.Get("status").Int()))
			return
		}
		settle(resp.Call("text"), func(v goapp.Value, err error) {
			if err != nil {
				done("", err)
				return
			}
			done(v.String(), nil)
		})
	})
}

// pictureFromFiles returns the first picture of a FileList.
func pictureFromFiles(files goapp.Value) (picture, bool) {
	if files == nil || !files.Truthy() {
		return picture{}, false
	}
	for i := 0; i < files.Length(); i++ {
		if p, ok := pictureFromBlob(files.Index(i), ""); ok {
			return p, true
		}
	}
	return picture{}, false
}

// pictureFromClipboard returns the first picture of a paste event.
func pictureFromClipboard(e goapp.Value) (picture, bool) {
	data := e.Get("clipboardData")
	if !data.Truthy() {
		return picture{}, false
	}
	if p, ok := pictureFromFiles(data.Get("files")); ok {
		return p, true
	}
	items := data.Get("items")
	for i := 0; items.Truthy() && i < items.Length(); i++ {
		it := items.Index(i)
		if it.Get("kind").String() == "file" && strings.HasPrefix(it.Get("type").String(), "image/") {
			if p, ok := pictureFromBlob(it.Call("getAsFile"), "Pasted picture"); ok {
				return p, true
			}
		}
	}
	return picture{}, false
}

// pictureFromBlob describes a Blob or File if it holds an image.
func pictureFromBlob(b goapp.Value, name string) (picture, bool) {
	if b == nil || !b.Truthy() || !strings.HasPrefix(b.Get("type").String(), "image/") {
		return picture{}, false
	}
	if n := b.Get("name"); n.Truthy() && n.String() != "" && name == "" {
		name = n.String()
	}
	return picture{Blob: b, Name: name, Size: int64(b.Get("size").Float()), Type: b.Get("type").String()}, true
}

// clearFileInput empties a file input so picking the same file again still
// fires a change event.
func clearFileInput(input goapp.Value) { input.Set("value", "") }

// elementByID returns the element with id, or a falsy value.
func elementByID(id string) goapp.Value {
	return documentValue().Call("getElementById", id)
}

// focusElement moves keyboard focus to the element with id.
func focusElement(id string) {
	if el := elementByID(id); el.Truthy() {
		el.Call("focus")
	}
}

// scrollIntoView keeps the element with id in view while it grows.
func scrollIntoView(id string) {
	if el := elementByID(id); el.Truthy() {
		el.Call("scrollIntoView", map[string]any{"block": "nearest"})
	}
}

// setValue sets the value of the form field with id.
func setValue(id, v string) {
	if el := elementByID(id); el.Truthy() {
		el.Set("value", v)
	}
}

// afterUpdate runs fn once the page shows the current state: focus and
// scrolling need the new elements in place.
func afterUpdate(ctx goapp.Context, fn func()) { ctx.Defer(func(goapp.Context) { fn() }) }

// takeSharedPicture takes the picture the service worker kept from a Web
// Share Target POST (see share.go) out of its cache; ok is false when there
// is none or it is not a picture.
func takeSharedPicture(done func(pic picture, ok bool)) {
	caches := goapp.Window().Get("caches")
	if !caches.Truthy() {
		done(picture{}, false)
		return
	}
	settle(caches.Call("open", shareCacheName), func(cache goapp.Value, err error) {
		if err != nil {
			done(picture{}, false)
			return
		}
		settle(cache.Call("match", sharedPictureKey), func(resp goapp.Value, err error) {
			if err != nil || resp == nil || !resp.Truthy() {
				done(picture{}, false)
				return
			}
			name := ""
			if n := resp.Get("headers").Call("get", "X-File-Name"); n.Truthy() {
				if s, err := url.PathUnescape(n.String()); err == nil {
					name = s
				}
			}
			settle(resp.Call("blob"), func(b goapp.Value, err error) {
				cache.Call("delete", sharedPictureKey) // taken once
				if err != nil {
					done(picture{}, false)
					return
				}
				done(pictureFromBlob(b, name))
			})
		})
	})
}

// background runs fn in a goroutine of the page (ctx.Async), for browser
// work that awaits promises.
func background(ctx goapp.Context, fn func()) { ctx.Async(fn) }
