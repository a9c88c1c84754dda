import { defineConfig } from './pipelines/shared/config/define.js';

/**
 * The example job: the bundled QA rows (examples/qa) and synthesis material (examples/synthesize) through
 * ingest → synthesize → filter → difficulty → export.
 * With no `difficulty.endpoints`, tiers come from the sources' own difficulty labels (MATH and
 * MathVision `level`, see docs/rlcs.md); samples without a label keep tier `unrated`. With endpoints,
 * model pass rates are pooled with the labels. See README "Pointing difficulty at vLLM".
 */
export default defineConfig({
  shardsDir: 'shards',
  datasets: {
    example: {
      sources: [
        { name: 'gsm8k', type: 'qa', path: 'examples/qa/gsm8k.jsonl', format: 'jsonl', preset: 'gsm8k', license: 'MIT' },
        // The same GSM8K problems as Qwen2.5-Math's harness ships them (rows 7–18): six repeat rows of gsm8k above.
        { name: 'gsm8k_qwen', type: 'qa', path: 'examples/qa/gsm8k_qwen_copy.jsonl', format: 'jsonl', preset: 'qwen-eval', license: 'MIT' },
        { name: 'math500', type: 'qa', path: 'examples/qa/math500.jsonl', format: 'jsonl', preset: 'math500', license: 'MIT' },
        { name: 'aqua', type: 'qa', path: 'examples/qa/aqua.jsonl', format: 'jsonl', preset: 'aqua', license: 'Apache-2.0' },
        { name: 'svamp', type: 'qa', path: 'examples/qa/svamp.jsonl', format: 'jsonl', preset: 'svamp', license: 'MIT' },
        { name: 'mathvision', type: 'qa', path: 'examples/qa/mathvision/testmini.jsonl', format: 'jsonl', preset: 'mathvision', license: 'MIT' },
        { name: 'geometry3k', type: 'qa', path: 'examples/qa/geometry3k/*/data.json', format: 'json', preset: 'geometry3k', license: 'MIT' },
        // Material for the synthesize stage (examples/synthesize): shapes with COCO boxes, and sign texts rendered onto CC0 photos.
        { name: 'shapes', type: 'grounding', format: 'coco', path: 'examples/synthesize/shapes/annotations/instances_shapes.json', imageRoot: 'examples/synthesize/shapes/images', tasks: ['category'], license: 'CC0-1.0' },
        { name: 'signs', type: 'ocr', mode: 'synthetic', path: 'examples/pretraining/captions', text: 'examples/synthesize/ocr/lines.txt', lines: [2, 3], fontSize: [20, 36], maxRotation: 0, license: 'CC0-1.0' },
      ],
      ingest: { unitRows: 2000 },
      // Verifiable tasks made from the samples (docs/synthesize.md): counts and spatial relations from the
      // shapes' boxes, reading questions from the rendered signs, open-ended forms of multiple choice (AQuA, MathVision).
      synthesize: { seed: 0 },
      // Heuristics, exact and near-duplicate removal run with their defaults; the eval set below is held out.
      filter: {
        decontaminate: { sets: [{ name: 'math500_heldout', path: 'examples/eval/math500_heldout.jsonl', questionField: 'question' }] },
      },
      difficulty: {
        // endpoints: [{ name: 'policy', baseUrl: 'http://127.0.0.1:8000/v1', model: 'THUDM/GLM-4.1V-9B-Thinking' }],
        n: 8,
        temperature: 1.0,
        topP: 1.0,
        maxTokens: 8192,
        responseFormat: 'glm',
        // Difficulty priors from labels: each counts as `weight` rollouts when pooled with model grading.
        labels: [
          { field: 'level', sources: ['math500', 'mathvision'], map: { '1': 'easy', '2': 'easy', '3': 'medium', '4': 'hard', '5': 'hard' } },
        ],
      },
      export: { formats: ['verl', 'easyr1'] },
    },
    // Pre-training data (examples/pretraining): captions, interleaved pages and grounding boxes →
    // WebDataset shards, interleaved Parquet and LLaVA SFT conversations (docs/export-pretraining.md).
    pretraining: {
      sources: [
        { name: 'photos', type: 'caption', layout: 'folder', path: 'examples/pretraining/captions', license: 'CC0-1.0' },
        { name: 'skimage-gallery', type: 'interleaved', format: 'items', path: 'examples/pretraining/interleaved/skimage_gallery.jsonl', license: 'BSD-3-Clause' },
        { name: 'photo-boxes', type: 'grounding', format: 'coco', path: 'examples/pretraining/grounding/annotations/instances_example.json', imageRoot: 'examples/pretraining/captions', license: 'CC0-1.0' },
      ],
      export: {
        formats: ['webdataset', 'interleaved', 'sft'],
        pretraining: {
          // Until the filter stage scores samples, all land in `unscored`; thresholds apply to signals.quality.
          quality: { score: 'quality_score', buckets: [{ name: 'high', min: 0.8 }, { name: 'medium', min: 0.5 }, { name: 'low', min: 0 }], missing: 'unscored' },
          webdataset: { shardBytes: 1_000_000_000 },
          mixture: { seed: 0, kindWeights: { caption: 1, interleaved: 2, grounding: 1 }, epochs: 1 },
        },
      },
    },
  },
});
