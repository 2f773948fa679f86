//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// worker owns the model and the conversation. Messages are received on
// JavaScript's turn and handled one at a time by serve, in order; stop (and
// the messages that replace the conversation) cancel the running ask at
// once instead of waiting their turn.
type worker struct {
	mu    sync.Mutex
	queue []request
	wake  chan struct{} // signalled when queue grows
	// running is the type of the message being handled ("" when idle) and
	// cancel cancels it.
	running protocol.Type
	cancel  context.CancelFunc

	// Owned by serve's goroutine.
	model *loadedModel
	chat  *pipeline.Chat
	// looked is the picture the last look prepared, with its features.
	looked *preparedPicture
}

// loadedModel is a loaded model and what the load chose.
type loadedModel struct {
	url      string
	eng      *ortweb.Engine
	pipe     *pipeline.Pipeline
	variants modelconfig.Variants
	// available: the variants the folder holds (nil: unknown).
	available modelconfig.Available
	tiny      bool
	// configKept: every small file read while loading is in the cache.
	configKept bool
	// visionRuns counts vision encoder runs since the load.
	visionRuns int
}

func newWorker() *worker {
	return &worker{wake: make(chan struct{}, 1)}
}

// request is a message from the page, decoded, and the JavaScript object it
// came as (for the values beside the JSON: an ask's picture).
type request struct {
	msg protocol.Message
	obj js.Value
	// stopped: a stop came while this ask waited its turn (behind a look).
	stopped bool
}

// receive is called on JavaScript's turn: it must not block.
func (w *worker) receive(obj js.Value) {
	msg, err := decodeRequest(obj)
	if err != nil {
		w.post(errorMessage("The worker received a message it cannot read.", err.Error()))
		return
	}
	switch msg.Type() {
	case protocol.TypeStop:
		w.cancelRunning(protocol.TypeAsk)
		w.stopQueued()
		return
	case protocol.TypeReset:
		w.cancelRunning(protocol.TypeAsk) // the conversation is going away
	case protocol.TypeLoad:
		w.cancelRunning(protocol.TypeAsk, protocol.TypeLoad, protocol.TypeLook) // the model is being replaced
	case protocol.TypeLook:
		w.cancelRunning(protocol.TypeLook) // a newer picture
		w.dropQueued(protocol.TypeLook)
	case protocol.TypeAsk:
		if !obj.Get("image").Truthy() {
			// A question without a picture does not wait for one the
			// person has put away.
			w.cancelRunning(protocol.TypeLook)
			w.dropQueued(protocol.TypeLook)
		}
	}
	w.mu.Lock()
	w.queue = append(w.queue, request{msg: msg, obj: obj})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// decodeRequest reads a message object with the protocol's decoder.
func decodeRequest(obj js.Value) (protocol.Message, error) {
	if obj.Type() != js.TypeObject {
		return nil, fmt.Errorf("a message is an object, not %s", obj.Type())
	}
	raw, err := jsutil.Call(js.Global().Get("JSON"), "stringify", obj)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeRequest([]byte(raw.String()))
}

// cancelRunning cancels the message being handled if its type is one of
// types.
func (w *worker) cancelRunning(types ...protocol.Type) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && slices.Contains(types, w.running) {
		w.cancel()
	}
}

// stopQueued marks the asks waiting their turn as stopped: each ends with
// done, stop "cancelled", when it comes up.
func (w *worker) stopQueued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.queue {
		if w.queue[i].msg.Type() == protocol.TypeAsk {
			w.queue[i].stopped = true
		}
	}
}

// dropQueued forgets the queued messages of type typ.
func (w *worker) dropQueued(typ protocol.Type) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = slices.DeleteFunc(w.queue, func(r request) bool { return r.msg.Type() == typ })
}

// next waits for the next queued message.
func (w *worker) next() request {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			msg := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return msg
		}
		w.mu.Unlock()
		<-w.wake
	}
}

// serve handles messages one at a time, forever.
func (w *worker) serve() {
	for {
		w.handle(w.next())
	}
}

// handle runs one message; a panic becomes an error message, so the worker
// stays usable whatever happens.
func (w *worker) handle(r request) {
	defer func() {
		if r := recover(); r != nil {
			w.post(errorMessage("Something went wrong inside the worker; please try again.", panicDetail(r)))
		}
	}()
	switch msg := r.msg.(type) {
	case *protocol.Load:
		w.load(msg)
	case *protocol.Ask:
		if r.stopped {
			w.stoppedAsk()
			return
		}
		w.ask(msg, r.obj.Get("image"))
	case *protocol.Look:
		w.look(msg, r.obj.Get("image"))
	case *protocol.Reset:
		w.reset()
	case *protocol.TilesRequest:
		w.tiles(msg, r.obj.Get("image"))
	}
}

// jobContext makes the context of the message of type typ being handled,
// which cancelRunning cancels. done must be called when the job ends.
func (w *worker) jobContext(typ protocol.Type) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.running, w.cancel = typ, cancel
	w.mu.Unlock()
	return ctx, func() {
		w.mu.Lock()
		w.running, w.cancel = "", nil
		w.mu.Unlock()
		cancel()
	}
}

// reset forgets the conversation.
func (w *worker) reset() {
	if w.chat != nil {
		w.chat.Close()
		w.chat = nil
	}
}

// post sends a message to the page.
func (w *worker) post(msg protocol.Message) { w.postWith(msg, nil) }

// postWith sends a message with fields JSON cannot carry (typed arrays).
func (w *worker) postWith(msg protocol.Message, extra map[string]any) {
	raw, err := protocol.Encode(msg)
	if err != nil {
		raw, _ = protocol.Encode(errorMessage("The worker could not write its reply.", err.Error()))
	}
	obj := js.Global().Get("JSON").Call("parse", string(raw))
	for k, v := range extra {
		obj.Set(k, v)
	}
	js.Global().Call("postMessage", obj)
}

// status tells the page what the worker is doing.
func (w *worker) status(text string) { w.post(&protocol.Status{Text: text}) }
