import { z } from 'zod';
import type { Box, Sample } from '../../../schemas/sample.js';
import { toGlmBox } from '../../ingest/qa/answer.js';
import { shuffled } from '../../shared/random.js';
import type { GeneratedTask, GeneratorContext, GeneratorEntry, SkipReason } from '../generator.js';
import { derivedMeta, imageContent, parseMeta } from './image-objects.js';

/** Text origins that are exact (ground truth, rendered, a PDF text layer); recogniser output is a pseudo-label. */
const EXACT_ORIGINS = new Set(['ground-truth', 'synthetic', 'text-layer']);

export const readTextOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** Lines shorter or longer than this (characters, spaces removed) are not asked. */
    minChars: z.number().int().min(1).default(2),
    maxChars: z.number().int().min(1).default(80),
    /** A region whose area other text regions cover by more than this share is ambiguous (which text is "in" it?). */
    maxCovered: z.number().min(0).max(1).default(0.1),
    /** Regions asked about per image at most (picked by the seeded stream). */
    maxPerSample: z.number().int().min(1).default(3),
    /** Also ask for the text of GUI text elements (from `gui` comprehension samples). */
    gui: z.boolean().default(true),
  })
  .strict();

export type ReadTextOptions = z.output<typeof readTextOptions>;

/**
 * "What text is written in the region [x1,y1,x2,y2]?" from OCR samples with exact text (line boxes
 * labelled with their text) and from GUI text elements; checked by the `ocr` verifier. Pseudo-labelled
 * text (tesseract, PP-OCR) is not used: a question whose answer may be wrong teaches the wrong thing.
 */
export const readText: GeneratorEntry<ReadTextOptions> = {
  options: readTextOptions,
  generator: {
    name: 'read_text',
    version: 1,
    mode: 'rule',
    applies: (sample) => (sample.kind === 'ocr' && (sample.task?.boxes.length ?? 0) > 0) || (sample.kind === 'gui' && guiTextElement(sample) !== null),
    async generate(sample, ctx) {
      const skipped: SkipReason[] = [];
      if (sample.kind === 'gui') {
        if (!ctx.options.gui) return { tasks: [], skipped: [{ reason: 'gui_disabled', detail: {} }] };
        const element = guiTextElement(sample)!;
        return { tasks: usableRegions([element], [element], ctx, skipped).map((r) => regionTask(sample, r, ctx)), skipped };
      }
      const origin = textOrigin(sample);
      if (!EXACT_ORIGINS.has(origin)) return { tasks: [], skipped: [{ reason: 'pseudo_label_text', detail: { text_origin: origin } }] };
      const regions = sample.task!.boxes.filter((b): b is Box & { label: string } => typeof b.label === 'string');
      const usable = usableRegions(regions, regions, ctx, skipped);
      return { tasks: shuffled(usable, ctx.rng).slice(0, ctx.options.maxPerSample).map((r) => regionTask(sample, r, ctx)), skipped };
    },
  },
};

type Region = Box & { label: string };

function usableRegions(regions: readonly Region[], all: readonly Region[], ctx: GeneratorContext<ReadTextOptions>, skipped: SkipReason[]): Region[] {
  const out: Region[] = [];
  for (const r of regions) {
    const chars = r.label.replace(/\s+/g, '').length;
    if (chars < ctx.options.minChars || chars > ctx.options.maxChars) {
      skipped.push({ reason: chars < ctx.options.minChars ? 'text_too_short' : 'text_too_long', detail: { chars, min_chars: ctx.options.minChars, max_chars: ctx.options.maxChars } });
      continue;
    }
    const area = (r.x2 - r.x1) * (r.y2 - r.y1);
    const covered = all.filter((o) => o !== r).reduce((n, o) => n + Math.max(0, Math.min(r.x2, o.x2) - Math.max(r.x1, o.x1)) * Math.max(0, Math.min(r.y2, o.y2) - Math.max(r.y1, o.y1)), 0) / Math.max(1, area);
    if (covered > ctx.options.maxCovered) {
      skipped.push({ reason: 'overlapping_regions', detail: { text: r.label.slice(0, 80), covered: Math.round(covered * 1e4) / 1e4, max_covered: ctx.options.maxCovered } });
      continue;
    }
    out.push(r);
  }
  return out;
}

function regionTask(sample: Sample, r: Region, ctx: GeneratorContext<ReadTextOptions>): GeneratedTask {
  const box = `[${r.x1},${r.y1},${r.x2},${r.y2}]`;
  const question = ctx.templates.render('read_region', { box }, ctx.rng);
  return {
    key: `read:${box}`,
    task: { question, answer: toGlmBox(r.label), answer_raw: r.label, answer_type: 'text', choices: [], boxes: [r], verifier: 'ocr', solution: null },
    // A task on a picture, like "locate every ..." (kind `grounding`; GUI keeps `gui`): the filter keeps
    // such a sample's image even where other samples share it, where it strips repeats from `ocr` pages.
    overrides: {
      content: [...imageContent(sample), { type: 'text', text: question, media_id: null }],
      domain: 'ocr',
      kind: sample.kind === 'gui' ? 'gui' : 'grounding',
      meta: derivedMeta(sample, { region: [r.x1, r.y1, r.x2, r.y2] }),
    },
  };
}

function textOrigin(sample: Sample): string {
  try {
    const extra = JSON.parse(sample.signals.extra) as { text_origin?: unknown };
    return typeof extra.text_origin === 'string' ? extra.text_origin : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The text element a GUI comprehension sample points at (its box and its visible text), or null. */
function guiTextElement(sample: Sample): Region | null {
  const meta = parseMeta(sample.meta);
  const element = meta?.element as { kind?: unknown; name?: unknown } | undefined;
  const box = sample.task?.boxes[0];
  if (meta?.task !== 'comprehension' || element?.kind !== 'text' || typeof element.name !== 'string' || !box) return null;
  return { ...box, label: element.name };
}
