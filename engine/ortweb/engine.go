//go:build js && wasm

package ortweb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall/js"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/onnxedit"
)

// Engine runs sessions on onnxruntime-web. Its methods may be called from
// any goroutine; onnxruntime-web calls are made one at a time.
type Engine struct {
	opts    Options
	backend string
	threads int
	ort     js.Value

	// calls holds a token while onnxruntime-web creates a session or runs
	// one. A call abandoned because its context ended keeps the token until
	// it settles, so the next call never overlaps it.
	calls chan struct{}

	mu       sync.Mutex // guards the fields below
	sessions map[*Session]struct{}
	closed   bool
	closing  chan struct{} // closed by Close
	storing  []*storing    // downloads going into the cache
	stats    Stats
	gpu      gpuReader // WebGPU only
}

var _ engine.Engine = (*Engine)(nil)

var errClosed = errors.New("onnxruntime-web engine closed")

// New configures onnxruntime-web for opts.Backend. The global ort must be
// loaded. On WebGPU, navigator.gpu must exist; onnxruntime-web picks the
// adapter itself when the first session is created.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Backend != BackendWebGPU && opts.Backend != BackendWasm {
		return nil, fmt.Errorf("unknown backend %q (want %s or %s)", opts.Backend, BackendWebGPU, BackendWasm)
	}
	ort := js.Global().Get("ort")
	if ort.IsUndefined() || ort.Get("InferenceSession").IsUndefined() {
		return nil, errors.New("onnxruntime-web is not loaded (no global ort)")
	}
	if opts.Backend == BackendWebGPU && js.Global().Get("navigator").Get("gpu").IsUndefined() {
		return nil, errors.New("this browser has no WebGPU (navigator.gpu is missing)")
	}
	if opts.Cache == "" {
		opts.Cache = DefaultCache
	}
	threads := numThreads(opts.NumThreads)
	configureEnv(ort.Get("env"), opts, threads)
	return &Engine{
		opts:     opts,
		backend:  opts.Backend,
		threads:  threads,
		ort:      ort,
		calls:    make(chan struct{}, 1),
		sessions: map[*Session]struct{}{},
		closing:  make(chan struct{}),
	}, nil
}

// configureEnv sets onnxruntime-web's global WebAssembly options. They take
// effect when the first session of the page initialises the runtime.
func configureEnv(env js.Value, opts Options, threads int) {
	wasm := env.Get("wasm")
	wasm.Set("numThreads", threads)
	wasm.Set("proxy", false) // we already run in a worker
	if opts.WasmPaths != "" {
		wasm.Set("wasmPaths", opts.WasmPaths)
	}
}

// numThreads applies the automatic rule of Options.NumThreads.
func numThreads(n int) int {
	if n > 0 {
		return n
	}
	g := js.Global()
	if !g.Get("crossOriginIsolated").Truthy() {
		return 1 // no SharedArrayBuffer, so no threads
	}
	cores := g.Get("navigator").Get("hardwareConcurrency")
	if cores.Type() != js.TypeNumber || cores.Int() < 1 {
		return 1
	}
	return cores.Int()
}

// Name is the backend the sessions run on: "webgpu" or "wasm".
func (e *Engine) Name() string { return e.backend }

// SoftwareGPU reports sessions on a WebGPU adapter that computes on the
// processor (Options.SoftwareAdapter; engine.SoftwareGPU).
func (e *Engine) SoftwareGPU() bool { return e.backend == BackendWebGPU && e.opts.SoftwareAdapter }

// Start starts onnxruntime-web's runtime now, by creating and releasing a
// one-node session (engine.IdentityModel): the runtime's WebAssembly is
// fetched and compiled, its threads started and, on WebGPU, the device
// acquired, before the model's files are read, instead of when the first of
// them is in. A failure is returned but changes nothing: the first real
// session meets it again and reports it.
func (e *Engine) Start(ctx context.Context) error {
	if e.isClosed() {
		return errClosed
	}
	model := jsutil.TypedArray(engine.IdentityModel(engine.ONNXFloat32))
	h, err := e.createSession(ctx, modelBytes{model: model, external: js.Undefined()})
	if err != nil {
		return fmt.Errorf("start onnxruntime-web: %w", err)
	}
	h.Call("release")
	return nil
}

// Stored waits until every file the engine downloaded has gone into the
// cache, or failed to, and says whether all are there: sessions are created
// without waiting for it, so a model answers before it is stored. It fails
// when the engine is closed first.
func (e *Engine) Stored() (complete bool, err error) {
	e.mu.Lock()
	pending := slices.Clone(e.storing)
	e.mu.Unlock()
	complete = true
	for _, s := range pending {
		select {
		case <-s.done:
			complete = complete && s.ok
		case <-e.closing:
			return false, errClosed
		}
	}
	return complete, nil
}

// Threads is the number of WebAssembly threads asked of onnxruntime-web
// (used by the wasm backend, and by WebGPU for the nodes it leaves on the
// CPU). onnxruntime-web fixes it when the page's first session is created.
func (e *Engine) Threads() int { return e.threads }

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// LoadSession fetches the ONNX file at url (through the cache, reporting
// progress) and creates a session on the engine's backend. Every input and
// output must be a float32, float16, int64 or bool tensor. The caller must
// Release the session.
func (e *Engine) LoadSession(ctx context.Context, url string) (engine.Session, error) {
	return e.load(ctx, url, nil)
}

// LoadSessionEdited is LoadSession for the file rewritten by edit
// (engine.Edit). The edit reads the fetched file (a JavaScript array)
// through small copies, and the rewritten file is assembled in JavaScript
// memory, so a 539 MB decoder never enters Go's memory, which WebAssembly
// never gives back. The original stays in the cache, so a later change of
// rule needs no download; a failed edit loads the file as it is.
func (e *Engine) LoadSessionEdited(ctx context.Context, url string, edit engine.Edit) (engine.Session, error) {
	return e.load(ctx, url, edit)
}

func (e *Engine) load(ctx context.Context, url string, edit engine.Edit) (engine.Session, error) {
	if e.isClosed() {
		return nil, errClosed
	}
	name := path.Base(url)
	f, err := fetchFile(ctx, url, e.fetchOptions(name))
	if err != nil {
		return nil, err
	}
	e.countFetched(f)
	data := f.data
	if edit != nil {
		data = edited(f.data, edit)
	}
	h, err := e.createSession(ctx, externalized(data, name))
	if f.stored != nil {
		e.mu.Lock()
		e.storing = append(e.storing, f.stored)
		e.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("create session for %s: %w", name, err)
	}
	s, err := newSession(e, h, name)
	if err != nil {
		h.Call("release")
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if e.backend == BackendWebGPU {
		if err := e.gpu.init(ctx, e.ort); err != nil {
			s.Release()
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
	}
	e.mu.Lock()
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	return s, nil
}

func (e *Engine) fetchOptions(name string) FetchOptions {
	o := FetchOptions{Cache: e.opts.Cache}
	if e.opts.NoCache {
		o.Cache = ""
	}
	if e.opts.Progress != nil {
		o.Progress = func(loaded, total int64, cached bool) { e.opts.Progress(name, loaded, total, cached) }
	}
	return o
}

func (e *Engine) countFetched(f fetched) {
	n := int64(f.data.Get("byteLength").Int())
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.cached {
		e.stats.CachedBytes += n
	} else {
		e.stats.DownloadedBytes += n
	}
}

// edited is data (a Uint8Array) rewritten by edit; data itself when the edit
// fails or changes nothing. The rewritten file is assembled in place, in the
// slack readBody leaves after the file (editSlack), when the plan allows it
// (engine.Plan.InPlace); otherwise in a new Uint8Array, and the original is then
// held twice until it is collected. A computed piece that fails (see
// engine.Piece.FillAt) leaves data as it is.
func edited(data js.Value, edit engine.Edit) js.Value {
	size := int64(data.Get("byteLength").Int())
	plan, err := edit(arrayReader{data}, size)
	if err != nil || plan == nil {
		return data
	}
	capacity := int64(data.Get("buffer").Get("byteLength").Int() - data.Get("byteOffset").Int())
	overOriginal := plan.Size <= capacity && plan.InPlace()
	var out js.Value
	if overOriginal {
		out = js.Global().Get("Uint8Array").New(data.Get("buffer"), data.Get("byteOffset"), plan.Size)
	} else {
		out = js.Global().Get("Uint8Array").New(plan.Size)
	}
	plan.Each(overOriginal, func(pc engine.Piece, at int64) {
		if err == nil {
			err = writePiece(out, data, pc, at)
		}
	})
	if err != nil {
		return data
	}
	return out
}

// minExternal is the smallest initializer externalized hands to
// onnxruntime-web as external data: the weights; small constants stay in
// the model.
const minExternal = 64 << 10

// modelBytes is what a session is created from: an ONNX model and, when
// external is not undefined, the Uint8Array its initializers' external data
// named location refer to.
type modelBytes struct {
	model, external js.Value
	location        string
}

// externalized splits the ONNX file data (a Uint8Array) into a small model,
// assembled in a new array, whose weights refer to where they lie in data
// itself (onnxedit.PlanExternalData), and data as that model's external
// data: onnxruntime-web then copies each weight once, from data into its
// tensor, instead of copying the whole file into its heap, parsing it into
// a second copy and copying each weight a third time (peak memory: README,
// "What made us faster"). A file the plan cannot read, or with no large
// initializer, is handed over whole.
func externalized(data js.Value, name string) modelBytes {
	whole := modelBytes{model: data, external: js.Undefined()}
	size := int64(data.Get("byteLength").Int())
	location := name + ".weights"
	plan, err := onnxedit.PlanExternalData(arrayReader{data}, size, location, minExternal)
	if err != nil || plan.Unchanged() {
		return whole
	}
	model := js.Global().Get("Uint8Array").New(plan.Size)
	var at int64
	for _, pc := range plan.Pieces {
		if err := writePiece(model, data, engine.Piece{Off: pc.Off, Len: pc.Len, Data: pc.Data}, at); err != nil {
			return whole
		}
		at += pc.Len
	}
	return modelBytes{model: model, external: data, location: location}
}

// writePiece writes one piece of a plan at out[at:]; src is the original.
// out may be a view of src's own buffer (copyWithin moves within it).
func writePiece(out, src js.Value, pc engine.Piece, at int64) error {
	switch {
	case pc.Fill != nil:
		return pc.FillAt(func(chunk []byte, off int64) {
			js.CopyBytesToJS(out.Call("subarray", at+off, at+off+int64(len(chunk))), chunk)
		})
	case pc.Data != nil:
		js.CopyBytesToJS(out.Call("subarray", at, at+pc.Len), pc.Data)
	case out.Get("buffer").Equal(src.Get("buffer")):
		base := int64(src.Get("byteOffset").Int() - out.Get("byteOffset").Int())
		out.Call("copyWithin", at, base+pc.Off, base+pc.Off+pc.Len)
	default:
		out.Call("set", src.Call("subarray", pc.Off, pc.Off+pc.Len), at)
	}
	return nil
}

// arrayReader reads a Uint8Array as an io.ReaderAt, copying only what is
// asked.
type arrayReader struct{ a js.Value }

func (r arrayReader) ReadAt(p []byte, off int64) (int, error) {
	size := int64(r.a.Get("byteLength").Int())
	if off < 0 || off > size {
		return 0, fmt.Errorf("read at %d of a %d-byte file", off, size)
	}
	end := min(size, off+int64(len(p)))
	n := js.CopyBytesToGo(p, r.a.Call("subarray", off, end))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// createSession creates an InferenceSession from the model bytes.
func (e *Engine) createSession(ctx context.Context, model modelBytes) (js.Value, error) {
	opts, release := e.sessionOptions()
	defer release()
	if !model.external.IsUndefined() {
		opts["externalData"] = []any{map[string]any{"path": model.location, "data": model.external}}
	}
	create := e.ort.Get("InferenceSession")
	return e.call(ctx, func() (js.Value, error) {
		return jsutil.Call(create, "create", model.model, opts)
	}, func(late js.Value) { late.Call("release") })
}

// sessionOptions are the options of every session. On WebGPU, outputs named
// like the decoder's cache (present.*) and its logits stay in GPU buffers;
// the names are matched by a Proxy, since they are known only once the
// session exists. release frees the Proxy's callback after creation.
func (e *Engine) sessionOptions() (opts map[string]any, release func()) {
	opts = map[string]any{
		"executionProviders":     []any{e.backend},
		"graphOptimizationLevel": "all",
	}
	if e.backend != BackendWebGPU {
		return opts, func() {}
	}
	get := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 1 && args[1].Type() == js.TypeString && keepOnGPU(args[1].String()) {
			return "gpu-buffer"
		}
		return js.Undefined()
	})
	proxy := js.Global().Get("Proxy").New(js.Global().Get("Object").New(), map[string]any{"get": get})
	opts["preferredOutputLocation"] = proxy
	return opts, get.Release
}

// keepOnGPU says which outputs stay on the GPU: the decoder's key/value
// cache, which only feeds the next step, and its logits, of which only the
// last row is ever read.
func keepOnGPU(output string) bool {
	return output == "logits" || strings.HasPrefix(output, "present.")
}

// call runs start (which returns a promise) while holding the engine's call
// token, and awaits the promise. ctx is checked before starting. With a nil
// abandon, a started call runs to its end whatever ctx does: the generation
// loop stops between steps, and a step cut short would leave its caller's
// state half-updated. With abandon set, call returns ctx.Err() as soon as
// ctx ends; the late value goes to abandon and the token is freed when the
// promise settles, so the next call never overlaps it.
func (e *Engine) call(ctx context.Context, start func() (js.Value, error), abandon func(js.Value)) (js.Value, error) {
	select {
	case e.calls <- struct{}{}:
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		<-e.calls
		return js.Undefined(), err
	}
	p, err := start()
	if err != nil {
		<-e.calls
		return js.Undefined(), err
	}
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := jsutil.Await(context.Background(), p)
		<-e.calls
		done <- result{v, err}
	}()
	if abandon == nil {
		r := <-done
		return r.v, r.err
	}
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				abandon(r.v)
			}
		}()
		return js.Undefined(), ctx.Err()
	}
}

// NewTensor copies host data into a new CPU tensor, as engine.Engine
// documents: []float32 for Float32 or Float16 (converted), []uint16 half bits
// for Float16, []int64 for Int64, []bool for Bool.
func (e *Engine) NewTensor(dtype engine.DType, shape []int64, data any) (engine.Tensor, error) {
	if e.isClosed() {
		return nil, errClosed
	}
	return newHostTensor(e, dtype, shape, data)
}

// Close releases the sessions still open and the staging buffer. Tensors
// must still be released. Closing twice does nothing.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.closing)
	open := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		open = append(open, s)
	}
	e.mu.Unlock()
	for _, s := range open {
		s.Release()
	}
	e.gpu.close()
	return nil
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func (e *Engine) forget(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sessions, s)
}
