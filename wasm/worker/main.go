//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// earlyQueue is the global array where web/worker.js keeps the messages that
// arrive before this program runs.
const earlyQueue = "__smolvlmEarlyMessages"

func main() {
	w := newWorker()
	self := js.Global()
	early := self.Get(earlyQueue)
	// No message can arrive between these two statements: JavaScript runs
	// the handler only when Go yields, so the queue is drained in order and
	// nothing is lost.
	self.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		w.receive(args[0].Get("data"))
		return nil
	}))
	if early.Truthy() {
		for i := range early.Length() {
			w.receive(early.Index(i))
		}
		self.Delete(earlyQueue)
	}
	w.post(protocol.Ready{})
	w.serve() // never returns
}
