import { z } from 'zod';
import { sourceName } from '../qa/config.js';

/** How PDFs are read, shared by the `pdf` source and the OCR modes that read PDFs. */
export const pdfReadingFields = {
  /** A file, a folder (searched for `**\/*.pdf`) or a glob, relative to the config file. */
  path: z.string().min(1),
  /** Pages per work unit (the granularity of commit and resume). */
  pagesPerUnit: z.number().int().positive().default(16),
  /** Larger files are quarantined (`pdf_too_large`) instead of read into memory. */
  maxFileBytes: z.number().int().positive().default(512 * 1024 * 1024),
  /** Pages that would render to more pixels than this are rendered at a lower DPI. */
  maxRenderPixels: z.number().int().positive().default(40_000_000),
  /**
   * PDFs carrying JavaScript (never executed: pdfjs runs without scripting and without eval).
   * `quarantine`: refuse the document (document-level scripts) or page (page/annotation scripts)
   * with reason `pdf_has_javascript`; `flag`: keep them and list the triggers in `signals.extra.javascript`.
   */
  javascript: z.enum(['quarantine', 'flag']).default('quarantine'),
};

export const pdfSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('pdf'),
    ...pdfReadingFields,
    /** One interleaved sample per page (default) or per document (a document is then one work unit). */
    sample: z.enum(['page', 'document']).default('page'),
    /** Resolution figures are cropped at. */
    renderDpi: z.number().min(36).max(600).default(144),
    /** Images whose shorter side is below this many pixels at `renderDpi` are decoration (bullets, logos, rules). */
    minFigureSide: z.number().int().positive().default(48),
    /** Pages with fewer non-space characters count as having no text layer. */
    minTextChars: z.number().int().min(1).default(20),
    domain: z.string().default('document'),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict();

export type PdfSourceConfig = z.output<typeof pdfSourceSchema>;
