// Test harness for web/worker.js: window.h sends protocol messages and
// gathers the replies of one request at a time (the tests run requests in
// sequence). Served by wasm/browsertest under the app's strict CSP.

const terminal = {
  load: ['loaded', 'error'],
  ask: ['done', 'error'],
  tiles: ['tiles', 'error'],
  look: ['looked', 'error'],
};

let worker = null;
let pending = null; // {types, result, resolve, onToken}
const log = [];     // messages that arrived with no request waiting
let awaited = null; // {type, resolve}: h.next's

function onMessage(event) {
  const msg = event.data;
  const now = performance.now();
  if (!pending) {
    log.push({ msg: summarise(msg), at: now });
    if (awaited && awaited.type === msg.type) {
      const a = awaited;
      awaited = null;
      a.resolve(msg);
    }
    return;
  }
  const r = pending.result;
  switch (msg.type) {
    case 'token': r.tokens.push(msg.id); r.text += msg.text; break;
    case 'progress': r.progress.push(msg); break;
    case 'status': r.status.push(msg.text); break;
    default: r.other.push(summarise(msg));
  }
  if (msg.type === 'token' && pending.onToken) pending.onToken(r.tokens.length, now);
  if (pending.types.includes(msg.type)) {
    r.final = summarise(msg);
    r.ms = now - r.started;
    const p = pending;
    pending = null;
    p.resolve(r);
  }
}

// summarise makes a message JSON-friendly: typed arrays become base64.
function summarise(msg) {
  if (msg.type !== 'tiles' || !msg.pixels) return msg;
  return { ...msg, pixels: msg.pixels.map(toBase64) };
}

function toBase64(u8) {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

async function withImage(msg) {
  if (msg.imageURL === undefined) return msg;
  const out = { ...msg };
  delete out.imageURL;
  if (msg.imageURL === null) {
    out.image = null;
  } else if (msg.imageURL.startsWith('bytes:')) {
    out.image = new Blob([msg.imageURL.slice(6)], { type: 'application/octet-stream' });
  } else {
    const resp = await fetch(msg.imageURL);
    out.image = await resp.blob();
  }
  return out;
}

function newWorker() {
  if (worker) worker.terminate();
  pending = null;
  log.length = 0;
  worker = new Worker('/web/worker.js', { type: 'module' });
  worker.onmessage = onMessage;
  worker.onerror = (e) => log.push({ msg: { type: 'workererror', message: e.message }, at: performance.now() });
}

function request(msg, onToken) {
  if (pending) return Promise.reject(new Error('a request is already running'));
  if (!worker) newWorker();
  return new Promise((resolve) => {
    pending = {
      types: terminal[msg.type],
      resolve,
      onToken,
      result: { tokens: [], text: '', progress: [], status: [], other: [], started: performance.now() },
    };
    worker.postMessage(msg);
  });
}

window.h = {
  log,
  // next resolves with the first message of type that arrived, or arrives,
  // while no request waits (a message the worker sends on its own).
  next(type) {
    const seen = log.find((e) => e.msg.type === type);
    if (seen) return Promise.resolve(seen.msg);
    return new Promise((resolve) => { awaited = { type, resolve }; });
  },
  // start creates a fresh worker and, if given, posts firstMsg at once,
  // before the worker's Go program is ready: it must be queued, not lost.
  start(firstMsg) {
    newWorker();
    if (firstMsg) return request(firstMsg);
    return Promise.resolve(null);
  },
  async call(msg) {
    return request(await withImage(msg));
  },
  // stopAfter asks, sends stop once n tokens have arrived, and measures the
  // time from stop to done.
  async stopAfter(msg, n) {
    const ask = await withImage(msg);
    let stopAt = 0;
    const r = await request(ask, (count, now) => {
      if (count === n) { stopAt = now; worker.postMessage({ type: 'stop' }); }
    });
    r.stopLatencyMs = stopAt ? (r.started + r.ms) - stopAt : -1; // stop sent → done received
    return r;
  },
  // supersede posts first and, in the same turn, msg, whose reply it
  // returns: the reply to first (if any) lands in msg's other messages.
  async supersede(first, msg) {
    if (!worker) newWorker();
    worker.postMessage(first);
    return request(await withImage(msg));
  },
  // queue posts the messages of first (their pictures fetched) and msg in
  // one turn, and with stop a stop right after msg; it returns msg's
  // reply, whose other messages hold what first's got.
  async queue(msg, first, stop) {
    if (!worker) newWorker();
    const pre = await Promise.all(first.map(withImage));
    const last = await withImage(msg);
    for (const m of pre) worker.postMessage(m);
    const r = request(last);
    if (stop) worker.postMessage({ type: 'stop' });
    return r;
  },
  send(msg) { if (!worker) newWorker(); worker.postMessage(msg); },
  isolated() { return self.crossOriginIsolated; },
};
