// Package protocol is the page ⇄ worker message protocol of wasm/PROTOCOL.md,
// in Go types: the page (app), the worker (wasm/worker) and the browser tests
// (wasm/browsertest) all build and read messages with it, so the three can
// never disagree on a field's name or meaning.
//
// A message is a plain JavaScript object with a "type" field. Encode writes
// one as JSON (the type included), which the sender turns into an object
// with JSON.parse before postMessage; the receiver serialises what it got
// with JSON.stringify and reads it with DecodeRequest or DecodeReply. Values
// JSON cannot carry (the picture Blob of an ask, the tiles' pixel arrays)
// travel beside the JSON, set on the object by the sender.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Type is a message's type field.
type Type string

// Types of the messages the page sends.
const (
	TypeLoad  Type = "load"
	TypeAsk   Type = "ask"
	TypeStop  Type = "stop"
	TypeReset Type = "reset"
	// TypeLook: a picture for the next question, read and run through
	// the vision encoder at once, while the person types.
	TypeLook Type = "look"
	// TypeTiles (debug): preprocess a picture only; the worker answers
	// with a message of the same type.
	TypeTiles Type = "tiles"
)

// Types of the messages the worker sends.
const (
	TypeReady    Type = "ready"
	TypeProgress Type = "progress"
	TypeLoaded   Type = "loaded"
	TypeStatus   Type = "status"
	TypeToken    Type = "token"
	TypeDone     Type = "done"
	TypeError    Type = "error"
	TypeLooked   Type = "looked"
	TypeStored   Type = "stored"
)

// Message is any message of the protocol.
type Message interface {
	// Type is the message's type field.
	Type() Type
}

// Device is where the worker runs the model.
type Device string

// The devices of a load message.
const (
	DeviceAuto   Device = "auto"   // WebGPU where the browser has an adapter, else WebAssembly
	DeviceWebGPU Device = "webgpu" // WebGPU, falling back to WebAssembly with a notice
	DeviceWasm   Device = "wasm"   // onnxruntime-web's WebAssembly backend (the CPU)
)

// Devices lists every device, automatic first.
var Devices = []Device{DeviceAuto, DeviceWebGPU, DeviceWasm}

// ParseDevice reads a device name; "" is DeviceAuto.
func ParseDevice(s string) (Device, error) {
	if s == "" {
		return DeviceAuto, nil
	}
	if d := Device(s); slices.Contains(Devices, d) {
		return d, nil
	}
	names := make([]string, len(Devices))
	for i, d := range Devices {
		names[i] = string(d)
	}
	return "", fmt.Errorf("unknown device %q (want %s)", s, strings.Join(names, ", "))
}

// StopReason is why an answer ended (done's stop field).
type StopReason string

// The stop reasons; they are generate.StopReason's values.
const (
	StopEOS       StopReason = "eos"            // the model ended its answer
	StopMaxTokens StopReason = "max_new_tokens" // maxNewTokens were written
	StopCancelled StopReason = "cancelled"      // a stop message
	// StopContextFull: the conversation filled max_position_embeddings.
	StopContextFull StopReason = "context_full"
)

// Encode writes m as a JSON object whose first field is its type.
func Encode(m Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s message: %w", m.Type(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("%s message is not an object", m.Type())
	}
	typ, _ := json.Marshal(m.Type())
	out := append([]byte(`{"type":`), typ...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// DecodeRequest reads a message the page sent.
func DecodeRequest(raw []byte) (Message, error) {
	return decode(raw, map[Type]func() Message{
		TypeLoad:  func() Message { return new(Load) },
		TypeAsk:   func() Message { return new(Ask) },
		TypeStop:  func() Message { return new(Stop) },
		TypeReset: func() Message { return new(Reset) },
		TypeLook:  func() Message { return new(Look) },
		TypeTiles: func() Message { return new(TilesRequest) },
	})
}

// DecodeReply reads a message the worker sent.
func DecodeReply(raw []byte) (Message, error) {
	return decode(raw, map[Type]func() Message{
		TypeReady:    func() Message { return new(Ready) },
		TypeProgress: func() Message { return new(Progress) },
		TypeLoaded:   func() Message { return new(Loaded) },
		TypeStatus:   func() Message { return new(Status) },
		TypeToken:    func() Message { return new(Token) },
		TypeDone:     func() Message { return new(Done) },
		TypeError:    func() Message { return new(Error) },
		TypeLooked:   func() Message { return new(Looked) },
		TypeStored:   func() Message { return new(Stored) },
		TypeTiles:    func() Message { return new(Tiles) },
	})
}

// ErrUnknownType is wrapped by the decoders for a type they do not know.
var ErrUnknownType = errors.New("unknown message type")

func decode(raw []byte, types map[Type]func() Message) (Message, error) {
	var head struct {
		Type *Type `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	if head.Type == nil {
		return nil, errors.New("message without a type")
	}
	newMsg, ok := types[*head.Type]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, *head.Type)
	}
	m := newMsg()
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("%s message: %w", *head.Type, err)
	}
	return m, nil
}
