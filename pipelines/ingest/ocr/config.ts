import { z } from 'zod';
import { pdfReadingFields } from '../pdf/config.js';
import { sourceName } from '../qa/config.js';

export const DEFAULT_OCR_QUESTION = 'Read all the text in the image.';

const common = {
  name: sourceName,
  type: z.literal('ocr'),
  domain: z.string().default('ocr'),
  /** The OCR task's prompt; the answer is the text in GLM's box. */
  question: z.string().min(1).default(DEFAULT_OCR_QUESTION),
  license: z.string().optional(),
  lang: z.string().optional(),
};

const imageFolder = {
  /** An image file, a folder (searched for png/jpg/jpeg/tif/tiff/bmp/webp) or a glob, relative to the config file. */
  path: z.string().min(1),
  /** Images per work unit. */
  imagesPerUnit: z.number().int().positive().default(64),
};

const range = (min: number, max: number) => z.tuple([z.number().min(min).max(max), z.number().min(min).max(max)]).refine(([a, b]) => a <= b, { message: 'use [min, max] with min ≤ max' });

/** Image + ground-truth text pairs: `<stem>.gt.txt` / `<stem>.txt` (plain text) or `<stem>.csv` / box-style `.txt` (SROIE line boxes). */
const pairsSchema = z
  .object({
    ...common,
    mode: z.literal('pairs'),
    ...imageFolder,
    /** Folder holding the ground-truth files (mirroring the image folder's layout), searched before the image's own folder. */
    groundTruth: z.string().optional(),
  })
  .strict();

/** Born-digital PDF pages rendered to images, the text layer as exact ground truth. */
const pdfTextSchema = z
  .object({
    ...common,
    mode: z.literal('pdf-text'),
    ...pdfReadingFields,
    renderDpi: z.number().min(36).max(600).default(144),
    /** Pages with fewer non-space characters count as having no text layer. */
    minTextChars: z.number().int().min(1).default(20),
  })
  .strict();

/** Scanned or image-only PDF pages recognised with tesseract.js. */
const pdfScannedSchema = z
  .object({
    ...common,
    mode: z.literal('pdf-scanned'),
    ...pdfReadingFields,
    pagesPerUnit: z.number().int().positive().default(8),
    renderDpi: z.number().min(72).max(600).default(200),
    minTextChars: z.number().int().min(1).default(20),
    /** tesseract.js workers shared by every unit of the process. */
    workers: z.number().int().min(1).max(8).default(1),
    /** Tesseract language codes; each needs `<code>.traineddata.gz` in `langPath`. */
    languages: z.array(z.string().regex(/^[a-z_]+$/)).min(1).default(['eng']),
    /** Folder of traineddata files; default: node_modules/@tesseract.js-data/eng/4.0.0. */
    langPath: z.string().optional(),
    /** Pages whose mean word confidence (0–100) is lower are dropped (`ocr_low_confidence`). */
    minConfidence: z.number().min(0).max(100).default(60),
  })
  .strict();

/** Photos and screenshots recognised with PP-OCRv4 (detection + recognition ONNX models on the CPU or the CUDA execution provider). */
const sceneTextSchema = z
  .object({
    ...common,
    mode: z.literal('scene-text'),
    ...imageFolder,
    imagesPerUnit: z.number().int().positive().default(16),
    /** ONNX Runtime intra-op threads per session (no spinning). */
    threads: z.number().int().min(1).max(16).default(1),
    /** Where the models run: `auto` (CUDA when its provider library is installed and works, else CPU), `cpu`, or `cuda` (an error without it). */
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    /** Longest image side fed to the detector (multiples of 32). */
    maxSide: z.number().int().min(320).max(4096).default(960),
    /** DB detection: pixel probability threshold and mean box score threshold. */
    pixelThreshold: z.number().gt(0).lt(1).default(0.3),
    boxThreshold: z.number().gt(0).lt(1).default(0.6),
    /** Recognised lines with a lower mean character probability are left out of the text. */
    minLineConfidence: z.number().min(0).max(1).default(0.5),
  })
  .strict();

/** Text rendered in varied fonts, sizes, colours and rotations onto real background images: exact ground truth and boxes. */
const syntheticSchema = z
  .object({
    ...common,
    mode: z.literal('synthetic'),
    ...imageFolder,
    /** A UTF-8 text file or a folder of `.txt` files; its lines are the texts drawn. */
    text: z.string().min(1),
    samplesPerImage: z.number().int().min(1).max(100).default(1),
    /** Font families (registered system fonts); default: every family except math/symbol fonts. */
    fonts: z.array(z.string().min(1)).optional(),
    /** Text height in pixels, as [min, max]. */
    fontSize: range(6, 400).default([18, 64]),
    /** Lines per image, as [min, max]. */
    lines: range(1, 50).default([1, 4]),
    /** Longest line drawn, in characters (longer corpus lines are cut at a word boundary). */
    maxChars: z.number().int().min(1).default(40),
    /** Each line is rotated by a uniform angle in [-maxRotation, maxRotation] degrees. */
    maxRotation: z.number().min(0).max(90).default(10),
    /** Backgrounds are scaled down to this longest side. */
    maxSide: z.number().int().min(64).max(8192).default(1024),
    seed: z.number().int().default(0),
  })
  .strict();

export const ocrSourceSchema = z.discriminatedUnion('mode', [pairsSchema, pdfTextSchema, pdfScannedSchema, sceneTextSchema, syntheticSchema]);

export type OcrSourceConfig = z.output<typeof ocrSourceSchema>;
export type OcrMode = OcrSourceConfig['mode'];
export type OcrSourceOf<M extends OcrMode> = Extract<OcrSourceConfig, { mode: M }>;
