/**
 * The languages the filter's language identification tells apart (ELD's 60), by the ISO 639-1 code
 * the detector reports, with the ISO 639-3 code that `signals.quality.lang` and `heuristics.languages`
 * use (the macrolanguage where there is one: `zho`, `ara`, `fas`, `msa`, `nor`, ...). No detector is
 * loaded here: the config checks its `languages` against this list without it.
 */
export const DETECTED_LANGUAGES = {
  am: 'amh', ar: 'ara', az: 'aze', be: 'bel', bg: 'bul', bn: 'ben', ca: 'cat', cs: 'ces', da: 'dan', de: 'deu',
  el: 'ell', en: 'eng', es: 'spa', et: 'est', eu: 'eus', fa: 'fas', fi: 'fin', fr: 'fra', gu: 'guj', he: 'heb',
  hi: 'hin', hr: 'hrv', hu: 'hun', hy: 'hye', is: 'isl', it: 'ita', ja: 'jpn', ka: 'kat', kn: 'kan', ko: 'kor',
  ku: 'kur', lo: 'lao', lt: 'lit', lv: 'lav', ml: 'mal', mr: 'mar', ms: 'msa', nl: 'nld', no: 'nor', or: 'ori',
  pa: 'pan', pl: 'pol', pt: 'por', ro: 'ron', ru: 'rus', sk: 'slk', sl: 'slv', sq: 'sqi', sr: 'srp', sv: 'swe',
  ta: 'tam', te: 'tel', th: 'tha', tl: 'tgl', tr: 'tur', uk: 'ukr', ur: 'urd', vi: 'vie', yo: 'yor', zh: 'zho',
} as const satisfies Record<string, string>;

export type LanguageCode = (typeof DETECTED_LANGUAGES)[keyof typeof DETECTED_LANGUAGES];

export const LANGUAGE_CODES: ReadonlySet<string> = new Set(Object.values(DETECTED_LANGUAGES));

/** `und`: too short to judge, or no language the detector is confident of. */
export const UNDETERMINED = 'und';
