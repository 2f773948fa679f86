// The model's Web Worker: new Worker('/web/worker.js', {type: 'module'}).
// It loads onnxruntime-web (the global `ort`) and Go's wasm_exec.js, then
// runs worker.wasm, which answers the page's messages (wasm/PROTOCOL.md).
// Messages that arrive while Go starts are queued, and Go reads the queue
// before it takes over `onmessage`, so none is lost.
//
// Plain imports only: the app's Content-Security-Policy allows scripts from
// 'self' and WebAssembly compilation ('wasm-unsafe-eval'), never eval.
import './wasm_exec.js'; // a classic script: defines globalThis.Go

const early = [];
globalThis.__smolvlmEarlyMessages = early;
self.onmessage = (event) => early.push(event.data);

// onnxruntime-web's WebGPU build runs both its WebGPU and its WebAssembly
// backend. Where the browser has JSPI (WebAssembly.Suspending: Chrome 137 and
// later) its JSPI variant is loaded: 16.8 MB of WebAssembly against 26.8 MB
// for the asyncify variant every browser runs. ?ort=asyncify forces the
// latter (the benchmark compares the two).
const forced = new URL(import.meta.url).searchParams.get('ort');
const jspi = forced ? forced === 'jspi' : typeof WebAssembly.Suspending === 'function';
globalThis.ort = await import(jspi ? './ort/ort.jspi.min.mjs' : './ort/ort.webgpu.min.mjs');

async function start() {
  const go = new globalThis.Go();
  const wasm = new URL('./worker.wasm', import.meta.url);
  const { instance } = await WebAssembly.instantiateStreaming(fetch(wasm), go.importObject);
  await go.run(instance); // resolves only if the Go program exits
  throw new Error('the worker program exited');
}

start().catch((err) => {
  self.postMessage({
    type: 'error',
    message: 'The model worker could not start; reload the page to try again.',
    detail: String(err && err.stack || err),
  });
});
