import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { filterSchema } from '../../pipelines/filter/config.js';
import { judge, measureQuality } from '../../pipelines/filter/heuristics.js';
import { normaliseText, shingleHashes, words } from '../../pipelines/filter/text.js';
import { thresholdsFor } from '../../pipelines/filter/thresholds.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import type { Sample } from '../../schemas/sample.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

/**
 * Chinese, Japanese, Thai, Khmer write no spaces between words; Devanagari, Arabic and Thai carry
 * combining marks inside words. Text generated from word lists in those scripts is counted,
 * shingled and deduplicated by its words, as English is: a Chinese caption is not one "word" (it was,
 * and every one was dropped as too_few_words), and a near copy of a Chinese paragraph is found.
 */
const VOCAB = {
  zh: ['猫', '沙发', '红色', '的', '坐在', '一只', '小女孩', '看书', '旁边', '公园', '我们', '今天', '天气', '很好', '学生', '老师', '问题', '答案', '数学', '计算'],
  ja: ['猫', 'ソファ', '赤い', 'に', '座っている', '女の子', '本', '読んで', '公園', '今日', '天気', '学生', '先生', '問題', '答え', '数学'],
  th: ['แมว', 'นั่ง', 'อยู่', 'บน', 'โซฟา', 'สี', 'แดง', 'เด็ก', 'ผู้หญิง', 'อ่าน', 'หนังสือ', 'สวน', 'วันนี้', 'อากาศ', 'ดี', 'นักเรียน'],
  km: ['ឆ្មា', 'អង្គុយ', 'លើ', 'សាឡុង', 'ក្មេង', 'ស្រី', 'អាន', 'សៀវភៅ', 'សួន', 'ថ្ងៃនេះ'],
} as const;
const SPACED_WITH_MARKS = {
  hi: ['बिल्ली', 'लाल', 'सोफ़े', 'पर', 'बैठी', 'है', 'लड़की', 'किताब', 'पढ़', 'रही', 'आज', 'मौसम', 'अच्छा'],
  ar: ['القِطَّةُ', 'تَجْلِسُ', 'عَلَى', 'الأَرِيكَةِ', 'الحَمْرَاءِ', 'البِنْتُ', 'تَقْرَأُ', 'كِتَابًا'],
} as const;

function sentence(random: () => number, vocab: readonly string[], n: number, joiner: string): string {
  return Array.from({ length: n }, () => vocab[Math.floor(random() * vocab.length)]!).join(joiner);
}
const config = filterSchema.parse({});
const captionVerdict = (text: string) => {
  const t = thresholdsFor(config, 'caption');
  const v = judge({ kind: 'caption', content: [{ type: 'text', text, media_id: null }], media: [], task: null } as unknown as Sample, measureQuality(text, [], t.langMinChars), [], t);
  return v.ok ? 'kept' : v.reason;
};
const jaccard = (a: Uint32Array, b: Uint32Array) => {
  const A = new Set(a);
  const B = new Set(b);
  let shared = 0;
  for (const x of A) if (B.has(x)) shared++;
  return shared / (A.size + B.size - shared);
};

describe('words of scripts without spaces, and of scripts with combining marks', () => {
  it('a caption written without spaces has its words: kept, not too_few_words', () => {
    const random = mulberry32(3);
    for (const [lang, vocab] of Object.entries(VOCAB)) {
      for (let i = 0; i < 50; i++) {
        const n = 3 + Math.floor(random() * 8);
        const text = sentence(random, vocab, n, '');
        expect(words(normaliseText(text)).length, `${lang}: ${text}`).toBeGreaterThanOrEqual(Math.ceil(n / 2));
        expect(captionVerdict(text), `${lang}: ${text}`).toBe('kept');
      }
    }
  });

  it('combining marks stay inside their words', () => {
    const random = mulberry32(4);
    for (const [lang, vocab] of Object.entries(SPACED_WITH_MARKS)) {
      for (let i = 0; i < 50; i++) {
        const n = 2 + Math.floor(random() * 10);
        const text = sentence(random, vocab, n, ' ');
        expect(words(normaliseText(text)), `${lang}: ${text}`).toHaveLength(n);
      }
    }
  });

  it('shingles find a near copy of a paragraph written without spaces, and tell different paragraphs apart', () => {
    const random = mulberry32(5);
    for (const [lang, vocab] of Object.entries(VOCAB)) {
      for (let i = 0; i < 20; i++) {
        const tokens: string[] = Array.from({ length: 60 }, () => vocab[Math.floor(random() * vocab.length)]!);
        const copy = [...tokens];
        copy[10] = '句';
        copy[40] = '句';
        const other = Array.from({ length: 60 }, () => vocab[Math.floor(random() * vocab.length)]!);
        const shingles = (t: string[]) => shingleHashes(words(normaliseText(t.join(''))), 5);
        expect(jaccard(shingles(tokens), shingles(copy)), lang).toBeGreaterThan(0.5);
        expect(jaccard(shingles(tokens), shingles(other)), lang).toBeLessThan(0.3);
      }
    }
  });
});

describe('near-duplicate Chinese questions in the filter', () => {
  let ws: Workspace;
  afterAll(() => ws?.cleanup());
  it('drops the near copies and keeps the distinct questions', async () => {
    ws = await createWorkspace();
    const random = mulberry32(9);
    // 80 words; the copy has one more, between two of them
    const tokenLists = Array.from({ length: 8 }, () => Array.from({ length: 80 }, () => VOCAB.zh[Math.floor(random() * VOCAB.zh.length)]!));
    const originals = tokenLists.map((t) => t.join(''));
    const copies = tokenLists.map((t) => [...t.slice(0, 40), '非常', ...t.slice(40)].join(''));
    const rows = [...originals, ...copies].map((question, i) => ({ id: `q${i}`, question, answer: String(i) }));
    await ws.write('qa/zh.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const loaded = await ws.config({ datasets: { z: { sources: [{ name: 'zh', type: 'qa', path: 'qa/zh.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer', id: 'id' } }] } } });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const decided = await queryShards(loaded, `SELECT s.task.question AS q, l.decision, l.reason FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id WHERE l.stage = 'filter'`);
    const of = (q: string) => decided.find((r) => r.q === q);
    const kept = [...originals, ...copies].filter((q) => of(q)?.decision === 'kept');
    expect(kept).toHaveLength(originals.length);
    for (const [i, q] of originals.entries()) {
      // one of each pair is kept, the other dropped as its near duplicate
      const pair = [of(q), of(copies[i]!)].map((r) => `${r?.decision} ${r?.reason}`).sort();
      expect(pair, q).toEqual(['dropped near_dup:text', 'kept ok']);
    }
  }, 120_000);
});
