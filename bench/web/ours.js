// Benchmark contestant: our app's model worker (web/worker.js, Go compiled
// to WebAssembly), driven through the page ⇄ worker protocol
// (wasm/PROTOCOL.md) exactly as the app drives it. cmd/bench calls
// window.bench.load and window.bench.run; times are taken on the page, as
// for the other contestants.

let worker = null;
let pending = null; // {types, resolve, reject, onMessage}
let lookAhead = false; // option "look=ahead"
let loadStart = 0;
const later = []; // what the worker said after loaded, for run() to report
let stored = null; // resolves with the worker's stored message
let onStored = () => {};

function request(msg, types, onMessage) {
  return new Promise((resolve, reject) => {
    pending = { types, resolve, reject, onMessage };
    worker.postMessage(msg);
  });
}

function onMessage(event) {
  const msg = event.data;
  if (msg.type === 'stored') {
    later.push(`files stored in the cache (complete: ${msg.complete}) at ${Math.round(performance.now() - loadStart)} ms`);
    onStored(msg);
  }
  const p = pending;
  if (!p) return;
  if (p.onMessage) p.onMessage(msg, performance.now());
  if (msg.type === 'error') {
    pending = null;
    p.reject(new Error(`${msg.message} (${msg.detail || ''})`));
  } else if (p.types.includes(msg.type)) {
    pending = null;
    p.resolve(msg);
  }
}

// loadWorker starts a worker and loads the model in it; the stages are what
// the worker said, times from the start.
async function loadWorker(url, msg) {
  const start = performance.now();
  worker = new Worker(url, { type: 'module' });
  worker.onmessage = onMessage;
  worker.onerror = (e) => pending && pending.reject(new Error(e.message));
  const stages = [];
  const loaded = await request(msg, ['loaded'], (m, now) => {
    if (m.type === 'status') stages.push(`${m.text} at ${Math.round(now - start)} ms`);
    if (m.type === 'progress' && m.total && m.loaded === m.total) {
      stages.push(`${m.file} ${m.cached ? 'read from the cache' : 'fetched'} at ${Math.round(now - start)} ms`);
    }
  });
  return { loaded, stages, ms: performance.now() - start };
}

window.bench = {
  ready: true,

  // option (from cmd/bench's "ours@option") is a variant to compare in the
  // same session: "threads=N", "ort=asyncify" / "ort=jspi" (which build of
  // onnxruntime-web the worker loads), "warmup=off" / "warmup=on" (the
  // worker's own choice otherwise: on a hardware WebGPU adapter), "dequantize=on"
  // (the q4 decoder's weights unpacked to float32), "dequantize=off" (kept as
  // downloaded; the worker's own choice otherwise: float32 on a computer that
  // reports 8 GB or more), "dequantize=int8" (to int8, with int8 activations),
  // "load=sequential" (the sessions one after the other), "int8=on"
  // (the 4-bit MatMuls with int8 activations), or "attention=repeated" (the
  // export's attention, repeating the shared key/value heads), or
  // "look=ahead" (the picture sent with a look, as the app does when it is
  // picked, and the question asked once the worker has looked: the first
  // token is then timed from the question, the picture's work done before),
  // or "load=cached" (the installed app's start: a first load downloads the
  // files and keeps them, its worker is ended once they are stored, and the
  // load timed is a new worker's, from the cache; the bytes sent count the
  // first load's).
  async load({ model, device, dtype, threads, option }) {
    loadStart = performance.now();
    stored = new Promise((resolve) => { onStored = resolve; });
    let url = '/web/worker.js';
    let warmUp; // the worker's choice
    let dequantize; // the worker's choice
    let oneAtATime = false;
    let int8MatMul = false;
    let repeatKV = false;
    const [key, value] = (option || '').split('=');
    if (key === 'threads') threads = Number(value);
    else if (key === 'ort') url += '?ort=' + encodeURIComponent(value);
    else if (key === 'warmup') warmUp = value === 'on';
    else if (key === 'dequantize') {
      if (!['on', 'off', 'int8'].includes(value)) throw new Error(`unknown option ${option}`);
      dequantize = value !== 'off';
      int8MatMul = value === 'int8';
    }
    else if (key === 'load' && (value === 'sequential' || value === 'cached')) oneAtATime = value === 'sequential';
    else if (key === 'int8') int8MatMul = value === 'on';
    else if (key === 'attention') repeatKV = value === 'repeated';
    else if (key === 'look' && value === 'ahead') lookAhead = true;
    else if (option) throw new Error(`unknown option ${option}`);
    const msg = { type: 'load', model, base: location.href, device, dtype, warmUp, dequantize, oneAtATime, int8MatMul, repeatKV };
    if (threads) msg.threads = threads;
    const before = [];
    if (option === 'load=cached') {
      const first = await loadWorker(url, msg);
      const complete = (await stored).complete;
      if (!complete) throw new Error('the first load could not keep its files');
      before.push(`first load, from the network: ${Math.round(first.ms)} ms, files stored at ${Math.round(performance.now() - loadStart)} ms`);
      worker.terminate();
      loadStart = performance.now();
      stored = new Promise((resolve) => { onStored = resolve; });
    }
    const { loaded, stages, ms } = await loadWorker(url, msg);
    return {
      stages: before.concat(stages),
      loadMs: ms,
      backend: loaded.backend,
      threads: loaded.threads,
      notice: loaded.notice,
      lastTokenLogits: loaded.lastTokenLogits,
      dequantized: loaded.dequantized || [],
      dequantizedTo: loaded.dequantizedTo || '',
    };
  },

  async run({ imageURL, prompt, maxNewTokens, minNewTokens, split }) {
    let start = performance.now();
    const image = await (await fetch(imageURL)).blob();
    let looked = null;
    if (lookAhead) {
      looked = await request({ type: 'look', image, split }, ['looked']);
      if (looked.error) throw new Error(`look: ${looked.error}`);
      start = performance.now();
    }
    const times = [];
    const done = await request({
      type: 'ask', image, text: prompt, split, newChat: true,
      maxNewTokens, minNewTokens, repetitionPenalty: 1, temperature: 0,
    }, ['done'], (msg, now) => { if (msg.type === 'token') times.push(now); });
    const n = times.length;
    const totalMs = performance.now() - start;
    // The worker stores the downloads while it answers; their end is
    // reported (not timed into any figure), waited for a minute at most.
    await Promise.race([stored, new Promise((resolve) => setTimeout(resolve, 60000))]);
    if (looked && !done.lookedAhead) throw new Error('the ask did not use its look');
    return {
      tokens: done.tokens,
      // With a look, the picture's work happened before the question.
      preprocessMs: looked ? looked.preprocessMs : done.preprocessMs,
      visionMs: looked ? looked.visionMs : done.visionMs,
      ttftMs: n ? times[0] - start : null,
      decodeTps: n > 1 ? (n - 1) / ((times[n - 1] - times[0]) / 1000) : null,
      totalMs,
      promptTokens: done.promptTokens,
      stop: done.stop,
      worker: { ttftMs: done.ttftMs, decodeTps: done.decodeTps, gpuReadBytes: done.gpuReadBytes },
      // The load's stages that came after loaded (the files stored),
      // times from the load's start.
      stages: later.splice(0),
    };
  },
};
