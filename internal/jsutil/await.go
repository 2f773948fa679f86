//go:build js && wasm

package jsutil

import (
	"context"
	"fmt"
	"syscall/js"
)

// Error is a JavaScript exception or promise rejection seen from Go.
type Error struct {
	Name    string // the error's name, e.g. "TypeError", "QuotaExceededError"; "" if not an Error
	Message string
}

func (e *Error) Error() string {
	if e.Name == "" || e.Name == "Error" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// ErrorOf converts a rejection reason or thrown value to an *Error: the
// message of an Error object, or the value's string form otherwise.
func ErrorOf(reason js.Value) *Error {
	if reason.Type() == js.TypeObject && reason.Get("message").Type() == js.TypeString {
		name := ""
		if n := reason.Get("name"); n.Type() == js.TypeString {
			name = n.String()
		}
		return &Error{Name: name, Message: reason.Get("message").String()}
	}
	if reason.Type() == js.TypeString {
		return &Error{Message: reason.String()}
	}
	return &Error{Message: js.Global().Call("String", reason).String()}
}

type settled struct {
	value js.Value
	err   error
}

// Await waits for promise (or any thenable or plain value) to settle and
// returns its value, or the rejection as an *Error. It returns ctx.Err() as
// soon as ctx is done; the promise still runs to its end, and its callbacks
// are released when it settles.
//
// Await blocks the calling goroutine, so it must not be called from inside a
// js.FuncOf callback: the promise could only settle once that callback has
// returned. Start a goroutine there instead.
func Await(ctx context.Context, promise js.Value) (js.Value, error) {
	done := make(chan settled, 1) // buffered: the callbacks never block
	var onResolve, onReject js.Func
	release := func() {
		onResolve.Release()
		onReject.Release()
	}
	onResolve = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{value: arg0(args)}
		release()
		return nil
	})
	onReject = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{err: ErrorOf(arg0(args))}
		release()
		return nil
	})
	js.Global().Get("Promise").Call("resolve", promise).Call("then", onResolve, onReject)
	select {
	case r := <-done:
		return r.value, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// Call calls v's method name and converts a thrown exception into an *Error
// instead of a panic.
func Call(v js.Value, name string, args ...any) (result js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(r)
		}
	}()
	return v.Call(name, args...), nil
}

// New calls constructor with new and converts a thrown exception into an
// *Error instead of a panic.
func New(constructor js.Value, args ...any) (result js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(r)
		}
	}()
	return constructor.New(args...), nil
}

// recovered turns what syscall/js panics with into an error.
func recovered(r any) error {
	switch e := r.(type) {
	case js.Error:
		return ErrorOf(e.Value)
	case error:
		return e
	}
	return &Error{Message: fmt.Sprint(r)}
}
