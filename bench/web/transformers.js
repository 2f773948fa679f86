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
// (see the bottom of this file and bench/web/README.md).

import {
    env,
    AutoProcessor,
    AutoModelForVision2Seq,
    load_image,
    RawImage,
    BaseStreamer,
} from '/node_modules/@huggingface/transformers/dist/transformers.min.js';

const ORT_DIST = '/node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/';

// Offline: models only from /models/, never the Hub; the runtime's wasm from
// the local package, never a CDN.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.backends.onnx.wasm.wasmPaths = {
    mjs: ORT_DIST + 'ort-wasm-simd-threaded.asyncify.mjs',
    wasm: ORT_DIST + 'ort-wasm-simd-threaded.asyncify.wasm',
};
// The Cache API is off by default here (load({browserCache: true}) turns it
// on): every load reads the model files from the server, as a first visit
// does, and a benchmark run never measures a cache left by an earlier tab.
env.useBrowserCache = false;

let processor = null;
let model = null;
let loaded = null;

// modelName maps '/models/<name>' (or '<name>') to the id that
// from_pretrained resolves against env.localModelPath.
function modelName(model) {
    let m = String(model).replace(/\/+$/, '');
    if (m.startsWith('/models/')) m = m.slice('/models/'.length);
    return m;
}

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
    return {
        loadMs,
        ortVersion: env.backends.onnx.versions?.web ?? null,
        threads: env.backends.onnx.wasm.numThreads ?? null,
        crossOriginIsolated: self.crossOriginIsolated,
    };
}

async function run({ imageURL, prompt, maxNewTokens = 256, minNewTokens = 0, split, debug = false, pixelTiles = null } = {}) {
    if (!model) throw new Error('bench: load first');
    const t0 = performance.now();
    const image = await load_image(imageURL);
    const tImage = performance.now();
    const messages = [
        {
            role: 'user',
            content: [{ type: 'image' }, { type: 'text', text: prompt }],
        },
    ];
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    const opts = split === undefined || split === null ? {} : { do_image_splitting: !!split };
    const inputs = await processor(text, [image], opts);
    const t1 = performance.now();
    if (pixelTiles) await replacePixels(inputs, pixelTiles); // verification only
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
    const n = streamer.times.length;
    const first = n ? streamer.times[0] : null;
    const last = n ? streamer.times[n - 1] : null;
    return {
        tokens,
        text: processor.batch_decode([tokens], { skip_special_tokens: true })[0],
        preprocessMs: t1 - t0,
        imageMs: tImage - t0,
        visionMs: null, // inside generate()'s first forward; not separable
        ttftMs: n ? first - t0 : null,
        decodeTps: n > 1 && last > first ? ((n - 1) * 1000) / (last - first) : null,
        totalMs: t2 - t0,
        promptTokens,
        pixelValuesShape: inputs.pixel_values.dims,
        ...(debug ? { inputIds: Array.from(inputs.input_ids.data, Number) } : {}),
    };
}

// warm (load({warmPreprocess: true}); off by default) runs the processor once
// on a small grey picture, so that the ONNX Runtime op sessions its image
// processor creates on first use (resize, slice) are made inside loadMs and
// not inside the first run's preprocessMs.
async function warm(processor) {
    const img = new RawImage(new Uint8ClampedArray(64 * 48 * 3).fill(128), 64, 48, 3);
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'warm up' }] }];
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    await processor(text, [img], { do_image_splitting: true });
}

// replacePixels (verification only, never in a benchmark run) swaps the
// processor's pixel_values for exact uint8 RGB tiles (URLs of 512×512 PNGs,
// e.g. the reference's), rescaled and normalized as the Idefics3 processor
// does ((u8/255 - mean)/std), so the generation path can be checked against
// the reference independently of the image processor.
async function replacePixels(inputs, urls) {
    const pv = inputs.pixel_values;
    const [, n, c, h, w] = pv.dims;
    if (urls.length !== n) throw new Error(`bench: ${urls.length} tiles given, the processor made ${n}`);
    const pc = processor.image_processor.config;
    const mean = pc.image_mean, std = pc.image_std, scale = pc.rescale_factor;
    const data = pv.data;
    for (let k = 0; k < n; k++) {
        const img = (await load_image(urls[k])).rgb();
        if (img.width !== w || img.height !== h) throw new Error(`bench: tile ${urls[k]} is ${img.width}x${img.height}`);
        for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
                for (let ch = 0; ch < c; ch++) {
                    const u8 = img.data[(y * w + x) * 3 + ch];
                    data[((k * c + ch) * h + y) * w + x] = (u8 * scale - mean[ch]) / std[ch];
                }
    }
}

window.bench = { ready: true, contestant: 'transformers.js', load, run };
