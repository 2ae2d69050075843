// Zero-shot classification of a folder of JPEGs with transformers.js, the
// peer baseline of fashionclip's end-to-end classify goal. Labels are
// embedded once through the text graph, images in batches through the vision
// graph, scores are softmax(logit_scale · cosine) as CLIP's zero-shot
// pipeline computes them. The model folder is a transformers.js (split)
// layout: onnx/text_model.onnx and onnx/vision_model.onnx.
//
//   node classify.mjs --model DIR --threads N [--batch 8] [--labels a,b,c] IMAGES_DIR
//
// Prints one JSON line per image on stdout and a timing summary on stderr.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  env, AutoTokenizer, AutoProcessor, CLIPTextModelWithProjection, CLIPVisionModelWithProjection, RawImage,
} from '@huggingface/transformers';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    labels: { type: 'string', default: 'dress,shirt,trousers,shoe,bag,coat,skirt,hat' },
    template: { type: 'string', default: 'a photo of a {}' },
    scale: { type: 'string', default: '100' },
  },
});
if (!opts.model || positionals.length !== 1) {
  console.error('usage: node classify.mjs --model DIR --threads N [--batch 8] [--labels a,b,c] IMAGES_DIR');
  process.exit(2);
}
const t0 = performance.now();
const modelDir = path.resolve(opts.model);
env.allowRemoteModels = false;
env.localModelPath = path.dirname(modelDir) + '/';
const id = path.basename(modelDir);
const threads = Number(opts.threads);
const load = {
  dtype: 'fp32',
  device: 'cpu',
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
};

const [tokenizer, processor, textModel, visionModel] = await Promise.all([
  AutoTokenizer.from_pretrained(id),
  AutoProcessor.from_pretrained(id),
  CLIPTextModelWithProjection.from_pretrained(id, load),
  CLIPVisionModelWithProjection.from_pretrained(id, load),
]);
const tLoaded = performance.now();

function normalise(data, dim) {
  const out = [];
  for (let i = 0; i < data.length; i += dim) {
    const v = data.slice(i, i + dim);
    const n = Math.hypot(...v);
    out.push(v.map((x) => x / n));
  }
  return out;
}

const labels = opts.labels.split(',');
const prompts = labels.map((l) => opts.template.replace('{}', l));
const textInputs = tokenizer(prompts, { padding: true, truncation: true });
const { text_embeds } = await textModel(textInputs);
const labelVecs = normalise(text_embeds.data, text_embeds.dims[1]);

const dir = positionals[0];
const files = (await readdir(dir)).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => path.join(dir, f));
const batch = Number(opts.batch);
const scale = Number(opts.scale);
let tEncode = 0;
for (let i = 0; i < files.length; i += batch) {
  const paths = files.slice(i, i + batch);
  const images = await Promise.all(paths.map((p) => RawImage.read(p)));
  const pixels = await processor(images);
  const te = performance.now();
  const { image_embeds } = await visionModel({ pixel_values: pixels.pixel_values });
  tEncode += performance.now() - te;
  const vecs = normalise(image_embeds.data, image_embeds.dims[1]);
  vecs.forEach((v, j) => {
    const logits = labelVecs.map((l) => scale * l.reduce((s, x, k) => s + x * v[k], 0));
    const m = Math.max(...logits);
    const e = logits.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    let best = 0;
    e.forEach((x, k) => { if (x > e[best]) best = k; });
    process.stdout.write(JSON.stringify({ path: paths[j], label: labels[best], score: e[best] / z }) + '\n');
  });
}
const tEnd = performance.now();
console.error(JSON.stringify({
  images: files.length, threads, batch,
  load_ms: Math.round(tLoaded - t0), total_ms: Math.round(tEnd - t0),
  vision_ms: Math.round(tEncode), images_per_s: +(files.length / ((tEnd - tLoaded) / 1000)).toFixed(2),
}));
