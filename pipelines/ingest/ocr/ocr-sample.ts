import type { Box, MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { normaliseBox, type PixelBox } from '../grounding/boxes.js';
import { toGlmBox } from '../qa/answer.js';
import { buildSample, imagePart, textPart } from '../sample-builder.js';
import type { OcrSourceConfig } from './config.js';

/** Where an OCR sample's text comes from: exact ground truth, or a recogniser's output (a pseudo-label). */
export type TextOrigin = 'ground-truth' | 'text-layer' | 'synthetic' | 'tesseract' | 'ppocr';

/** A line of the transcription with its box in the image's pixel frame. */
export interface OcrLine {
  text: string;
  box: PixelBox;
}

export interface OcrReading {
  media: MediaDescriptor;
  /** The transcription: lines in reading order joined by newlines (or the ground-truth file as written). */
  text: string;
  lines: OcrLine[];
  /** The pixel frame the line boxes are in, when it is not the stored image's (EXIF-rotated photos). */
  frame?: { width: number; height: number };
  origin: TextOrigin;
  signals?: Record<string, unknown>;
  meta?: unknown;
}

/**
 * Keeps an OCR sample: content is the image then its text; the task asks for the text and checks
 * it with the `ocr` verifier (1 − edit distance / max length). Line boxes go to the task on the
 * 0–999 scale, labelled with their text; boxes that fall outside the image are counted, not kept.
 */
export function keepOcrSample(ctx: StageContext, sink: UnitSink, source: OcrSourceConfig, ref: { source_uri: string; locator: string }, reading: OcrReading): void {
  const { media } = reading;
  const frame = reading.frame ?? { width: media.width ?? 0, height: media.height ?? 0 };
  const boxes: Box[] = [];
  let badBoxes = 0;
  for (const line of reading.lines) {
    const normalised = frame.width && frame.height ? normaliseBox(line.box, frame.width, frame.height) : null;
    if (normalised?.ok) boxes.push({ label: line.text, ...normalised.box });
    else badBoxes++;
  }
  const sample = buildSample(ctx, {
    source,
    uri: ref.source_uri,
    locator: ref.locator,
    kind: 'ocr',
    domain: source.domain,
    content: [imagePart(media), textPart(reading.text)],
    media: [media],
    task: {
      question: source.question,
      answer: toGlmBox(reading.text),
      answer_raw: reading.text,
      answer_type: 'text',
      choices: [],
      boxes,
      verifier: 'ocr',
      solution: null,
    },
    signals: { text_origin: reading.origin, lines: reading.lines.length, ...(badBoxes ? { boxes_outside_image: badBoxes } : {}), ...reading.signals },
    meta: reading.meta ?? {},
  });
  sink.keep({ sample_id: sample.id, ...ref }, { ...sample, tier: sample.difficulty.tier });
}
