//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"

	"github.com/pocketvlm/smolvlm/engine"
)

// Session is one loaded ONNX model. Run may be called concurrently;
// Release waits for runs in flight.
type Session struct {
	eng      *Engine
	name     string // file base name, for errors
	inputs   []engine.IOInfo
	outputs  []engine.IOInfo
	inNames  []cString // C copies of the names, aligned with inputs
	outNames []cString // and with outputs

	mu sync.RWMutex
	h  sessionHandle // nil once released
}

var _ engine.Session = (*Session)(nil)

// newSession reads the I/O of a freshly created session. On error the caller
// still owns h.
func newSession(e *Engine, h sessionHandle, path string) (*Session, error) {
	s := &Session{eng: e, name: filepath.Base(path), h: h}
	var err error
	if s.inputs, err = ioInfos(h, false); err != nil {
		return nil, err
	}
	if s.outputs, err = ioInfos(h, true); err != nil {
		return nil, err
	}
	s.inNames = cNames(s.inputs)
	s.outNames = cNames(s.outputs)
	return s, nil
}

// ioInfos converts a session's inputs or outputs to engine.IOInfo, failing
// on the first that is not a tensor of a supported element type.
func ioInfos(h sessionHandle, output bool) ([]engine.IOInfo, error) {
	kind := "input"
	if output {
		kind = "output"
	}
	descs, err := sessionIO(h, output)
	if err != nil {
		return nil, fmt.Errorf("read %ss: %w", kind, err)
	}
	infos := make([]engine.IOInfo, len(descs))
	for i, d := range descs {
		if d.onnxType != onnxTensor {
			return nil, fmt.Errorf("%s %q is not a tensor (ONNX type %d)", kind, d.name, d.onnxType)
		}
		dt, ok := dtypeOf(d.elem)
		if !ok {
			return nil, fmt.Errorf("%w: %s %q has element type %s", engine.ErrUnsupportedDType, kind, d.name, elemName(d.elem))
		}
		infos[i] = engine.IOInfo{Name: d.name, DType: dt, Shape: d.dims}
	}
	return infos, nil
}

func cNames(infos []engine.IOInfo) []cString {
	names := make([]cString, len(infos))
	for i, in := range infos {
		names[i] = newCString(in.Name)
	}
	return names
}

// Inputs describes the inputs; dynamic dimensions are -1.
func (s *Session) Inputs() []engine.IOInfo { return engine.CloneIOInfos(s.inputs) }

// Outputs describes the outputs; dynamic dimensions are -1.
func (s *Session) Outputs() []engine.IOInfo { return engine.CloneIOInfos(s.outputs) }

// Run evaluates the named outputs (all outputs when outputs is empty).
// inputs must hold exactly the session's inputs, each a live *Tensor of this
// package with the input's element type; shapes are checked by onnxruntime.
// onnxruntime allocates the outputs, whose shapes need not be known; the
// caller owns them. Run fails at once if ctx is done, and a cancellation
// during the run stops it at onnxruntime's next check.
func (s *Session) Run(ctx context.Context, inputs map[string]engine.Tensor, outputs []string) (map[string]engine.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.fail(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.h == nil {
		return nil, s.fail(errors.New("session released"))
	}
	vals, err := s.bindInputs(inputs)
	if err != nil {
		return nil, s.fail(err)
	}
	idx, err := s.outputIndices(outputs)
	if err != nil {
		return nil, s.fail(err)
	}
	names := make([]cString, len(idx))
	for i, j := range idx {
		names[i] = s.outNames[j]
	}
	mem, onDevice := s.outputMemory(idx)
	res, err := runContext(ctx, func(ro runOptsHandle) ([]valueHandle, error) {
		if mem == nil {
			return runSession(s.h, ro, s.inNames, vals, names)
		}
		return runSessionBound(s.h, ro, s.inNames, vals, names, mem)
	})
	if err != nil {
		return nil, s.fail(err)
	}
	return s.wrapOutputs(idx, res, onDevice)
}

// outputMemory says where each requested output goes when some stay on the
// device: mem[i] for the IO binding and onDevice[i]. Both are nil when all go
// to the host, as a plain run returns them.
func (s *Session) outputMemory(idx []int) (mem []memInfoHandle, onDevice []bool) {
	if s.eng.devMem == nil || !slices.ContainsFunc(idx, func(j int) bool { return keepOnDevice(s.outputs[j].Name) }) {
		return nil, nil
	}
	mem = make([]memInfoHandle, len(idx))
	onDevice = make([]bool, len(idx))
	for i, j := range idx {
		mem[i] = s.eng.cpuMem
		if keepOnDevice(s.outputs[j].Name) {
			mem[i], onDevice[i] = s.eng.devMem, true
		}
	}
	return mem, onDevice
}

// bindInputs orders the input values as the session lists its inputs.
func (s *Session) bindInputs(inputs map[string]engine.Tensor) ([]valueHandle, error) {
	vals := make([]valueHandle, len(s.inputs))
	for i, info := range s.inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, fmt.Errorf("missing input %q", info.Name)
		}
		tt, ok := t.(*Tensor)
		if !ok {
			return nil, fmt.Errorf("input %q is a %T, not an onnxruntime tensor", info.Name, t)
		}
		if tt.v == nil {
			return nil, fmt.Errorf("input %q: %w", info.Name, errReleased)
		}
		if tt.dtype != info.DType {
			return nil, fmt.Errorf("input %q is %s, the model wants %s", info.Name, tt.dtype, info.DType)
		}
		vals[i] = tt.v
	}
	if len(inputs) != len(s.inputs) {
		for _, name := range slices.Sorted(maps.Keys(inputs)) {
			if _, ok := engine.Find(s.inputs, name); !ok {
				return nil, fmt.Errorf("unknown input %q", name)
			}
		}
	}
	return vals, nil
}

// outputIndices maps requested output names to indices into s.outputs.
func (s *Session) outputIndices(outputs []string) ([]int, error) {
	if len(outputs) == 0 {
		idx := make([]int, len(s.outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	idx := make([]int, len(outputs))
	for i, name := range outputs {
		j := slices.IndexFunc(s.outputs, func(o engine.IOInfo) bool { return o.Name == name })
		if j < 0 {
			return nil, fmt.Errorf("unknown output %q", name)
		}
		if slices.Contains(outputs[:i], name) {
			return nil, fmt.Errorf("output %q requested twice", name)
		}
		idx[i] = j
	}
	return idx, nil
}

// runContext calls run, wiring ctx's cancellation to onnxruntime's
// terminate flag through the run options it passes (nil when ctx cannot be
// cancelled).
func runContext(ctx context.Context, run func(runOptsHandle) ([]valueHandle, error)) ([]valueHandle, error) {
	if ctx.Done() == nil {
		return run(nil)
	}
	ro, err := createRunOptions()
	if err != nil {
		return nil, err
	}
	defer releaseRunOptions(ro)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		terminateRun(ro)
		close(fired)
	})
	res, err := run(ro)
	if !stop() {
		<-fired // the terminate call must end before ro is freed
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return res, err
}

// wrapOutputs turns the values onnxruntime allocated into Tensors, releasing
// all of them on error. onDevice[i], if given, marks res[i] as device memory.
func (s *Session) wrapOutputs(idx []int, res []valueHandle, onDevice []bool) (map[string]engine.Tensor, error) {
	out := make(map[string]engine.Tensor, len(res))
	for i, v := range res {
		name := s.outputs[idx[i]].Name
		t, err := wrapValue(v, onDevice != nil && onDevice[i])
		if err != nil {
			for _, rest := range res[i+1:] {
				releaseValue(rest)
			}
			for _, done := range out {
				done.Release()
			}
			return nil, s.fail(fmt.Errorf("output %q: %w", name, err))
		}
		out[name] = t
	}
	return out, nil
}

// Release frees the session once runs in flight end; later calls do nothing.
func (s *Session) Release() {
	s.release()
	s.eng.forget(s)
}

// release frees the session's onnxruntime objects; the engine calls it
// directly while closing.
func (s *Session) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return
	}
	releaseSession(s.h)
	s.h = nil
	for _, n := range slices.Concat(s.inNames, s.outNames) {
		freeCString(n)
	}
	s.inNames, s.outNames = nil, nil
}

// fail prefixes a Run error with the model file's name.
func (s *Session) fail(err error) error {
	return fmt.Errorf("run %s: %w", s.name, err)
}
