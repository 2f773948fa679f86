// Benchmark contestant: the plain onnxruntime-web generation loop that blog
// posts and examples show for SmolVLM's ONNX export.
//
//   - onnxruntime-web 1.30.0, dist/ort.webgpu.min.mjs: the ES module build
//     with both the WebGPU and the WebAssembly (CPU) execution providers
//     (what the examples import for WebGPU; wasm-only pages would use
//     ort.min.mjs, which only adds WebGL and drops the WebGPU EP). Sessions
//     run with executionProviders [device] and every output on the CPU (the
//     default), so logits and the KV cache round-trip through JS each step.
//   - transformers.js 4.3.1 (dist/transformers.min.js) for the picture
//     (load_image), the Idefics3 image processor, the chat template and the
//     tokenizer, as such loops do. Its image processor resizes through its own
//     bundled onnxruntime-web (CPU), whose wasm is served locally too.
//   - By hand: embed_tokens(input_ids) → vision_encoder(pixel_values,
//     pixel_attention_mask) → rows whose id is config.image_token_id replaced
//     by the image features in order → decoder_model_merged(inputs_embeds,
//     attention_mask, position_ids, past_key_values.*) → the full logits
//     [1, seq, vocab] read to JS, argmax of the last row (eos masked until
//     minNewTokens) → the new token's embedding and present.* fed back.
//
// window.bench = {ready, load({model, device, dtype, threads}), run({...})}
// (the offline settings, preprocessing, timing and answers: common.js)

import * as ort from '/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs';
import { AutoProcessor } from '/node_modules/@huggingface/transformers/dist/transformers.min.js';
import { modelName, loadInfo, warm, preprocess, runResult } from './common.js';

ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';

let S = null; // the loaded model

// ---- float16 ⇄ float32 (ORT gives float16 as Uint16Array bits, or as a
// Float16Array where the browser has one).
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function halfToFloat(h) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    if (e === 0) return s * f * 2 ** -24;
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * 2 ** (e - 15);
}
function floatToHalf(v) {
    f32buf[0] = v;
    const x = u32buf[0];
    const sign = (x >>> 16) & 0x8000;
    let e = ((x >>> 23) & 0xff) - 127 + 15;
    let m = x & 0x7fffff;
    if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign;
        m |= 0x800000;
        const shift = 14 - e;
        let r = m >> shift;
        const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
        if (rem > half || (rem === half && r & 1)) r++;
        return sign | r;
    }
    let r = (e << 10) | (m >> 13);
    const rem = m & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
    return sign | r;
}
function toF32(t) {
    if (t.type === 'float32') return t.data;
    if (t.type === 'float16') {
        const d = t.data;
        if (!(d instanceof Uint16Array)) return Float32Array.from(d);
        const o = new Float32Array(d.length);
        for (let i = 0; i < d.length; i++) o[i] = halfToFloat(d[i]);
        return o;
    }
    throw new Error(`bench: unexpected tensor type ${t.type}`);
}
function fromF32(type, data, dims) {
    if (type === 'float32') return new ort.Tensor('float32', data, dims);
    if (type === 'float16') {
        const o = new Uint16Array(data.length);
        for (let i = 0; i < data.length; i++) o[i] = floatToHalf(data[i]);
        return new ort.Tensor('float16', o, dims);
    }
    throw new Error(`bench: unexpected input type ${type}`);
}

// inputType is the element type a session expects for an input.
function inputType(session, name) {
    const md = session.inputMetadata?.find?.((m) => m.name === name);
    return md?.type ?? 'float32';
}

async function fetchJSON(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`bench: ${url}: ${r.status}`);
    return r.json();
}

async function load({ model: m, device = 'wasm', dtype = 'q4', threads, warmPreprocess = false } = {}) {
    if (S) throw new Error('bench: one model per page; open a new tab');
    if (threads) ort.env.wasm.numThreads = threads;
    const name = modelName(m);
    const base = '/models/' + name + '/';
    const t0 = performance.now();
    const [config, genConfig] = await Promise.all([
        fetchJSON(base + 'config.json'),
        fetchJSON(base + 'generation_config.json').catch(() => ({})),
    ]);
    const processor = await AutoProcessor.from_pretrained(name);
    if (warmPreprocess) await warm(processor);
    const suffix = dtype === 'fp32' ? '' : '_' + dtype;
    const opts = { executionProviders: [device], graphOptimizationLevel: 'all' };
    const embed = await ort.InferenceSession.create(`${base}onnx/embed_tokens${suffix}.onnx`, opts);
    const vision = await ort.InferenceSession.create(`${base}onnx/vision_encoder${suffix}.onnx`, opts);
    const decoder = await ort.InferenceSession.create(`${base}onnx/decoder_model_merged${suffix}.onnx`, opts);
    const loadMs = performance.now() - t0;

    const tc = config.text_config ?? config;
    const kvHeads = tc.num_key_value_heads ?? tc.num_attention_heads;
    const headDim = tc.head_dim ?? tc.hidden_size / tc.num_attention_heads;
    let eos = genConfig.eos_token_id ?? config.eos_token_id ?? tc.eos_token_id;
    eos = new Set((Array.isArray(eos) ? eos : [eos]).filter((x) => x != null));
    S = {
        processor,
        embed,
        vision,
        decoder,
        imageTokenId: config.image_token_id ?? config.image_token_index,
        hidden: tc.hidden_size,
        kvHeads,
        headDim,
        eos,
        pastNames: decoder.inputNames.filter((n) => n.startsWith('past_key_values.')),
        kvType: null,
    };
    S.kvType = inputType(decoder, S.pastNames[0]);
    S.embedsType = inputType(decoder, 'inputs_embeds');
    S.pixelType = inputType(vision, 'pixel_values');
    return loadInfo(loadMs, ort.env);
}

async function embedIds(ids) {
    const out = await S.embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return toF32(out[S.embed.outputNames[0]]);
}

async function run({ imageURL, prompt, maxNewTokens = 256, minNewTokens = 0, split, debug = false, pixelTiles = null } = {}) {
    if (!S) throw new Error('bench: load first');
    const pre = await preprocess(S.processor, { imageURL, prompt, split, pixelTiles });
    const { inputs } = pre;

    const ids = Array.from(inputs.input_ids.data, Number);
    const L = ids.length;
    const H = S.hidden;

    // 1. Token embeddings of the prompt.
    const embeds = Float32Array.from(await embedIds(ids));

    // 2. Vision encoder on all tiles.
    const pv = inputs.pixel_values;
    const vfeeds = { pixel_values: fromF32(S.pixelType, pv.data, pv.dims) };
    if (S.vision.inputNames.includes('pixel_attention_mask')) {
        const pm = inputs.pixel_attention_mask;
        vfeeds.pixel_attention_mask = new ort.Tensor('bool', Uint8Array.from(pm.data, (x) => (x ? 1 : 0)), pm.dims);
    }
    const tv = performance.now();
    const vout = await S.vision.run(vfeeds);
    const feats = toF32(vout[S.vision.outputNames[0]]);
    const visionMs = performance.now() - tv;

    // 3. Replace the image-token rows with the feature rows, in order.
    let row = 0;
    const nRows = feats.length / H;
    for (let i = 0; i < L; i++) {
        if (ids[i] !== S.imageTokenId) continue;
        if (row >= nRows) throw new Error('bench: more image tokens than image features');
        embeds.set(feats.subarray(row * H, (row + 1) * H), i * H);
        row++;
    }
    if (row !== nRows) throw new Error(`bench: ${row} image tokens for ${nRows} feature rows`);

    // 4. Greedy decoding with the KV cache.
    let past = {};
    for (const n of S.pastNames) {
        past[n] = new ort.Tensor(S.kvType, S.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, S.kvHeads, 0, S.headDim]);
    }
    let pastLen = 0;
    let stepEmbeds = embeds;
    let seq = L;
    const tokens = [];
    const times = []; // when each new token was chosen
    for (;;) {
        const total = pastLen + seq;
        const feeds = {
            inputs_embeds: fromF32(S.embedsType, stepEmbeds, [1, seq, H]),
            attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
            position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(pastLen + i)), [1, seq]),
            ...past,
        };
        const out = await S.decoder.run(feeds);
        const logits = out.logits; // [1, seq, vocab], all of it on the CPU
        const vocab = logits.dims[2];
        const all = logits.data;
        const off = (seq - 1) * vocab;
        const bits = logits.type === 'float16' && all instanceof Uint16Array;
        const maskEos = tokens.length < minNewTokens;
        let best = -1, bestV = -Infinity;
        for (let j = 0; j < vocab; j++) {
            if (maskEos && S.eos.has(j)) continue;
            const v = bits ? halfToFloat(all[off + j]) : Number(all[off + j]);
            if (v > bestV) { bestV = v; best = j; }
        }
        tokens.push(best);
        times.push(performance.now());
        if (S.eos.has(best) || tokens.length >= maxNewTokens) break;
        const next = {};
        for (const n of S.pastNames) next[n] = out[n.replace('past_key_values.', 'present.')];
        past = next;
        pastLen = total;
        seq = 1;
        stepEmbeds = await embedIds([best]);
    }
    const t2 = performance.now();
    return runResult({ processor: S.processor, pre, tokens, times, t2, visionMs, promptTokens: L, debug });
}

window.bench = { ready: true, contestant: 'ortloop', load, run };
