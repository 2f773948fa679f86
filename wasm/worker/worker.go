//go:build js && wasm

package main

import (
	"context"
	"slices"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
)

// worker owns the model and the conversation. Messages are received on
// JavaScript's turn and handled one at a time by serve, in order; stop (and
// the messages that replace the conversation) cancel the running ask at
// once instead of waiting their turn.
type worker struct {
	mu    sync.Mutex
	queue []js.Value
	wake  chan struct{} // signalled when queue grows
	// running is the type of the message being handled ("" when idle) and
	// cancel cancels it.
	running string
	cancel  context.CancelFunc

	// Owned by serve's goroutine.
	model *loadedModel
	chat  *pipeline.Chat
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
	// visionRuns counts vision encoder runs since the load.
	visionRuns int
}

func newWorker() *worker {
	return &worker{wake: make(chan struct{}, 1)}
}

// receive is called on JavaScript's turn: it must not block.
func (w *worker) receive(msg js.Value) {
	if msg.Type() != js.TypeObject || msg.Get("type").Type() != js.TypeString {
		w.post(errorMessage("The worker received a message without a type.", ""))
		return
	}
	switch msg.Get("type").String() {
	case "stop":
		w.cancelRunning("ask")
		return
	case "reset":
		w.cancelRunning("ask") // the conversation is going away
	case "load":
		w.cancelRunning("ask", "load") // the model is being replaced
	}
	w.mu.Lock()
	w.queue = append(w.queue, msg)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// cancelRunning cancels the message being handled if its type is one of
// types.
func (w *worker) cancelRunning(types ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && slices.Contains(types, w.running) {
		w.cancel()
	}
}

// next waits for the next queued message.
func (w *worker) next() js.Value {
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
func (w *worker) handle(msg js.Value) {
	defer func() {
		if r := recover(); r != nil {
			w.post(errorMessage("Something went wrong inside the worker; please try again.", panicDetail(r)))
		}
	}()
	switch typ := msg.Get("type").String(); typ {
	case "load":
		w.load(msg)
	case "ask":
		w.ask(msg)
	case "reset":
		w.reset()
	case "tiles":
		w.tiles(msg)
	default:
		w.post(errorMessage("The worker does not know the message \""+typ+"\".", ""))
	}
}

// jobContext makes the context of the message of type typ being handled,
// which cancelRunning cancels. done must be called when the job ends.
func (w *worker) jobContext(typ string) (ctx context.Context, done func()) {
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
func (w *worker) post(msg map[string]any) {
	js.Global().Call("postMessage", msg)
}

// status tells the page what the worker is doing.
func (w *worker) status(text string) {
	w.post(map[string]any{"type": "status", "text": text})
}
