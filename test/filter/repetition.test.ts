import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filterSchema } from '../../pipelines/filter/config.js';
import { judge, measureQuality } from '../../pipelines/filter/heuristics.js';
import { thresholdsFor } from '../../pipelines/filter/thresholds.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import type { Sample, SampleKind } from '../../schemas/sample.js';
import { REPO_ROOT } from '../support/workspace.js';

/**
 * Gopher's repeated-5-gram rule is for documents (Gopher only kept those of 50 words or more). On a
 * short question it fires on structure: the same fraction twice in a formula, "Statement 1 | ...
 * Statement 2 | ..." that differ in a word. Such texts are not judged for repetition; long texts
 * that repeat themselves still are.
 */
const config = filterSchema.parse({});
const sample = (kind: SampleKind, text: string) =>
  ({ kind, content: [{ type: 'text', text, media_id: null }], media: [], task: kind === 'qa' ? { question: text, answer: '<|begin_of_box|>1<|end_of_box|>', choices: [] } : null }) as unknown as Sample;
const verdict = (kind: SampleKind, text: string) => {
  const t = thresholdsFor(config, kind);
  const v = judge(sample(kind, text), measureQuality(text, [], t.langMinChars), [], t);
  return v.ok ? 'kept' : v.reason;
};

function shortStructured(random: () => number): string {
  const v = () => 'abcxyz'[Math.floor(random() * 6)]!;
  const n = () => 1 + Math.floor(random() * 9);
  const frac = (a: string, b: string) => `\\frac{${a}}{${b}}`;
  const [x, p, q] = [v(), n(), n()];
  const forms = [
    () => `Solve: $${frac(`${frac(x, `${x}+${p}`)}-${frac(x, `${x}-${q}`)}`, `${frac(x, `${x}+${p}`)}+${frac(x, `${x}-${q}`)}`)}$`,
    () => `Statement 1 | Every group of order ${p * 6} has a normal subgroup of order ${q}. Statement 2 | Every group of order ${p * 6} has a normal subgroup of order ${q + 1}.`,
    () => `What is the rank of the following matrix? A = [[${p}, ${p}, ${p}], [${p}, ${p}, ${p}], [${p}, ${p}, ${p}]]`,
    () => `Simplify: $-${p} \\sqrt{${q}}+${p} \\sqrt{${q}}-${p} \\sqrt{${q}}+${n()} \\sqrt{${q}}$`,
  ];
  return forms[Math.floor(random() * forms.length)]!();
}

function longRepetitive(random: () => number, words: number): string {
  const phrases = ['click here to buy the best cheap shoes online today', 'free shipping on all orders over fifty dollars now', 'limited offer best price guaranteed for you'];
  const out: string[] = [];
  while (out.length < words) out.push(...phrases[Math.floor(random() * phrases.length)]!.split(' '));
  return out.slice(0, words).join(' ');
}

describe('repetition heuristic', () => {
  it('does not judge short structured questions, which repeat by design', () => {
    const random = mulberry32(5);
    for (let i = 0; i < 500; i++) {
      const text = shortStructured(random);
      expect(verdict('qa', text), text).toBe('kept');
    }
  });

  it('still drops long texts that repeat themselves, from the kind’s minimum length on', () => {
    const random = mulberry32(6);
    for (let i = 0; i < 200; i++) {
      const words = 50 + Math.floor(random() * 400);
      expect(verdict('qa', longRepetitive(random, words))).toBe('heuristic:repetition');
      expect(verdict('interleaved', longRepetitive(random, words))).toBe('heuristic:repetition');
    }
    expect(verdict('qa', longRepetitive(random, 49))).toBe('kept');
    // captions are judged from 10 words: alt-text spam is short
    expect(verdict('caption', longRepetitive(random, 30))).toBe('heuristic:repetition');
    expect(verdict('caption', longRepetitive(random, 9))).toBe('kept');
  });

  const MMLU = join(REPO_ROOT, '..', 'shared', 'corpora', 'math_stem_qa', 'text', 'mmlu_stem_test.jsonl');
  it.skipIf(!existsSync(MMLU))('judges MMLU-STEM questions of 50 words or more only (17 of 3,018 were dropped before, 9 of them shorter)', () => {
    const questions = readFileSync(MMLU, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { question: string }).question);
    const dropped = questions.filter((q) => verdict('qa', q) === 'heuristic:repetition');
    const t = thresholdsFor(config, 'qa');
    for (const q of dropped) expect(measureQuality(q, [], t.langMinChars).words, q).toBeGreaterThanOrEqual(50);
    expect(dropped.length).toBeLessThan(17);
  });
});
