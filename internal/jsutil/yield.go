//go:build js && wasm

package jsutil

import (
	"context"
	"syscall/js"
)

// Yield lets the JavaScript event loop run the tasks queued before it (an
// incoming message, say) before the calling goroutine goes on.
//
// Awaiting a promise is not enough: a promise that settles at once resolves
// in a microtask, and a loop of such awaits (onnxruntime-web's CPU runs)
// never lets a task such as a "stop" message in. Yield waits for a
// MessageChannel message, an ordinary task queued behind those already
// waiting. scheduler.yield() would not do: Chrome runs its continuations
// ahead of other tasks, so a message can still starve; setTimeout(0) is
// clamped to 4 ms once nested.
func Yield(ctx context.Context) error {
	ch := js.Global().Get("MessageChannel").New()
	done := make(chan struct{})
	var f js.Func
	f = js.FuncOf(func(js.Value, []js.Value) any {
		close(done)
		f.Release()
		ch.Get("port1").Call("close")
		return nil
	})
	ch.Get("port1").Set("onmessage", f)
	ch.Get("port2").Call("postMessage", nil)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
