/** The verifier domains, in one light module so the config schema can validate names without loading the verifiers. */
export const VERIFY_DOMAINS = [
  'math', 'physics', 'chemistry', 'chart', 'counting', 'multiple_choice', 'ocr', 'ocr_ignore_case', 'grounding',
  'AndroidWorld', 'OSWorld', 'WebVoyager', 'vqa', 'general', 'multi_image', 'spatial', 'mmsi', 'geoguess', 'language_mix',
] as const;

export type VerifyDomain = (typeof VERIFY_DOMAINS)[number];
