/**
 * Part 6 of `pnpm bench filter`: language identification (ELD, pipelines/shared/language) on real
 * English text of four kinds, CPU per text and the share read as English; and the word breaker for
 * scripts without spaces (pipelines/filter/text.ts) on CMATH's Chinese questions, CPU per text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function lines(file: string, field: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => String((JSON.parse(l) as Record<string, unknown>)[field] ?? ''));
}

/** Best of three CPU ms per item of `f` over `items`, after one warm-up pass. */
function cpuPerItem<T>(items: readonly T[], f: (item: T) => unknown): number {
  for (const item of items) f(item);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = process.cpuUsage();
    for (const item of items) f(item);
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000 / items.length);
  }
  return best;
}

export async function languageBench(corpora: string): Promise<void> {
  const loadStarted = process.cpuUsage();
  const { detectLanguage } = await import('../pipelines/shared/language/identify.js');
  detectLanguage('warm the detector up with a sentence');
  const loaded = process.cpuUsage(loadStarted);
  process.stdout.write(`   ELD loaded (medium database) in ${((loaded.user + loaded.system) / 1000).toFixed(0)} ms CPU\n`);
  const text = join(corpora, 'math_stem_qa', 'text');
  const captions = (JSON.parse(readFileSync(join(corpora, 'image_caption', 'captions_val2017_full_text_only.json'), 'utf8')) as { annotations: Array<{ caption: string }> }).annotations;
  const sets: Array<[string, string[]]> = [
    ['GSM8K questions', lines(join(text, 'gsm8k_test.jsonl'), 'question')],
    ['MMLU-STEM questions', lines(join(text, 'mmlu_stem_test.jsonl'), 'question')],
    ['MATH-500 problems', lines(join(text, 'math500_test.jsonl'), 'problem')],
    ['COCO captions (first 5,000)', captions.slice(0, 5000).map((a) => a.caption)],
  ];
  for (const [name, texts] of sets) {
    const codes = texts.map((t) => detectLanguage(t.trim().slice(0, 2000)));
    const english = codes.filter((c) => c === 'eng').length;
    const undetermined = codes.filter((c) => c === 'und').length;
    const ms = cpuPerItem(texts, (t) => detectLanguage(t.trim().slice(0, 2000)));
    process.stdout.write(
      `   ${name}: ${texts.length} texts, English ${((english / texts.length) * 100).toFixed(1)}%, undetermined ${((undetermined / texts.length) * 100).toFixed(1)}%, other ${(((texts.length - english - undetermined) / texts.length) * 100).toFixed(1)}%; ${ms.toFixed(4)} ms CPU per text\n`,
    );
  }
  const { normaliseText, words } = await import('../pipelines/filter/text.js');
  const chinese = lines(join(text, 'cmath_test.jsonl'), 'question').map(normaliseText);
  const perText = cpuPerItem(chinese, words);
  const count = chinese.reduce((n, t) => n + words(t).length, 0);
  process.stdout.write(`   word breaking, CMATH's ${chinese.length} Chinese questions: ${(count / chinese.length).toFixed(1)} words a question, ${perText.toFixed(4)} ms CPU per question\n`);
}
