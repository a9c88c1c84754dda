import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eld } from 'eld/medium';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { filterSchema } from '../../pipelines/filter/config.js';
import { DETECTED_LANGUAGES } from '../../pipelines/shared/language/codes.js';
import { detectLanguage } from '../../pipelines/shared/language/identify.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

/** English of the kinds the pipeline curates, generated: captions and word problems (franc read 11–41% of such text as Scots, Kapampangan or Afrikaans). */
function englishTexts(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const who = ['A man', 'A woman', 'Two children', 'A small dog', 'A group of people', 'An old truck', 'A cat', 'Several horses', 'A young boy', 'A chef'];
  const doing = ['is standing next to', 'is riding past', 'is sitting on', 'are walking along', 'is parked beside', 'is looking at', 'are playing near', 'is holding'];
  const what = ['a red bus', 'the kitchen counter', 'a busy street', 'a wooden bench', 'the beach at sunset', 'a pile of books', 'a large pizza', 'a snowy hill'];
  const caption = () => `${pick(who)} ${pick(doing)} ${pick(what)}${pick(['.', '', ' in the rain.', ' on a sunny day.'])}`;
  const problem = () => {
    const [a, b, c] = [2 + Math.floor(random() * 90), 2 + Math.floor(random() * 20), 1 + Math.floor(random() * 9)];
    return pick([
      `${pick(['Janet', 'Tom', 'Maria', 'Ken'])} has ${a} apples and buys ${b} more each day for ${c} days. How many apples does she have now?`,
      `A train travels ${a} miles in ${c} hours. What is its average speed in miles per hour?`,
      `If ${b} workers can paint a fence in ${c} hours, how long would it take ${a} workers to paint the same fence?`,
      `The price of a shirt is $${a}. It is discounted by ${b}% and then taxed at ${c}%. What is the final price?`,
    ]);
  };
  return Array.from({ length: count }, () => (random() < 0.5 ? caption() : problem()));
}

/** One everyday sentence per language, written for this test. */
const SENTENCES: Array<[string, string]> = [
  ['deu', 'Der kleine Hund spielt jeden Morgen im Garten mit einem roten Ball.'],
  ['fra', 'Le petit chien joue tous les matins dans le jardin avec une balle rouge.'],
  ['spa', 'El perro pequeño juega cada mañana en el jardín con una pelota roja.'],
  ['ita', 'Il piccolo cane gioca ogni mattina in giardino con una palla rossa.'],
  ['por', 'O cachorro pequeno brinca todas as manhãs no jardim com uma bola vermelha.'],
  ['nld', 'De kleine hond speelt elke ochtend in de tuin met een rode bal.'],
  ['rus', 'Маленькая собака каждое утро играет в саду с красным мячом.'],
  ['zho', '这只小狗每天早上都在花园里玩一个红色的球。'],
  ['jpn', 'その小さな犬は毎朝庭で赤いボールで遊んでいます。'],
  ['ara', 'يلعب الكلب الصغير كل صباح في الحديقة بكرة حمراء.'],
  ['ell', 'Ο μικρός σκύλος παίζει κάθε πρωί στον κήπο με μια κόκκινη μπάλα.'],
  ['tur', 'Küçük köpek her sabah bahçede kırmızı bir topla oynuyor.'],
];

describe('language identification', () => {
  it('knows exactly the languages the detector reports', () => {
    expect(Object.keys(DETECTED_LANGUAGES).sort()).toEqual(Object.values(eld.info().Languages).sort());
  });

  it('reads generated English captions and word problems as English', () => {
    const texts = englishTexts(2000, 11);
    const codes = texts.map(detectLanguage);
    const english = codes.filter((c) => c === 'eng').length;
    expect(english / texts.length).toBeGreaterThanOrEqual(0.99);
    // what is not English is left undetermined rather than named wrong, with few exceptions
    expect(codes.filter((c) => c !== 'eng' && c !== 'und').length / texts.length).toBeLessThan(0.005);
  });

  it('names other languages by their ISO 639-3 codes', () => {
    for (const [code, text] of SENTENCES) expect(detectLanguage(text), text).toBe(code);
  });

  it('refuses a language code it would never report, naming the ones it does', () => {
    expect(filterSchema.parse({ heuristics: { languages: ['eng', 'zho'] } }).heuristics.languages).toEqual(['eng', 'zho']);
    const message = (languages: string[]) => filterSchema.safeParse({ heuristics: { languages } }).error?.issues.map((i) => i.message).join('; ');
    expect(message(['cmn'])).toMatch(/^"cmn" is not one of the ISO 639-3 codes .*\beng\b.*\bzho\b/);
    expect(message(['eng', 'en'])).toMatch(/^"en" is not one/);
  });
});

describe('the language heuristic in the filter', () => {
  let ws: Workspace;
  afterAll(() => ws?.cleanup());
  it('keeps English and drops the other languages when languages is [eng]', async () => {
    ws = await createWorkspace();
    const english = englishTexts(40, 23).map((q, i) => ({ question: `${q} (case ${i})`, answer: '1' }));
    // two sentences each: a single CJK sentence is under langMinChars (40 characters), where no language is judged
    const others = SENTENCES.map(([, q]) => ({ question: `${q} ${q}`, answer: '1' }));
    await ws.write('qa/q.jsonl', [...english, ...others].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const loaded = await ws.config({
      datasets: {
        d: {
          sources: [{ name: 'q', type: 'qa', path: 'qa/q.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer' } }],
          filter: { heuristics: { languages: ['eng'], textMinChars: 0, textMinWords: 0, maxDupNgramRatio: 1 }, nearText: { enabled: false } },
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const rows = await queryShards(loaded, `SELECT l.decision, l.reason, s.task.question AS q FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id WHERE l.stage = 'filter'`);
    const byQuestion = new Map(rows.map((r) => [String(r.q), `${r.decision} ${r.reason}`]));
    for (const r of english) expect(byQuestion.get(r.question), r.question).toBe('kept ok');
    for (const r of others) expect(byQuestion.get(r.question), r.question).toBe('dropped heuristic:language');
  }, 120_000);
});

const CORPORA = join(REPO_ROOT, '..', 'shared', 'corpora');
describe.skipIf(!existsSync(CORPORA))('real English text (../shared/corpora)', () => {
  it('GSM8K questions and COCO captions are English (franc: 12% and 41% other languages)', () => {
    const gsm8k = readFileSync(join(CORPORA, 'math_stem_qa/text/gsm8k_test.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { question: string }).question);
    const coco = (JSON.parse(readFileSync(join(CORPORA, 'image_caption/captions_val2017_full_text_only.json'), 'utf8')) as { annotations: Array<{ caption: string }> }).annotations
      .slice(0, 5000)
      .map((a) => a.caption);
    for (const [name, texts] of [['gsm8k', gsm8k], ['coco', coco]] as const) {
      const english = texts.filter((t) => detectLanguage(t) === 'eng').length;
      expect(english / texts.length, name).toBeGreaterThanOrEqual(0.995);
    }
  });
});
