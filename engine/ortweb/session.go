//go:build js && wasm

package ortweb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
)

// Session is one InferenceSession of onnxruntime-web.
type Session struct {
	eng     *Engine
	name    string // file base name, for errors
	h       js.Value
	inputs  []engine.IOInfo
	outputs []engine.IOInfo
	// released is set by Release; Run then fails.
	released bool
}

var _ engine.Session = (*Session)(nil)

// newSession reads the inputs and outputs of a created session. On error the
// caller still owns h.
func newSession(e *Engine, h js.Value, name string) (*Session, error) {
	s := &Session{eng: e, name: name, h: h}
	var err error
	if s.inputs, err = ioInfos(h.Get("inputMetadata"), "input"); err != nil {
		return nil, err
	}
	if s.outputs, err = ioInfos(h.Get("outputMetadata"), "output"); err != nil {
		return nil, err
	}
	return s, nil
}

// ioInfos converts onnxruntime-web's value metadata ({name, isTensor, type,
// shape}) to engine.IOInfo; symbolic dimensions become -1.
func ioInfos(meta js.Value, kind string) ([]engine.IOInfo, error) {
	if meta.IsUndefined() {
		return nil, fmt.Errorf("onnxruntime-web gives no %s metadata (version before 1.22?)", kind)
	}
	infos := make([]engine.IOInfo, meta.Length())
	for i := range infos {
		m := meta.Index(i)
		name := m.Get("name").String()
		if !m.Get("isTensor").Bool() {
			return nil, fmt.Errorf("%s %q is not a tensor", kind, name)
		}
		dt, ok := dtypeOf(m.Get("type").String())
		if !ok {
			return nil, fmt.Errorf("%w: %s %q has element type %s", engine.ErrUnsupportedDType, kind, name, m.Get("type").String())
		}
		infos[i] = engine.IOInfo{Name: name, DType: dt, Shape: dims(m.Get("shape"))}
	}
	return infos, nil
}

// dims converts a metadata shape; a string (symbolic) dimension is -1.
func dims(shape js.Value) []int64 {
	if shape.IsUndefined() || shape.IsNull() {
		return nil
	}
	out := make([]int64, shape.Length())
	for i := range out {
		d := shape.Index(i)
		if d.Type() == js.TypeNumber {
			out[i] = int64(d.Int())
		} else {
			out[i] = -1
		}
	}
	return out
}

// Inputs describes the inputs; dynamic dimensions are -1.
func (s *Session) Inputs() []engine.IOInfo { return engine.CloneIOInfos(s.inputs) }

// Outputs describes the outputs; dynamic dimensions are -1.
func (s *Session) Outputs() []engine.IOInfo { return engine.CloneIOInfos(s.outputs) }

// Run evaluates the named outputs (all outputs when outputs is empty).
// inputs must hold exactly the session's inputs, each a live *Tensor of this
// package with the input's element type. The caller owns the outputs; on
// WebGPU, present.* and logits stay in GPU buffers. ctx is checked before
// the run starts; onnxruntime-web cannot interrupt a run, and Run waits for
// a started one, so a cancelled caller never sees half an update.
func (s *Session) Run(ctx context.Context, inputs map[string]engine.Tensor, outputs []string) (map[string]engine.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.fail(err)
	}
	if s.released {
		return nil, s.fail(errors.New("session released"))
	}
	feeds, err := s.feeds(inputs)
	if err != nil {
		return nil, s.fail(err)
	}
	names, err := s.outputNames(outputs)
	if err != nil {
		return nil, s.fail(err)
	}
	fetches := jsutil.Array(names)
	res, err := s.eng.call(ctx, func() (js.Value, error) {
		return jsutil.Call(s.h, "run", feeds, fetches)
	}, nil)
	if err != nil {
		return nil, s.fail(err)
	}
	return s.wrapOutputs(res, names)
}

// feeds checks the inputs and builds onnxruntime-web's feeds object.
func (s *Session) feeds(inputs map[string]engine.Tensor) (js.Value, error) {
	feeds := js.Global().Get("Object").New()
	for _, info := range s.inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return js.Value{}, fmt.Errorf("missing input %q", info.Name)
		}
		tt, ok := t.(*Tensor)
		if !ok {
			return js.Value{}, fmt.Errorf("input %q is a %T, not an onnxruntime-web tensor", info.Name, t)
		}
		if tt.v.IsUndefined() {
			return js.Value{}, fmt.Errorf("input %q: %w", info.Name, errReleased)
		}
		if tt.dtype != info.DType {
			return js.Value{}, fmt.Errorf("input %q is %s, the model wants %s", info.Name, tt.dtype, info.DType)
		}
		feeds.Set(info.Name, tt.v)
	}
	if len(inputs) != len(s.inputs) {
		for _, name := range slices.Sorted(maps.Keys(inputs)) {
			if _, ok := engine.Find(s.inputs, name); !ok {
				return js.Value{}, fmt.Errorf("unknown input %q", name)
			}
		}
	}
	return feeds, nil
}

// outputNames checks the requested outputs; none means all.
func (s *Session) outputNames(outputs []string) ([]string, error) {
	if len(outputs) == 0 {
		names := make([]string, len(s.outputs))
		for i, o := range s.outputs {
			names[i] = o.Name
		}
		return names, nil
	}
	for i, name := range outputs {
		if _, ok := engine.Find(s.outputs, name); !ok {
			return nil, fmt.Errorf("unknown output %q", name)
		}
		if slices.Contains(outputs[:i], name) {
			return nil, fmt.Errorf("output %q requested twice", name)
		}
	}
	return slices.Clone(outputs), nil
}

// wrapOutputs turns the run's result object into Tensors, releasing all of
// them on error.
func (s *Session) wrapOutputs(res js.Value, names []string) (map[string]engine.Tensor, error) {
	out := make(map[string]engine.Tensor, len(names))
	for _, name := range names {
		v := res.Get(name)
		t, err := wrapOutput(s.eng, v)
		if err != nil {
			disposeAll(res, names)
			return nil, s.fail(fmt.Errorf("output %q: %w", name, err))
		}
		out[name] = t
	}
	return out, nil
}

// disposeAll frees the named tensors of a run result.
func disposeAll(res js.Value, names []string) {
	for _, name := range names {
		if v := res.Get(name); v.Truthy() {
			v.Call("dispose")
		}
	}
}

// Release frees the session once the engine's call in flight, if any, has
// ended; later calls do nothing.
func (s *Session) Release() {
	if s.released {
		return
	}
	s.released = true
	s.eng.forget(s)
	h := s.h
	s.eng.call(context.Background(), func() (js.Value, error) {
		return jsutil.Call(h, "release")
	}, nil)
}

// fail prefixes a Run error with the model file's name.
func (s *Session) fail(err error) error {
	return fmt.Errorf("run %s: %w", s.name, err)
}
