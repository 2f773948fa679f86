//go:build js && wasm

package jsutil

import (
	"fmt"
	"syscall/js"
	"unsafe"
)

// Elem is an element type that has a JavaScript typed array of the same
// memory layout (wasm is little-endian, as typed arrays are on every
// platform browsers run on). bool is one byte, 0 or 1, as onnxruntime-web's
// 'bool' tensors store it in a Uint8Array.
type Elem interface {
	float32 | uint16 | int64 | uint8 | bool
}

// ByteView views s's memory as bytes, without copying.
func ByteView[T Elem](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// typedArrayName is the typed array holding T.
func typedArrayName[T Elem]() string {
	var zero T
	switch any(zero).(type) {
	case float32:
		return "Float32Array"
	case uint16:
		return "Uint16Array"
	case int64:
		return "BigInt64Array"
	}
	return "Uint8Array"
}

// TypedArray copies s into a new JavaScript typed array with one bulk copy:
// Float32Array for float32, Uint16Array for uint16 (raw half-float bits),
// BigInt64Array for int64, Uint8Array for uint8 and bool.
func TypedArray[T Elem](s []T) js.Value {
	raw := ByteView(s)
	u8 := js.Global().Get("Uint8Array").New(len(raw))
	js.CopyBytesToJS(u8, raw)
	name := typedArrayName[T]()
	if name == "Uint8Array" {
		return u8
	}
	return js.Global().Get(name).New(u8.Get("buffer"))
}

// Bytes is a Uint8Array view of the memory of any typed array, DataView or
// ArrayBuffer v, without copying.
func Bytes(v js.Value) js.Value {
	u8 := js.Global().Get("Uint8Array")
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		return u8.New(v)
	}
	return u8.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
}

// CopyToGo copies the bytes of src (any typed array, DataView or
// ArrayBuffer) into dst with one bulk copy. The byte lengths must be equal.
func CopyToGo[T Elem](dst []T, src js.Value) error {
	view := Bytes(src)
	raw := ByteView(dst)
	if n := view.Get("byteLength").Int(); n != len(raw) {
		return fmt.Errorf("copy %d JavaScript bytes into %d Go bytes", n, len(raw))
	}
	if len(raw) > 0 {
		js.CopyBytesToGo(raw, view)
	}
	return nil
}

// GoBytes copies the bytes of src (any typed array, DataView or ArrayBuffer)
// into a new Go slice.
func GoBytes(src js.Value) []byte {
	view := Bytes(src)
	out := make([]byte, view.Get("byteLength").Int())
	if len(out) > 0 {
		js.CopyBytesToGo(out, view)
	}
	return out
}

// Array converts a Go slice to a JavaScript array of plain values.
func Array[T any](s []T) js.Value {
	arr := make([]any, len(s))
	for i, v := range s {
		arr[i] = v
	}
	return js.ValueOf(arr)
}
