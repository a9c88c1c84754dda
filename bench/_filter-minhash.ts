/**
 * Part 2 of `pnpm bench filter`: MinHash signatures per second of real text on one core — the
 * product's path (pipelines/filter: normaliseText → words → word 5-gram shingleHashes → MinHasher
 * with 128 permutations, as the map computes it for QA and document samples) against Python +
 * numpy doing the same work on the same documents in the same run (bench/_filter-minhash.py).
 * Both are timed in CPU seconds of their process (best of `rounds`), so MB/s is per core and a
 * loaded machine slows neither side's number.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MinHasher } from '../pipelines/filter/minhash.js';
import { normaliseText, shingleHashes, words } from '../pipelines/filter/text.js';

const NGRAM = 5;
const PERMUTATIONS = 128;
const PYTHON_SCRIPT = join(import.meta.dirname, '_filter-minhash.py');

export interface TextCorpus {
  name: string;
  docs: string[];
}

/**
 * Real text from ../shared/corpora: the MMC4 web documents (text_list joined) and the math QA
 * records of math_stem_qa/text (every string field of a record joined: problem, solution, options).
 */
export async function loadTextCorpora(corpora: string): Promise<TextCorpus[]> {
  const out: TextCorpus[] = [];
  const mmc4Dir = join(corpora, 'interleaved', 'mmc4_shard151_partial');
  if (existsSync(mmc4Dir)) {
    const docs: string[] = [];
    for (const f of (await readdir(mmc4Dir)).filter((f) => f.endsWith('.jsonl'))) {
      for (const line of (await readFile(join(mmc4Dir, f), 'utf8')).split('\n')) {
        if (!line.trim()) continue;
        const record = JSON.parse(line) as { text_list?: unknown };
        if (Array.isArray(record.text_list)) docs.push(record.text_list.filter((t) => typeof t === 'string').join('\n'));
      }
    }
    out.push({ name: 'MMC4 documents (interleaved/mmc4_shard151_partial)', docs });
  }
  const mathDir = join(corpora, 'math_stem_qa', 'text');
  if (existsSync(mathDir)) {
    const docs: string[] = [];
    for (const f of (await readdir(mathDir)).filter((f) => f.endsWith('.jsonl')).sort()) {
      for (const line of (await readFile(join(mathDir, f), 'utf8')).split('\n')) {
        if (!line.trim()) continue;
        const record = JSON.parse(line) as Record<string, unknown>;
        docs.push(stringsOf(record).join('\n'));
      }
    }
    out.push({ name: 'math QA records (math_stem_qa/text/*.jsonl)', docs });
  }
  return out;
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

interface Run {
  seconds: number;
  signatures: number;
  shingles: number;
}

function stratumRun(docs: string[], hasher: MinHasher): Run {
  const started = process.cpuUsage();
  let signatures = 0;
  let shingles = 0;
  let checksum = 0;
  for (const doc of docs) {
    const tokens = words(normaliseText(doc));
    if (tokens.length < NGRAM) continue;
    const hashes = shingleHashes(tokens, NGRAM);
    const sig = hasher.signature(hashes);
    checksum ^= sig[0] as number;
    signatures++;
    shingles += hashes.length;
  }
  if (checksum === 0.5) process.stdout.write(''); // keeps the result observable
  const cpu = process.cpuUsage(started);
  return { seconds: (cpu.user + cpu.system) / 1e6, signatures, shingles };
}

export async function minhashBench(corpora: TextCorpus[], rounds: number, python: string): Promise<void> {
  const hasher = new MinHasher(PERMUTATIONS);
  for (const corpus of corpora) {
    const bytes = corpus.docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
    const mb = bytes / 1e6;
    stratumRun(corpus.docs.slice(0, 50), hasher); // JIT warm-up
    let best: Run | null = null;
    for (let r = 0; r < rounds; r++) {
      const run = stratumRun(corpus.docs, hasher);
      if (!best || run.seconds < best.seconds) best = run;
    }
    const ours = best as Run;
    process.stdout.write(`   ${corpus.name}: ${corpus.docs.length} documents, ${mb.toFixed(2)} MB UTF-8, ${ours.signatures} with ≥ ${NGRAM} words, ${ours.shingles} shingles\n`);
    const oursRate = mb / ours.seconds;
    process.stdout.write(`      Stratum (TypeScript, 1 thread):  ${oursRate.toFixed(2)} MB/s per core, ${(ours.signatures / ours.seconds).toFixed(0)} docs/s\n`);
    const file = join(tmpdir(), `stratum-bench-minhash-${process.pid}.jsonl`);
    try {
      await writeFile(file, corpus.docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
      const out = execFileSync(python, [PYTHON_SCRIPT, file, String(rounds)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
      const py = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Run;
      const pyRate = mb / py.seconds;
      // the peer splits at spaces only; Stratum also breaks Chinese, Japanese, Thai, Lao, Khmer and Burmese into words (ICU), so it does more work there
      const same =
        py.shingles === ours.shingles && py.signatures === ours.signatures
          ? 'same shingle count'
          : `shingles differ: Python ${py.shingles} in ${py.signatures} docs, splitting at spaces only where Stratum also segments unspaced scripts`;
      process.stdout.write(`      Python + numpy (1 process):      ${pyRate.toFixed(2)} MB/s per core, ${(py.signatures / py.seconds).toFixed(0)} docs/s (${same})\n`);
      process.stdout.write(`      ratio Stratum / Python: ${(oursRate / pyRate).toFixed(2)}×; goal ≥ 3 MB/s per core: ${oursRate >= 3 ? 'met' : 'not met'}\n`);
    } catch (err) {
      process.stdout.write(`      Python + numpy: unavailable (${(err as Error).message.split('\n')[0]})\n`);
    } finally {
      await rm(file, { force: true });
    }
  }
}
