//go:build !wasm

package app

import (
	"errors"
	"net/url"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// Stubs of js_wasm.go, so that the server (which renders the first paint)
// and native tests compile the whole package. None of them is reached on the
// server: go-app calls OnMount and event handlers only in the browser.

var errNoBrowser = errors.New("this needs a web browser")

// modelWorker records what the page posts, for the page's native tests.
type modelWorker struct {
	posted []protocol.Message
	images []any // the picture beside each posted message
}

func startWorker(string, func(string), func(string)) (*modelWorker, error) {
	return nil, errNoBrowser
}

func (w *modelWorker) post(msg protocol.Message, image any) {
	if w != nil {
		w.posted = append(w.posted, msg)
		w.images = append(w.images, image)
	}
}

func (w *modelWorker) terminate() {}

func addListener(goapp.Value, string, func(goapp.Value)) func() { return func() {} }

func documentValue() goapp.Value { return goapp.Null() }

func pageQuery() url.Values { return url.Values{} }

func replaceQuery(url.Values) {}

func phoneLike() bool { return false }

func touchFirst() bool { return false }

func liveCameraAvailable() bool { return false }

func secureContext() bool { return true }

func openCamera(_ goapp.Value, done func(goapp.Value, error)) { done(nil, errNoBrowser) }

func closeCamera(_, _ goapp.Value) {}

func snapshot(_ goapp.Value, done func(goapp.Value, error)) { done(nil, errNoBrowser) }

func drawPicture(_, _ goapp.Value, _ int, done func(int, int, error)) { done(0, 0, errNoBrowser) }

func fetchText(_ string, done func(string, error)) { done("", errNoBrowser) }

func pictureFromFiles(goapp.Value) (picture, bool) { return picture{}, false }

func pictureFromClipboard(goapp.Value) (picture, bool) { return picture{}, false }

func pictureFromBlob(goapp.Value, string) (picture, bool) { return picture{}, false }

func clearFileInput(goapp.Value) {}

func elementByID(string) goapp.Value { return goapp.Null() }

func focusElement(string) {}

func scrollIntoView(string) {}

func setValue(string, string) {}

func afterUpdate(goapp.Context, func()) {}

func takeSharedPicture(done func(picture, bool)) { done(picture{}, false) }

// background has no browser work to run.
func background(goapp.Context, func()) {}
