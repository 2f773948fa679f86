// Benchmark contestant: transformers.js 4.3.1, used the way its docs and the
// SmolVLM model card show (AutoProcessor, AutoModelForVision2Seq, load_image,
// processor.apply_chat_template, model.generate), fully offline.
//
// Entry file: dist/transformers.min.js, the self-contained browser build that
// the package's "jsdelivr"/"unpkg" fields name, i.e. what
// `import ... from "https://cdn.jsdelivr.net/npm/@huggingface/transformers@4.3.1"`
// gives. It bundles onnxruntime-web 1.31.0-dev.20260914-8d85527a0 (the version
// transformers.js pins; a bundler resolving transformers.web.js gets the same
// ort.webgpu.bundle.min.mjs), so no import map is needed. Only its WebAssembly
// binary is fetched at run time; wasmPaths points at the package's own nested
// onnxruntime-web instead of jsDelivr.
//
// window.bench = {ready, load({model, device, dtype, threads, browserCache}), run({...})}
// (see the bottom of this file and bench/web/README.md; the offline
// settings, preprocessing, timing and answers: common.js).

import {
    env,
    AutoProcessor,
    AutoModelForVision2Seq,
    BaseStreamer,
} from '/node_modules/@huggingface/transformers/dist/transformers.min.js';
import { modelName, loadInfo, warm, preprocess, runResult } from './common.js';

let processor = null;
let model = null;
let loaded = null;

/** A streamer that only takes the time of every new token. */
class TimingStreamer extends BaseStreamer {
    constructor(promptLength) {
        super();
        this.promptLength = promptLength;
        this.first = true;
        this.ids = [];
        this.times = [];
    }
    put(value) {
        const now = performance.now();
        const row = value[0];
        // generate() first puts the whole prompt (this version does; guard in
        // case a version does not): skip a put that is the prompt.
        if (this.first) {
            this.first = false;
            if (row.length === this.promptLength && row.length !== 1) return;
        }
        for (const id of row) {
            this.ids.push(Number(id));
            this.times.push(now);
        }
    }
    end() {}
}

async function load({ model: m, device = 'wasm', dtype = 'q4', threads, browserCache = false, warmPreprocess = false } = {}) {
    if (loaded) throw new Error('bench: one model per page; open a new tab');
    if (threads) env.backends.onnx.wasm.numThreads = threads;
    env.useBrowserCache = !!browserCache;
    const name = modelName(m);
    const t0 = performance.now();
    processor = await AutoProcessor.from_pretrained(name);
    if (warmPreprocess) await warm(processor);
    model = await AutoModelForVision2Seq.from_pretrained(name, { device, dtype });
    const loadMs = performance.now() - t0;
    loaded = { name, device, dtype };
    return loadInfo(loadMs, env.backends.onnx);
}

async function run({ imageURL, prompt, maxNewTokens = 256, minNewTokens = 0, split, debug = false, pixelTiles = null } = {}) {
    if (!model) throw new Error('bench: load first');
    const pre = await preprocess(processor, { imageURL, prompt, split, pixelTiles });
    const { inputs } = pre;
    const promptTokens = inputs.input_ids.dims.at(-1);

    const streamer = new TimingStreamer(promptTokens);
    const gen = {
        ...inputs,
        max_new_tokens: maxNewTokens,
        do_sample: false,
        streamer,
    };
    if (minNewTokens) gen.min_new_tokens = minNewTokens;
    const out = await model.generate(gen);
    const t2 = performance.now();

    // The returned sequences hold prompt + new ids; they must agree with
    // what the streamer saw.
    const seq = Array.from(out.data, Number);
    const tokens = seq.slice(promptTokens);
    if (tokens.length !== streamer.ids.length || tokens.some((t, i) => t !== streamer.ids[i])) {
        throw new Error(`bench: streamer saw ${streamer.ids.length} ids, generate returned ${tokens.length}`);
    }
    // visionMs: inside generate()'s first forward; not separable.
    return runResult({ processor, pre, tokens, times: streamer.times, t2, visionMs: null, promptTokens, debug });
}

window.bench = { ready: true, contestant: 'transformers.js', load, run };
