import { z } from 'zod';
import { sourceName } from '../qa/config.js';

export const GUI_TASKS = [
  'comprehension', // given the element's description (role + text / accessible name) → its box
  'generation', // given a box → the element's text / accessible name
] as const;

export const viewportSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]+$/),
    width: z.number().int().min(64).max(8192),
    height: z.number().int().min(64).max(8192),
    deviceScaleFactor: z.number().positive().max(4).default(1),
    /** Mobile emulation (meta viewport honoured, touch events). */
    isMobile: z.boolean().default(false),
  })
  .strict();

export const guiSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('gui'),
    /** Local HTML pages: a file, a folder (every *.html / *.htm) or a glob, relative to the config file. */
    path: z.string().min(1).optional(),
    /** http(s) pages to render; only with `allowUrls: true`. */
    urls: z.array(z.url({ protocol: /^https?$/ })).default([]),
    allowUrls: z.boolean().default(false),
    /** Hosts besides the page's own that its resources may load from; every other request is blocked (local pages: none). */
    allowedHosts: z.array(z.string().min(1)).default([]),
    viewports: z.array(viewportSchema).min(1).default([{ name: 'desktop', width: 1280, height: 800, deviceScaleFactor: 1, isMobile: false }]),
    /** Navigation (to the `load` event), element collection and screenshot each get this long. */
    pageTimeoutMs: z.number().int().positive().default(15_000),
    /** Elements kept per rendered page (interactive first, then images, headings, other text). */
    maxElements: z.number().int().positive().default(100),
    /** Elements whose text / name is longer are not used (long paragraphs make poor referring expressions). */
    maxTextChars: z.number().int().positive().default(80),
    /** Also use text blocks (headings, paragraphs, list items, cells), not only interactive elements and images. */
    textElements: z.boolean().default(true),
    tasks: z.array(z.enum(GUI_TASKS)).min(1).default(['comprehension', 'generation']),
    javaScript: z.boolean().default(true),
    /** Pages per work unit (one browser per unit). */
    pagesPerUnit: z.number().int().positive().default(20),
    domain: z.string().default('gui'),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict();

export type GuiSourceConfig = z.output<typeof guiSourceSchema>;
export type Viewport = z.output<typeof viewportSchema>;
export type GuiTaskKind = (typeof GUI_TASKS)[number];
