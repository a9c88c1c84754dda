import { z } from 'zod';
import { downloadSchema } from '../media/download-config.js';
import { sourceName } from '../qa/config.js';

export const INTERLEAVED_FORMATS = [
  'mmc4', // jsonl: text_list + image_info[].matched_text_index (images after their matched sentence)
  'obelics', // jsonl: parallel texts / images lists, one non-null per position
  'items', // jsonl: items = [{type: text, text} | {type: image, path|url, alt}] in order
  'html', // HTML pages: main content (Readability) walked in order
] as const;

export const interleavedSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('interleaved'),
    /** A file, a folder or a glob, relative to the config file. */
    path: z.string().min(1),
    format: z.enum(INTERLEAVED_FORMATS),
    /** Where relative image paths (MMC4 `image_name`, item paths) resolve; default: the folder of the jsonl file. HTML pages resolve `<img src>` against their own folder. */
    imageRoot: z.string().optional(),
    /**
     * Images only reachable over the network (http(s) URLs, site-relative `/x.png` of a saved page):
     * `record` keeps the document without them and lists them (URL and position) in `meta.remote_images`;
     * `quarantine` quarantines the document (`remote_image`); `download` fetches them with the shared
     * downloader (public addresses only unless `download.allowPrivateNetworks`; size/type/time limits;
     * a disk cache), a failed fetch then counts as an image error.
     */
    remoteImages: z.enum(['record', 'quarantine', 'download']).default('record'),
    /** Downloader settings for `remoteImages: 'download'` (same fields as the caption source's `download`). */
    download: downloadSchema.optional(),
    /** An image that is missing, cannot be decoded or downloaded: quarantine the document, or `omit` the image (listed in `meta.omitted_images`). */
    imageErrors: z.enum(['quarantine', 'omit']).default('quarantine'),
    /** Documents with fewer stored images are dropped (`too_few_images`). */
    minImages: z.number().int().min(0).default(0),
    /** HTML: extract the main content with Readability (boilerplate removed); `false` walks the whole body minus nav/header/footer/aside. */
    readability: z.boolean().default(true),
    /** HTML: pages nesting elements deeper are quarantined (`html_too_deep`) before extraction, whose time grows with the square of the depth. */
    maxHtmlDepth: z.number().int().positive().default(256),
    /** HTML: extraction of one page stops after this long (`html_time_budget`); it runs in a pool process that is killed. */
    htmlTimeBudgetMs: z.number().int().positive().default(20_000),
    /** HTML pages per work unit. */
    pagesPerUnit: z.number().int().positive().default(100),
    domain: z.string().default('web'),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict();

export type InterleavedSourceConfig = z.output<typeof interleavedSourceSchema>;
