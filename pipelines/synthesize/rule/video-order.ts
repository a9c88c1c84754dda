import { z } from 'zod';
import type { ContentPart, MediaDescriptor, Sample } from '../../../schemas/sample.js';
import { LETTERS, toGlmBox } from '../../ingest/qa/answer.js';
import { shuffled } from '../../shared/random.js';
import type { GeneratedTask, GeneratorEntry } from '../generator.js';
import { derivedMeta } from './image-objects.js';

export const videoOrderOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** Frames shown per question (fewer when the clip has fewer distinct frames, at least 3). */
    frames: z.number().int().min(3).max(8).default(4),
    /** Shown frames are at least this many seconds apart. */
    minGapSeconds: z.number().min(0).default(1),
    /** Shown frames differ by at least this many bits of their 64-bit perceptual hash (a static shot has no visible order). */
    minHashDistance: z.number().int().min(0).max(64).default(8),
  })
  .strict();

export type VideoOrderOptions = z.output<typeof videoOrderOptions>;

/**
 * Temporal order from a video's frames and their timestamps: a few frames that are far enough apart
 * in time and look different are shown shuffled, and the question asks which was shown earliest
 * (and which latest), as multiple choice over the image numbers.
 */
export const videoOrder: GeneratorEntry<VideoOrderOptions> = {
  options: videoOrderOptions,
  generator: {
    name: 'video_order',
    version: 1,
    mode: 'rule',
    applies: (sample) => sample.kind === 'video',
    async generate(sample, ctx) {
      const frames = framesOf(sample);
      if (!frames) return { tasks: [], skipped: [{ reason: 'no_frame_times', detail: { image_parts: sample.content.filter((p) => p.type === 'image').length } }] };
      const opts = ctx.options;
      const picked: typeof frames = [];
      for (const f of frames) {
        const last = picked[picked.length - 1];
        if (last && f.t - last.t < opts.minGapSeconds) continue;
        if (picked.some((p) => hashDistance(p.media.phash, f.media.phash) < opts.minHashDistance)) continue;
        picked.push(f);
      }
      if (picked.length < 3) {
        return { tasks: [], skipped: [{ reason: 'too_few_distinct_frames', detail: { frames: frames.length, distinct: picked.length, min_gap_seconds: opts.minGapSeconds, min_hash_distance: opts.minHashDistance } }] };
      }
      // Spread the shown frames over the clip: every k-th of the distinct ones.
      const step = picked.length / Math.min(opts.frames, picked.length);
      const chosen = Array.from({ length: Math.min(opts.frames, picked.length) }, (_, i) => picked[Math.floor(i * step)]!);
      const order = shuffled(chosen, ctx.rng);
      const content: ContentPart[] = order.flatMap((f, i) => [{ type: 'text', text: `Image ${i + 1}:`, media_id: null } as ContentPart, { type: 'image', text: null, media_id: f.media.id } as ContentPart]);
      const choices = order.map((_, i) => `Image ${i + 1}`);
      const earliest = order.indexOf(chosen[0]!);
      const latest = order.indexOf(chosen[chosen.length - 1]!);
      const make = (which: 'earliest' | 'latest', index: number): GeneratedTask => {
        const question = ctx.templates.render(which === 'earliest' ? 'video_earliest' : 'video_latest', {}, ctx.rng);
        const letter = LETTERS[index] as string;
        return {
          key: `${which}:${chosen.map((f) => f.media.id.slice(0, 12)).join(',')}`,
          task: { question, answer: toGlmBox(letter), answer_raw: letter, answer_type: 'choice', choices, boxes: [], verifier: 'multiple_choice', solution: null },
          overrides: {
            content: [...content, { type: 'text', text: question, media_id: null }],
            media: order.map((f) => f.media),
            domain: 'video',
            // A task on pictures (like read_text's): the filter strips frames a `video` sample shares
            // with others, and would strip them from this task, which shares them with its source.
            kind: 'grounding',
            meta: derivedMeta(sample, { shown_times: order.map((f) => f.t), asked: which }),
          },
        };
      };
      return { tasks: [make('earliest', earliest), make('latest', latest)], skipped: [] };
    },
  },
};

/** The frames of a video sample in time order, with their times from `signals.extra.frame_times`, or null. */
function framesOf(sample: Sample): Array<{ t: number; media: MediaDescriptor }> | null {
  let times: unknown;
  try {
    times = (JSON.parse(sample.signals.extra) as { frame_times?: unknown }).frame_times;
  } catch {
    return null;
  }
  const images = sample.content.filter((p) => p.type === 'image');
  if (!Array.isArray(times) || times.length !== images.length || images.length === 0) return null;
  const byId = new Map(sample.media.map((m) => [m.id, m]));
  const frames = images.map((p, i) => ({ t: Number(times[i]), media: byId.get(p.media_id as string) }));
  if (frames.some((f) => !f.media || !Number.isFinite(f.t))) return null;
  return (frames as Array<{ t: number; media: MediaDescriptor }>).sort((a, b) => a.t - b.t);
}

function hashDistance(a: string | null, b: string | null): number {
  if (!a || !b || a.length !== b.length) return 64;
  let bits = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      bits += x & 1;
      x >>>= 1;
    }
  }
  return bits;
}
