//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/pocketvlm/smolvlm/engine"
	"github.com/pocketvlm/smolvlm/engine/ortweb"
	"github.com/pocketvlm/smolvlm/internal/jsutil"
	"github.com/pocketvlm/smolvlm/modelconfig"
	"github.com/pocketvlm/smolvlm/pipeline"
	"github.com/pocketvlm/smolvlm/wasm/protocol"
)

// progressInterval spaces progress messages of one file; the first and the
// last are always sent.
const progressInterval = 100 * time.Millisecond

// load replaces the model: it chooses the backend and dtypes, reads the
// configuration and loads the three sessions.
//
// Only a newer load cancels a load, and a cancelled load ends without a
// word: the newer one answers for both. Its replies carry the message's
// loadId, so a page can drop what a replaced load said before it stopped.
func (w *worker) load(req *protocol.Load) {
	ctx, done := w.jobContext(protocol.TypeLoad)
	defer done()
	w.unload()
	m, notice, err := w.loadModel(ctx, req)
	if ctx.Err() != nil {
		if m != nil {
			w.model = m
			w.unload() // the newer load replaces it anyway
		}
		return
	}
	if err != nil {
		fail := errorMessage(sentence(err, "The model could not be loaded."), err.Error())
		fail.LoadID = req.LoadID
		w.post(fail)
		w.postSettled(req.LoadID)
		return
	}
	w.model = m
	defer w.postStored(m, req.LoadID)
	stats := m.eng.Stats()
	w.post(&protocol.Loaded{
		LoadID:          req.LoadID,
		Backend:         protocol.Device(m.eng.Name()),
		DType:           m.variants,
		Notice:          notice,
		Model:           m.url,
		Tiny:            m.tiny,
		DownloadedBytes: stats.DownloadedBytes,
		CachedBytes:     stats.CachedBytes,
		Threads:         m.eng.Threads(),
		LastTokenLogits: lastTokenLogits(m.pipe),
		Dequantized:     m.pipe.Dequantized(),
		DequantizedTo:   m.pipe.DequantizedTo(),
		Variants:        protocol.AvailableOf(m.available),
		Defaults:        protocol.DefaultsOf(m.pipe.Config),
	})
}

// postStored tells the page, once the files m's engine downloaded are in
// the cache (protocol.Stored), unless a newer load closed the engine first;
// complete counts the small files read while loading too. It also waits for
// the writes of a load this one replaced.
func (w *worker) postStored(m *loadedModel, loadID int) {
	go func() {
		complete, err := m.eng.Stored()
		if err == nil {
			err = ortweb.WritesSettled(context.Background())
		}
		if err == nil {
			w.post(&protocol.Stored{LoadID: loadID, Complete: complete && m.configKept})
		}
	}()
}

// postSettled follows a failed load with protocol.Stored, not complete, once
// the files it began to put into the cache have gone in or failed to, so
// that the page holds a delete back until then.
func (w *worker) postSettled(loadID int) {
	go func() {
		if ortweb.WritesSettled(context.Background()) == nil {
			w.post(&protocol.Stored{LoadID: loadID})
		}
	}()
}

// lastTokenLogits says whether the loaded decoder computes logits for the
// last position only (pipeline.Pipeline's edit rewrote it so).
func lastTokenLogits(p *pipeline.Pipeline) bool {
	info, ok := engine.Find(p.Model.Decoder.Outputs(), "logits")
	return ok && len(info.Shape) == 3 && info.Shape[1] == 1
}

// unload releases the conversation, the looked-at picture, the sessions
// and the engine.
func (w *worker) unload() {
	w.reset()
	w.looked = nil
	if w.model != nil {
		w.model.pipe.Close()
		w.model.eng.Close()
		w.model = nil
	}
}

func (w *worker) loadModel(ctx context.Context, load *protocol.Load) (*loadedModel, string, error) {
	url, err := modelURL(load)
	if err != nil {
		return nil, "", err
	}
	req := load.DType
	w.status("Checking the graphics adapter")
	gpu := probeGPU(ctx, load.Device)
	backend, notice, err := chooseBackend(load.Device, gpu)
	if err != nil {
		return nil, "", plain("The requested device is not valid; use auto, webgpu or wasm.", err)
	}
	w.status("Reading the model's configuration")
	// The folder's small files are asked for all at once.
	var configLost atomic.Bool // a small file could not be kept in the cache
	src := modelconfig.URL{Base: url, Fetch: configFetcher(ctx, &configLost)}.Prefetch(
		append(modelconfig.ConfigFiles(), modelconfig.TokenizerFile, modelconfig.ListingFile)...)
	pipe, err := pipeline.OpenConfig(src)
	if err != nil {
		return nil, "", plain("The model's configuration could not be read.", err)
	}
	avail := availableVariants(ctx, src, req.Vision == "" || req.Embed == "" || req.Decoder == "")
	variants, backend, moved, err := chooseVariants(req, backend, gpu, pipe.Config, avail)
	if err != nil {
		return nil, "", plain("The requested model precision is not valid.", err)
	}
	if moved != "" {
		// Moved from WebGPU to WebAssembly after all: what chooseBackend
		// said of WebGPU (a software adapter) no longer applies.
		notice = moved
	}
	eng, err := ortweb.New(ctx, ortweb.Options{
		Backend:         string(backend),
		NumThreads:      load.Threads,
		Progress:        w.progressPoster(load.LoadID),
		WasmPaths:       ortFolder(),
		SoftwareAdapter: gpu.Software,
	})
	if err != nil {
		return nil, "", plain("The model runtime could not start.", err)
	}
	// The runtime starts before the model's files are read: 0.3–0.4 s alone,
	// where beside the reads it took 4 s (its steps wait for the worker's
	// thread, which the reads keep busy), and a load from the cache took
	// 8.1–8.7 s instead of 4.8–5.3 (bench, ours@load=cached). A failure is
	// met again, and reported, by the first session.
	_ = eng.Start(ctx)
	// tokenizer.json is read and parsed while the model's files download;
	// a tokenizer that fails stops the load at once.
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	tokenized := make(chan error, 1)
	go func() {
		err := loadTokenizer(pipe)
		if err != nil {
			stopLoad()
		}
		tokenized <- err
	}()
	w.status("Loading the model")
	pipe.Dequantize = chooseDequantize(load, backend, probeHost())
	pipe.OneAtATime = load.OneAtATime
	pipe.Int8MatMul = load.Int8MatMul
	pipe.RepeatKV = load.RepeatKV
	loadErr := pipe.LoadModel(loadCtx, eng, variants)
	if loadErr != nil && ctx.Err() != nil { // a newer load: no need to wait for the tokenizer
		eng.Close()
		return nil, "", loadErr
	}
	if err := <-tokenized; err != nil {
		if loadErr == nil {
			pipe.Close()
		}
		eng.Close()
		return nil, "", plain("The model's configuration could not be read.", err)
	}
	if loadErr != nil {
		eng.Close()
		return nil, "", plain(loadSentence(loadErr), loadErr)
	}
	// The first question should not pay for shader compilation: on WebGPU
	// every session runs once now. On WebAssembly there is nothing to
	// compile, and a warm-up bought no time to first token (bench: 4,987 ms
	// without, 5,010 ms with, 0.6 s more load), so it is skipped there; on a
	// software adapter too, where the run is all arithmetic (on SwiftShader a
	// whole vision run, ≈190 s at full size) and compiles little.
	warmUp := !gpu.Software
	if load.WarmUp != nil {
		warmUp = *load.WarmUp
	}
	if backend == protocol.DeviceWebGPU && warmUp {
		w.status("Preparing the model")
		if err := pipe.WarmUp(ctx, true); err != nil {
			pipe.Close()
			eng.Close()
			return nil, "", plain("The model could not be prepared.", err)
		}
	}
	m := &loadedModel{url: url, eng: eng, pipe: pipe, variants: variants, available: avail, tiny: pipe.Config.RandomWeights,
		configKept: !configLost.Load()}
	return m, notice, nil
}

// loadSentence explains a failed session load.
func loadSentence(err error) string {
	if s := sentence(err, ""); s != "" {
		return s
	}
	return "The model files could not be loaded."
}

// modelURL resolves the load message's model folder: an absolute URL, or
// one relative to the message's base (the page's URL) or, without a base, to
// the site's root.
func modelURL(load *protocol.Load) (string, error) {
	if load.Model == "" {
		return "", plain("No model folder was given.", fmt.Errorf("load without model"))
	}
	base := load.Base
	if base == "" {
		base = js.Global().Get("location").Get("origin").String() + "/"
	}
	u, err := jsutil.New(js.Global().Get("URL"), load.Model, base)
	if err != nil {
		return "", plain("The model address is not valid.", err)
	}
	return u.Get("href").String(), nil
}

// ortFolder is the URL of onnxruntime-web's files: web/ort/ next to this
// worker's script.
func ortFolder() string {
	return js.Global().Get("URL").New("ort/", js.Global().Get("location").Get("href")).Get("href").String()
}

// configFetcher reads the model's small files, asking the network first and
// falling back to the cache when offline; lost is set when a file read could
// not be kept in the cache.
func configFetcher(ctx context.Context, lost *atomic.Bool) func(string) ([]byte, error) {
	return func(url string) ([]byte, error) {
		data, kept, err := ortweb.Fetch(ctx, url, ortweb.FetchOptions{Cache: ortweb.DefaultCache, NetworkFirst: true})
		if err == nil && !kept {
			lost.Store(true)
		}
		return data, err
	}
}

// loadTokenizer is pipe.LoadTokenizer with a panic turned into an error: it
// runs beside the load, outside the message loop's recover.
func loadTokenizer(pipe *pipeline.Pipeline) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tokenizer: %v", r)
		}
	}()
	return pipe.LoadTokenizer()
}

// progressPoster sends progress messages, at most one per file every
// progressInterval besides the first and the last.
func (w *worker) progressPoster(id int) func(file string, loaded, total int64, cached bool) {
	last := map[string]time.Time{}
	return func(file string, loaded, total int64, cached bool) {
		now := time.Now()
		end := total > 0 && loaded >= total
		if loaded > 0 && !end && now.Sub(last[file]) < progressInterval {
			return
		}
		last[file] = now
		w.post(&protocol.Progress{LoadID: id, File: file, Loaded: loaded, Total: total, Cached: cached})
	}
}

// softwareAdapter reports a GPUAdapter that computes on the processor: one
// its info marks as a fallback adapter (Chromium marks SwiftShader so), or
// whose architecture is SwiftShader, or, in browsers before GPUAdapterInfo
// had the flag, one with the adapter's own isFallbackAdapter.
func softwareAdapter(adapter js.Value) bool {
	if info := adapter.Get("info"); info.Truthy() {
		arch := info.Get("architecture")
		if info.Get("isFallbackAdapter").Truthy() || arch.Type() == js.TypeString && strings.EqualFold(arch.String(), "swiftshader") {
			return true
		}
	}
	return adapter.Get("isFallbackAdapter").Truthy()
}

// probeHost reads what the browser says of the computer's memory and kind.
func probeHost() hostInfo {
	nav := js.Global().Get("navigator")
	var host hostInfo
	if mem := nav.Get("deviceMemory"); mem.Type() == js.TypeNumber {
		host.MemoryGB = mem.Float()
	}
	if ua := nav.Get("userAgentData"); ua.Truthy() {
		host.Mobile = ua.Get("mobile").Truthy()
	}
	return host
}

// probeGPU asks for a WebGPU adapter and reads its features and limits.
// With device "wasm" it does not look.
func probeGPU(ctx context.Context, device protocol.Device) gpuInfo {
	if device == protocol.DeviceWasm {
		return gpuInfo{Reason: "WebAssembly was asked for"}
	}
	gpu := js.Global().Get("navigator").Get("gpu")
	if !gpu.Truthy() {
		return gpuInfo{Reason: "This browser does not offer WebGPU"}
	}
	p, err := jsutil.Call(gpu, "requestAdapter")
	if err != nil {
		return gpuInfo{Reason: "WebGPU failed to start"}
	}
	adapter, err := jsutil.Await(ctx, p)
	if err != nil {
		return gpuInfo{Reason: "WebGPU failed to start"}
	}
	if !adapter.Truthy() {
		return gpuInfo{Reason: "No WebGPU graphics adapter is available"}
	}
	limits := adapter.Get("limits")
	return gpuInfo{
		Available:  true,
		Software:   softwareAdapter(adapter),
		ShaderF16:  adapter.Get("features").Call("has", "shader-f16").Bool(),
		MaxBinding: int64(limits.Get("maxStorageBufferBindingSize").Float()),
		MaxBuffer:  int64(limits.Get("maxBufferSize").Float()),
	}
}
