//go:build cgo && !js && !windows

package ortnative

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pocketvlm/smolvlm/engine"
)

// Engine runs ONNX sessions on onnxruntime's CPU or WebGPU execution
// provider. Its methods are safe for concurrent use.
type Engine struct {
	opts    Options
	cfg     sessionConfig
	libPath string
	// software: the WebGPU adapter computes on the processor (softwareGPU).
	software bool
	// devMem is the WebGPU EP's buffer memory and cpuMem host memory, for
	// binding outputs (nil on the CPU, or with Options.CacheOnHost).
	devMem, cpuMem memInfoHandle

	// mu guards env: loads and tensor creation share it, Close takes it
	// alone, so a slow load never blocks NewTensor.
	mu  sync.RWMutex
	env envHandle // nil once closed

	smu      sync.Mutex // guards sessions
	sessions map[*Session]struct{}

	// createMu makes sessions on the WebGPU execution provider one at a
	// time: they share one device, whose command encoder is not safe for
	// concurrent use (on an H200, concurrent creation failed with "Command
	// encoding already finished" and wrong results, or crashed).
	createMu sync.Mutex
}

var _ engine.Engine = (*Engine)(nil)

// errClosed reports use of a closed engine.
var errClosed = errors.New("onnxruntime engine closed")

// New opens the onnxruntime library (see Options.LibraryPath) and creates an
// environment. The caller must Close the engine.
func New(opts Options) (*Engine, error) {
	if opts.IntraOpThreads < 0 {
		return nil, fmt.Errorf("IntraOpThreads %d is negative", opts.IntraOpThreads)
	}
	cfg := sessionConfig{threads: opts.IntraOpThreads}
	switch opts.Device {
	case "", DeviceCPU:
		opts.Device = DeviceCPU
	case DeviceWebGPU:
		cfg.ep = webgpuEP
	default:
		return nil, fmt.Errorf("device %q: want %s or %s", opts.Device, DeviceCPU, DeviceWebGPU)
	}
	path, err := FindLibrary(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	if err := loadLibrary(path); err != nil {
		return nil, err
	}
	env, err := createEnv()
	if err != nil {
		return nil, fmt.Errorf("create onnxruntime environment: %w", err)
	}
	e := &Engine{opts: opts, cfg: cfg, libPath: path, env: env, sessions: map[*Session]struct{}{},
		software: cfg.ep != "" && softwareGPU(env, os.Getenv)}
	if cfg.ep != "" {
		if err := e.probe(); err != nil {
			releaseEnv(env)
			return nil, err
		}
		if !opts.CacheOnHost {
			if err := e.bindMemory(); err != nil {
				e.Close()
				return nil, err
			}
		}
	}
	return e, nil
}

// Name says which backend this is: onnxruntime-cpu or onnxruntime-webgpu.
func (e *Engine) Name() string { return "onnxruntime-" + e.opts.Device }

// SoftwareGPU reports a WebGPU engine whose adapter computes on the
// processor (engine.SoftwareGPU; see softwareGPU).
func (e *Engine) SoftwareGPU() bool { return e.software }

// Device is the device sessions run on, DeviceCPU or DeviceWebGPU.
func (e *Engine) Device() string { return e.opts.Device }

// Version is the loaded onnxruntime's version, e.g. "1.30.0".
func (e *Engine) Version() string { return libraryVersion() }

// LibraryPath is the shared library the engine opened.
func (e *Engine) LibraryPath() string { return e.libPath }

// LoadSession loads the ONNX file at path (a file path). Every input and
// output must be a float, float16, int64 or bool tensor; otherwise it fails
// naming the first one that is not. The caller must Release the session.
func (e *Engine) LoadSession(ctx context.Context, path string) (engine.Session, error) {
	return e.load(ctx, path, func() (sessionHandle, error) {
		return createSession(e.env, path, e.sessionConfig(path))
	})
}

// LoadSessionBytes is LoadSession for a model already in memory (for
// example rewritten by package onnxedit); name only labels errors.
func (e *Engine) LoadSessionBytes(ctx context.Context, name string, data []byte) (engine.Session, error) {
	return e.load(ctx, name, func() (sessionHandle, error) {
		return createSessionFromBytes(e.env, data, e.sessionConfig(name))
	})
}

// sessionConfig is the configuration of the session of the file called name.
func (e *Engine) sessionConfig(name string) sessionConfig {
	cfg := e.cfg
	if e.opts.OptimizedGraphs != "" && name != "" {
		cfg.optimized = filepath.Join(e.opts.OptimizedGraphs, filepath.Base(name))
	}
	return cfg
}

// LoadSessionEdited loads the ONNX file at path rewritten by edit
// (engine.Edit): the file is read once, through the edit's plan, into the
// rewritten bytes. A failed edit loads the file as it is.
func (e *Engine) LoadSessionEdited(ctx context.Context, path string, edit engine.Edit) (engine.Session, error) {
	data, err := editedFile(path, edit)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if data == nil {
		return e.LoadSession(ctx, path)
	}
	return e.LoadSessionBytes(ctx, path, data)
}

// editedFile is the file at path rewritten by edit, or nil when the edit
// failed or changes nothing.
func editedFile(path string, edit engine.Edit) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	plan, err := edit(f, info.Size())
	if err != nil || plan == nil {
		return nil, nil
	}
	out := make([]byte, plan.Size)
	plan.Each(false, func(pc engine.Piece, at int64) {
		switch {
		case err != nil:
		case pc.Fill != nil:
			err = pc.FillAt(func(chunk []byte, off int64) { copy(out[at+off:], chunk) })
		case pc.Data != nil:
			copy(out[at:], pc.Data)
		default:
			_, err = f.ReadAt(out[at:at+pc.Len], pc.Off)
		}
	})
	return out, err
}

func (e *Engine) load(ctx context.Context, name string, create func() (sessionHandle, error)) (engine.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.env == nil {
		return nil, errClosed
	}
	if e.cfg.ep != "" {
		e.createMu.Lock()
	}
	h, err := create()
	if e.cfg.ep != "" {
		e.createMu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	s, err := newSession(e, h, name)
	if err != nil {
		releaseSession(h)
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	e.smu.Lock()
	e.sessions[s] = struct{}{}
	e.smu.Unlock()
	return s, nil
}

// NewTensor copies host data into a new tensor, as engine.Engine documents:
// []float32 for Float32 or Float16 (converted), []uint16 half bits for
// Float16, []int64 for Int64, []bool for Bool. The result is a *Tensor.
func (e *Engine) NewTensor(dtype engine.DType, shape []int64, data any) (engine.Tensor, error) {
	if e.closed() {
		return nil, errClosed
	}
	return newHostTensor(dtype, shape, data)
}

// Close releases the sessions still open and the environment. Tensors stay
// readable and must still be released. Closing twice does nothing.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.env == nil {
		return nil
	}
	e.smu.Lock()
	for s := range e.sessions {
		s.release()
	}
	e.sessions = nil
	e.smu.Unlock()
	releaseEnv(e.env)
	e.env = nil
	for _, m := range []memInfoHandle{e.devMem, e.cpuMem} {
		if m != nil {
			releaseMemInfo(m)
		}
	}
	e.devMem, e.cpuMem = nil, nil
	return nil
}

func (e *Engine) closed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.env == nil
}

// forget drops a released session from the engine's set.
func (e *Engine) forget(s *Session) {
	e.smu.Lock()
	defer e.smu.Unlock()
	delete(e.sessions, s)
}
