import { z } from 'zod';
import { downloadSchema } from '../media/download-config.js';
import { sourceName } from '../qa/config.js';

const fieldPath = z.string().min(1);

/** Record fields for `layout: 'records'`; each entry is a dot path into the record. */
export const captionFieldsSchema = z
  .object({
    id: fieldPath.optional(),
    /** A path, base64 / data: URL, bytes (Parquet BLOB), `{bytes, path}` struct, or an http(s) URL. */
    image: fieldPath,
    /** One or more caption fields; each value is a string or a list of strings. */
    captions: z.union([fieldPath, z.array(fieldPath).min(1)]),
    license: fieldPath.optional(),
  })
  .strict();

export const captionSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('caption'),
    /** A file, a folder or a glob, relative to the config file. */
    path: z.string().min(1),
    /**
     * folder: images with sidecar captions (`a.jpg` + `a.txt` / `a.json`);
     * records: jsonl / json / csv / parquet rows with an image and caption fields;
     * webdataset: tar shards, members grouped by key (`x.jpg` + `x.txt` / `x.json`);
     * coco-captions: COCO `captions_*.json` with the images under `imageRoot`.
     */
    layout: z.enum(['folder', 'records', 'webdataset', 'coco-captions']),
    format: z.enum(['jsonl', 'json', 'parquet', 'csv']).optional(),
    fields: captionFieldsSchema.optional(),
    /** Where relative image paths resolve; default: the folder of the file naming them. */
    imageRoot: z.string().optional(),
    imageExtensions: z.array(z.string().regex(/^[a-z0-9]+$/i)).min(1).default(['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif']),
    /** Sidecar files (folder) or members (webdataset) holding the caption, in order of preference. */
    captionExtensions: z.array(z.string().regex(/^[a-z0-9.]+$/i)).min(1).default(['txt', 'json']),
    /** Paths tried in a JSON sidecar/member, first present wins; the value is a string or a list of strings. */
    captionFields: z.array(fieldPath).min(1).default(['caption', 'captions', 'text']),
    /** each: one sample per (image, caption) pair; first: one sample per image, other captions in meta. */
    captions: z.enum(['each', 'first']).default('each'),
    /** false: images without a caption become image-only samples instead of quarantine rows. */
    requireCaption: z.boolean().default(true),
    download: downloadSchema.optional(),
    domain: z.string().default('general'),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.layout === 'records') {
      if (!s.format) ctx.addIssue({ code: 'custom', path: ['format'], message: 'layout records needs format: jsonl | json | parquet | csv' });
      if (!s.fields) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'layout records needs fields: { image, captions }' });
    } else {
      if (s.format) ctx.addIssue({ code: 'custom', path: ['format'], message: `format applies to layout records, not ${s.layout}` });
      if (s.fields) ctx.addIssue({ code: 'custom', path: ['fields'], message: `fields apply to layout records, not ${s.layout}` });
    }
  });

export type CaptionSourceConfig = z.output<typeof captionSourceSchema>;
