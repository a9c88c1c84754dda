/**
 * The checkable facts of a caption, found without a model, and whether a rewrite kept them:
 *
 * - numbers: numerals (`1,200`, `3.5`, `03`, `21st`, `1990s`), number words (`twenty-five`,
 *   `a dozen`; not `one`, which is mostly a pronoun), scale words (`1.2 million`, `5k`) and the unit
 *   right after a number (`5 km` = `5-kilometre` = `5km`, `50%` = `50 percent`, `$5` = `5 dollars`).
 *   A number is kept when the rewrite has the same value, with the same unit when the original had one.
 * - named entities: runs of capitalised words (`Golden Gate Bridge`, `Statue of Liberty`,
 *   `Boeing 747`), acronyms (`NASA`), words with inner capitals or digits (`iPhone`, `A380`). A
 *   sentence's first word counts unless it is a function word; a leading `The`/`A` is dropped from
 *   a run. In a sentence written in title case or capitals, capitals say nothing, so its words are
 *   not taken as entities. Kept when the rewrite holds the same words in order, ignoring case,
 *   accents, punctuation, possessives and a plural `s`.
 * - quoted text (`"Open 24 hours"`, `「…」`, `《…》`): kept when the rewrite holds it, ignoring case.
 *
 * Scripts without capitals (CJK, Arabic, ...) get the number and quote checks only.
 */

export interface NumberFact {
  /** As written in the text. */
  text: string;
  value: number;
  /** Canonical unit (`km`, `%`, `usd`, ...) or null. */
  unit: string | null;
}

export interface CaptionFacts {
  numbers: NumberFact[];
  entities: string[];
  quotes: string[];
}

export interface MissingFacts {
  numbers: string[];
  entities: string[];
  quotes: string[];
}

// ---------------------------------------------------------------- numbers

const SMALL: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const SCALES: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 };
const SHORT_SCALES: Record<string, number> = { k: 1e3, mn: 1e6, bn: 1e9 };

/** Unit spellings → canonical unit. Lower case; matched after a number, whole word. */
const UNIT_ALIASES: Record<string, string> = {};
function units(canonical: string, ...spellings: string[]): void {
  for (const s of [canonical, ...spellings]) UNIT_ALIASES[s] = canonical;
}
units('km', 'kms', 'kilometre', 'kilometres', 'kilometer', 'kilometers');
units('m', 'metre', 'metres', 'meter', 'meters');
units('cm', 'centimetre', 'centimetres', 'centimeter', 'centimeters');
units('mm', 'millimetre', 'millimetres', 'millimeter', 'millimeters');
units('mi', 'mile', 'miles');
units('ft', 'foot', 'feet');
units('inch', 'inches');
units('kg', 'kgs', 'kilogram', 'kilograms', 'kilo', 'kilos');
units('g', 'gram', 'grams');
units('lb', 'lbs', 'pound', 'pounds');
units('oz', 'ounce', 'ounces');
units('t', 'tonne', 'tonnes', 'ton', 'tons');
units('l', 'litre', 'litres', 'liter', 'liters');
units('ml', 'millilitre', 'millilitres', 'milliliter', 'milliliters');
units('%', 'percent', 'per cent', 'pct');
units('°c', '℃', 'degrees celsius', 'degree celsius', 'celsius', 'degrees c');
units('°f', '℉', 'degrees fahrenheit', 'fahrenheit', 'degrees f');
units('°', 'degree', 'degrees');
units('km/h', 'kph', 'kmh', 'kilometres per hour', 'kilometers per hour');
units('mph', 'miles per hour');
units('h', 'hr', 'hrs', 'hour', 'hours');
units('min', 'mins', 'minute', 'minutes');
units('s', 'sec', 'secs', 'second', 'seconds');
units('year', 'years', 'yr', 'yrs');
units('month', 'months');
units('day', 'days');
units('week', 'weeks');
units('am', 'a.m.');
units('pm', 'p.m.');
units('usd', 'dollar', 'dollars', 'us dollars');
units('eur', 'euro', 'euros');
units('gbp', 'pounds sterling', 'quid');
units('jpy', 'yen');
units('cny', 'yuan', 'rmb');
units('kb', 'kilobyte', 'kilobytes');
units('mb', 'megabyte', 'megabytes');
units('gb', 'gigabyte', 'gigabytes');
units('tb', 'terabyte', 'terabytes');
units('w', 'watt', 'watts');
units('kw', 'kilowatt', 'kilowatts');
units('v', 'volt', 'volts');
units('hz', 'hertz');
units('mp', 'megapixel', 'megapixels');
units('storey', 'storeys', 'story', 'stories', 'floor', 'floors');
units('x', '×');
const CURRENCY_SIGNS: Record<string, string> = { $: 'usd', '€': 'eur', '£': 'gbp', '¥': 'jpy', '₹': 'inr', '₩': 'krw' };
// "pound(s)" is a weight after a number; a leading £ is the currency. Longest spellings first.
const UNIT_PATTERN = Object.keys(UNIT_ALIASES)
  .sort((a, b) => b.length - a.length)
  .map((u) => u.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/ /g, '\\s+'))
  .join('|');

const NUMERAL = String.raw`(?<![\p{L}\p{N}_.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])`;
const NUMERAL_RE = new RegExp(
  String.raw`([$€£¥₹₩])?\s?(${NUMERAL})(?:(st|nd|rd|th|s)\b)?(?:[\s-]?(${Object.keys(SCALES).join('|')}|k|mn|bn)\b)?(?:[\s-]?(${UNIT_PATTERN})(?![\p{L}\p{N}]))?`,
  'giu',
);
const WORD_NUMBER_RE = new RegExp(
  String.raw`\b((?:a\s+)?(?:dozen|${Object.keys(SMALL).join('|')}|${Object.keys(TENS).join('|')})(?:[\s-]+(?:and\s+)?(?:${[...Object.keys(SMALL), ...Object.keys(TENS), ...Object.keys(SCALES), 'dozen'].join('|')}))*)\b(?:[\s-]?(${UNIT_PATTERN})(?![\p{L}\p{N}]))?`,
  'giu',
);

function wordsValue(phrase: string): number | null {
  let total = 0;
  let current = 0;
  let any = false;
  for (const raw of phrase.toLowerCase().split(/[\s-]+/)) {
    if (raw === 'and' || raw === 'a' || raw === '') continue;
    if (raw === 'dozen') {
      current = (current || 1) * 12;
    } else if (raw in SMALL) current += SMALL[raw]!;
    else if (raw in TENS) current += TENS[raw]!;
    else if (raw === 'hundred') current = (current || 1) * 100;
    else if (raw in SCALES) {
      total += (current || 1) * SCALES[raw]!;
      current = 0;
    } else return null;
    any = true;
  }
  return any ? total + current : null;
}

function canonicalUnit(raw: string | undefined): string | null {
  if (!raw) return null;
  return UNIT_ALIASES[raw.toLowerCase().replace(/\s+/g, ' ')] ?? null;
}

/**
 * Every number in a text. `forFacts` leaves out the word `one` (mostly a pronoun: "the one on the
 * left"), so a rewrite saying "a man" for "one man" is not faulted; a rewrite's numbers include it.
 */
export function extractNumbers(text: string, forFacts = true): NumberFact[] {
  const out: NumberFact[] = [];
  const taken: Array<[number, number]> = [];
  for (const m of text.matchAll(NUMERAL_RE)) {
    const [whole, sign, digits, suffix, scale, unit] = m;
    let value = Number(digits!.replace(/,/g, ''));
    if (!Number.isFinite(value)) continue;
    if (scale) value *= SCALES[scale.toLowerCase()] ?? SHORT_SCALES[scale.toLowerCase()] ?? 1;
    const unitName = canonicalUnit(unit);
    // "5m" is five metres, but "$1.2m" is 1.2 million dollars.
    if (sign && unitName === 'm' && !scale) value *= 1e6;
    const canonical = sign ? CURRENCY_SIGNS[sign]! : unitName;
    if (suffix && suffix.toLowerCase() === 's' && !/^\d{2,4}$/.test(digits!)) continue; // "5s" is seconds only when written as a unit
    out.push({ text: whole.trim(), value: roundValue(value), unit: canonical });
    taken.push([m.index, m.index + whole.length]);
  }
  for (const m of text.matchAll(WORD_NUMBER_RE)) {
    if (taken.some(([a, b]) => m.index < b && m.index + m[0].length > a)) continue;
    const phrase = m[1]!;
    if (forFacts && /^(?:one|a\s+one)$/i.test(phrase.trim())) continue;
    const value = wordsValue(phrase);
    if (value === null) continue;
    out.push({ text: m[0].trim(), value, unit: canonicalUnit(m[2]) });
  }
  return out;
}

function roundValue(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

// ---------------------------------------------------------------- entities

/** Function words: never a name on their own, and dropped from the ends of a run ("The Hague" → "Hague"). */
const FUNCTION_WORDS = new Set(
  (
    "a an the this that these those there here it its it's he she they we you i my our your his her their " +
    'in on at of for from with by to into onto over under near behind beside between above below inside outside during after before ' +
    'and or but nor so yet if as while when where what which who whose why how ' +
    'is are was were be been being has have had do does did can could will would shall should may might must ' +
    'some any each every all both many most several few no not one two three four five six seven eight nine ten'
  ).split(/\s+/),
);
/**
 * Common words that begin captions ("Close-up of ...", "People walking ..."): not a name when one
 * starts a sentence alone, but part of a run when a capitalised word follows ("New York", "Old Town").
 */
const COMMON_INITIAL = new Set(
  (
    'close closeup close-up view photo photograph picture image shot portrait aerial top front back side left right ' +
    'young old little big small large new ' +
    'people man men woman women person persons someone somebody group guy guys girl girls boy boys child children kid kids ' +
    'couple pair adult adults various multiple lots several'
  ).split(/\s+/),
);
/** Words title case leaves in lower case (articles, short prepositions, conjunctions). */
const TITLE_SMALL = new Set('a an the and but or nor for so yet as at by in of on to up via per with from into onto over than off out'.split(' '));
/** Lower-case words allowed inside a run of capitalised words ("Statue of Liberty", "Leonardo da Vinci"). */
const CONNECTORS = new Set(['of', 'de', 'la', 'le', 'du', 'del', 'della', 'der', 'van', 'von', 'da', 'di', 'y', '&', 'the']);
/** Abbreviations whose full stop does not end a sentence. */
const ABBREVIATIONS = /(?:\b(?:St|Mt|Mr|Mrs|Ms|Dr|Prof|Jr|Sr|Inc|Ltd|Co|No|vs|etc|approx|U\.S|U\.K|e\.g|i\.e))\.$/;

interface Token {
  text: string;
  start: number;
  /** Where the match ended in the text (trailing punctuation included). */
  end: number;
  /** First word of a sentence. */
  initial: boolean;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /[\p{L}\p{N}][\p{L}\p{N}\p{M}'’.&-]*/gu;
  let initial = true;
  let last = 0;
  for (const m of text.matchAll(re)) {
    let word = m[0];
    const between = text.slice(last, m.index);
    if (/[!?:;\n•|]|^\s*[-–—]\s/.test(between) || /[“"(\[]\s*$/.test(between)) initial = true;
    // A trailing full stop ends the sentence unless it belongs to an abbreviation or an initial ("J. R.").
    let endsSentence = false;
    if (word.endsWith('.')) {
      if (!ABBREVIATIONS.test(word) && !/^\p{Lu}\.$/u.test(word) && !/^(?:\p{L}\.){2,}$/u.test(word)) endsSentence = true;
      word = word.replace(/\.+$/, '');
    }
    word = word.replace(/['’-]+$/, '');
    tokens.push({ text: word, start: m.index, end: m.index + m[0].length, initial });
    initial = endsSentence;
    last = m.index + m[0].length;
  }
  return tokens;
}

function isCapitalised(word: string): boolean {
  return /^\p{Lu}/u.test(word) || /^\p{Lt}/u.test(word);
}

/** Looks like a name wherever it stands: an acronym, inner capitals (iPhone, McDonald), letters with digits (A380, COVID-19). */
function isNameShaped(word: string): boolean {
  if (/^\p{Lu}{2,}$/u.test(word.replace(/[.&'’-]/g, '')) && /\p{Lu}.*\p{Lu}/u.test(word)) return true;
  if (/^\p{L}+\p{Lu}/u.test(word) && /\p{Ll}/u.test(word)) return true;
  // A380, COVID-19, 4K, 5G; not 1990s, 10am, 1.2m, 2008年 (numbers with a suffix, which the number check covers).
  return /^\p{L}[\p{L}'’.&-]*\p{N}/u.test(word) || /^\p{N}+\p{Lu}+$/u.test(word);
}

/**
 * Sentences in title case ("Red Car Parked On Street", "Barack Obama, Angela Merkel") or in
 * capitals ("A MAN SITTING ON A BENCH"): at least three content words and none in lower case.
 * Capitals cannot tell names from other words there: in title case each content word counts on
 * its own; in capitals (no lower-case letter at all) no word counts.
 */
function titleCaseSentences(tokens: Token[]): Map<number, 'title' | 'caps'> {
  const out = new Map<number, 'title' | 'caps'>();
  let from = 0;
  const flush = (to: number) => {
    const content = tokens.slice(from, to).filter((t) => /\p{L}/u.test(t.text) && t.text.length > 2 && !TITLE_SMALL.has(t.text.toLowerCase()) && !CONNECTORS.has(t.text.toLowerCase()));
    if (content.length >= 3 && content.every((t) => isCapitalised(t.text))) {
      const style = tokens.slice(from, to).some((t) => /\p{Ll}/u.test(t.text)) ? 'title' : 'caps';
      for (let i = from; i < to; i++) out.set(i, style);
    }
    from = to;
  };
  for (let i = 1; i < tokens.length; i++) if (tokens[i]!.initial) flush(i);
  flush(tokens.length);
  return out;
}

export function extractEntities(text: string): string[] {
  // Links, handles and hashtags are not facts of the picture; quoted text is checked as a quote.
  const clean = text.replace(/https?:\/\/\S+|\bwww\.\S+|\S+@\S+\.\S+|[#@][\p{L}\p{N}_]+/gu, ' ').replace(QUOTE_RE, (q) => ' '.repeat(q.length));
  const tokens = tokenize(clean);
  const titled = titleCaseSentences(tokens);
  const entities: string[] = [];
  let run: Token[] = [];
  const flush = () => {
    // Drop connectors and function words at the ends of a run ("The Eiffel Tower" → "Eiffel Tower").
    while (run.length && (CONNECTORS.has(run[0]!.text.toLowerCase()) || FUNCTION_WORDS.has(run[0]!.text.toLowerCase())) && !isNameShaped(run[0]!.text)) run.shift();
    while (run.length && (CONNECTORS.has(run.at(-1)!.text.toLowerCase()) || /^\p{N}/u.test(run.at(-1)!.text) === false && FUNCTION_WORDS.has(run.at(-1)!.text.toLowerCase()))) run.pop();
    const hasName = run.some((t) => isCapitalised(t.text) || isNameShaped(t.text));
    if (run.length && hasName) {
      const only = run.length === 1 ? run[0]! : null;
      const skipLone = only !== null && only.text.length < 2;
      if (!skipLone) entities.push(clean.slice(run[0]!.start, run.at(-1)!.start + run.at(-1)!.text.length));
    }
    run = [];
  };
  for (const [i, t] of tokens.entries()) {
    const word = t.text;
    const lower = word.toLowerCase();
    // A run holds only words separated by spaces: "Paris, 2019" is two things.
    if (run.length && /\S/.test(clean.slice(run.at(-1)!.end, t.start))) flush();
    const style = titled.get(i);
    if (style) {
      flush();
      if (style === 'title' && /\p{L}/u.test(word) && word.length > 1 && !FUNCTION_WORDS.has(lower) && !COMMON_INITIAL.has(lower) && !CONNECTORS.has(lower)) entities.push(word);
      continue;
    }
    const next = tokens[i + 1];
    const nameFollows = next !== undefined && isCapitalised(next.text) && !next.initial && !/\S/.test(clean.slice(t.end, next.start));
    const commonStart = t.initial && (FUNCTION_WORDS.has(lower) || (COMMON_INITIAL.has(lower) && !nameFollows));
    const named = isNameShaped(word) || (isCapitalised(word) && !commonStart && word !== 'I');
    if (named) {
      if (run.length && t.initial) flush();
      run.push(t);
    } else if (run.length && !t.initial && CONNECTORS.has(lower)) {
      run.push(t); // "Statue of Liberty"; trimmed at flush when nothing named follows
    } else flush();
  }
  flush();
  return [...new Set(entities)];
}

// ---------------------------------------------------------------- quotes

const QUOTE_RE = /"([^"\n]{1,200})"|“([^”\n]{1,200})”|„([^“”\n]{1,200})[“”]|«\s?([^»\n]{1,200}?)\s?»|「([^」\n]{1,200})」|『([^』\n]{1,200})』|《([^》\n]{1,200})》/gu;

export function extractQuotes(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(QUOTE_RE)) {
    const q = m.slice(1).find((g) => g !== undefined)?.trim();
    if (q && /[\p{L}\p{N}]/u.test(q)) out.push(q);
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------- comparison

export function extractFacts(text: string): CaptionFacts {
  return { numbers: extractNumbers(text, true), entities: extractEntities(text), quotes: extractQuotes(text) };
}

/** Lower case, accents and punctuation removed, possessives and plural `s` dropped: the words a match compares. */
export function normalisedWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map(singular);
}

function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && /(?:ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

function containsRun(haystack: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return true;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Characters compared for scripts written without spaces (CJK quotes). */
function compact(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** The facts of `original` that `rewrite` lost. */
export function missingFacts(original: CaptionFacts, rewrite: string): MissingFacts {
  const numbers = extractNumbers(rewrite, false);
  const words = normalisedWords(rewrite);
  const compactRewrite = compact(rewrite);
  const missingNumbers = original.numbers.filter((n) => !numbers.some((r) => Math.abs(r.value - n.value) <= 1e-9 * Math.max(1, Math.abs(n.value)) && (n.unit === null || r.unit === n.unit)));
  const missingEntities = original.entities.filter((e) => !containsRun(words, normalisedWords(e)));
  const missingQuotes = original.quotes.filter((q) => {
    const w = normalisedWords(q);
    return w.length > 0 && !containsRun(words, w) && !compactRewrite.includes(compact(q));
  });
  return {
    numbers: [...new Set(missingNumbers.map((n) => n.text))],
    entities: missingEntities,
    quotes: missingQuotes,
  };
}
