/** Pre-training export formats (kept free of imports: the config schema reads this list). */
export const PRETRAINING_FORMATS = ['webdataset', 'interleaved', 'sft'] as const;
export type PretrainingFormat = (typeof PRETRAINING_FORMATS)[number];

export function isPretrainingFormat(format: string): format is PretrainingFormat {
  return (PRETRAINING_FORMATS as readonly string[]).includes(format);
}
