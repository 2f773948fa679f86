// What the two contestant pages built on transformers.js's processor
// (transformers.js and ortloop.js) share: the offline settings, the model
// name, load()'s answer, the preprocessing (picture, chat template, tiles)
// with its timing, the verification-only pixel swap, and run()'s answer,
// whose time to first token and decode speed come from one timestamp per
// new token. Each page keeps its own model code (loading and generation).
//
// Both pages import transformers.min.js from the same URL, so this module
// and the page share one instance of it (one env).

import { env, RawImage, load_image } from '/node_modules/@huggingface/transformers/dist/transformers.min.js';

// transformers.js's own bundled onnxruntime-web (the image processor runs on
// it in both pages).
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
// The Cache API is off by default (the transformers page's
// load({browserCache: true}) turns it on): every load reads the model files
// from the server, as a first visit does, and a benchmark run never measures
// a cache left by an earlier tab.
env.useBrowserCache = false;

// modelName maps '/models/<name>' (or '<name>') to the id that
// from_pretrained resolves against env.localModelPath (and the folder under
// /models/).
export function modelName(model) {
    let m = String(model).replace(/\/+$/, '');
    if (m.startsWith('/models/')) m = m.slice('/models/'.length);
    return m;
}

// loadInfo is load()'s answer; ortEnv is the env of the onnxruntime-web that
// runs the model (ort.env, or transformers.js's env.backends.onnx).
export function loadInfo(loadMs, ortEnv) {
    return {
        loadMs,
        ortVersion: ortEnv.versions?.web ?? null,
        threads: ortEnv.wasm.numThreads ?? null,
        crossOriginIsolated: self.crossOriginIsolated,
    };
}

// warm (load({warmPreprocess: true}); off by default) runs the processor once
// on a small grey picture, so that the ONNX Runtime op sessions its image
// processor creates on first use (resize, slice) are made inside loadMs and
// not inside the first run's preprocessMs.
export async function warm(processor) {
    const img = new RawImage(new Uint8ClampedArray(64 * 48 * 3).fill(128), 64, 48, 3);
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'warm up' }] }];
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    await processor(text, [img], { do_image_splitting: true });
}

// preprocess starts a run: it fetches and decodes the picture, applies the
// chat template and runs the processor (split: absent keeps
// preprocessor_config's choice). It returns the processor's inputs and the
// times t0 (run start), tImage (picture decoded) and t1 (inputs ready);
// pixelTiles (verification only) then replaces the pixel values.
export async function preprocess(processor, { imageURL, prompt, split, pixelTiles = null }) {
    const t0 = performance.now();
    const image = await load_image(imageURL);
    const tImage = performance.now();
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: prompt }] }];
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    const opts = split === undefined || split === null ? {} : { do_image_splitting: !!split };
    const inputs = await processor(text, [image], opts);
    const t1 = performance.now();
    if (pixelTiles) await replacePixels(processor, inputs, pixelTiles); // verification only
    return { inputs, t0, tImage, t1 };
}

// replacePixels (verification only, never in a benchmark run) swaps the
// processor's pixel_values for exact uint8 RGB tiles (URLs of 512×512 PNGs,
// e.g. the reference's), rescaled and normalized as the Idefics3 processor
// does ((u8/255 - mean)/std), so the generation path can be checked against
// the reference independently of the image processor.
async function replacePixels(processor, inputs, urls) {
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

// runResult is run()'s answer. pre is preprocess()'s result, times holds
// performance.now() when each new token was chosen, t2 is the end of
// generation, visionMs the vision encoder's time (null where it cannot be
// separated). ttftMs runs from the run start (preprocessing included) to the
// first new token; decodeTps is (tokens - 1) over first → last token.
export function runResult({ processor, pre, tokens, times, t2, visionMs, promptTokens, debug }) {
    const { inputs, t0, tImage, t1 } = pre;
    const n = times.length;
    const first = n ? times[0] : null;
    const last = n ? times[n - 1] : null;
    return {
        tokens,
        text: processor.batch_decode([tokens], { skip_special_tokens: true })[0],
        preprocessMs: t1 - t0,
        imageMs: tImage - t0,
        visionMs,
        ttftMs: n ? first - t0 : null,
        decodeTps: n > 1 && last > first ? ((n - 1) * 1000) / (last - first) : null,
        totalMs: t2 - t0,
        promptTokens,
        pixelValuesShape: inputs.pixel_values.dims,
        ...(debug ? { inputIds: Array.from(inputs.input_ids.data, Number) } : {}),
    };
}
