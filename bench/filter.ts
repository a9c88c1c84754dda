/**
 * The filter stage (pipelines/filter), measured:
 *
 * 1. precision and recall of near-duplicate image detection, through ingest + filter and the
 *    ledger: (a) on the known duplicates of ../shared/corpora/natural_images, (b) on copies made
 *    here from its photos (resize, JPEG quality, 5% crop, brightness, watermark, flip), per edit,
 *    with the Hamming distances of each edit and of distinct pairs (bench/_filter-images.ts);
 * 2. MinHash MB/s per core on real text (MMC4 documents, math QA records) against Python + numpy
 *    doing the same work on the same text in the same run (bench/_filter-minhash.ts);
 * 3. the reduce's wall time, CPU time and peak RSS on synthetic map outputs with planted duplicate
 *    clusters, and whether it found them (bench/_filter-reduce.ts);
 * 4. the reduce on one giant near-duplicate text cluster of growing size: edges and CPU must grow
 *    linearly, not with the square of the cluster (bench/_filter-clusters.ts);
 * 5. the filter stage's CPU on a 1% append against a full run, through the CLI (bench/_filter-append.ts);
 * 6. language identification on real English text (share read as English, CPU per text) and the word
 *    breaker on Chinese questions (bench/_filter-language.ts).
 *
 * Parts 1, 2 and 6 need ../shared/corpora and are skipped without it; part 3 generates its input.
 *
 *   pnpm bench filter                                  # reduce at 100k samples
 *   STRATUM_BENCH_FILTER_1M=1 pnpm bench filter        # also 1M
 *   STRATUM_BENCH_FILTER_10M=1 pnpm bench filter       # also 10M (disk: ~6 GB of map Parquet, plus DuckDB spill)
 *   STRATUM_BENCH_FILTER_SIZES=300000 pnpm bench filter  # reduce sizes, comma-separated (replaces the above)
 *   STRATUM_BENCH_FILTER_PARTS=images,minhash,reduce   # a subset of the parts
 *   STRATUM_BENCH_FILTER_RADIUS=56                     # image radius for part 1 (default: the config default)
 *   STRATUM_BENCH_FILTER_RECALL=0.99                   # nearImage.recall for part 1 (default: the config default)
 *   STRATUM_BENCH_FILTER_EDIT_COCO=1                   # part 1(b) also edits the 80 COCO photos (default: distinct photos only)
 *   STRATUM_BENCH_FILTER_REDUCE_MEMORY=1GB             # filter.reduceMemory for part 3 (default: the config default)
 *   STRATUM_BENCH_FILTER_PROGRESS=1                   # part 3: the reduce logs its progress through the image bands (CPU seconds so far)
 *   STRATUM_BENCH_FILTER_IMAGE_SHARE=0                 # share of image samples in part 3 (default 0.5; the rest are text)
 *   STRATUM_BENCH_FILTER_CLUSTER_SIZES=800,4000,16000  # part 4: sizes of the giant near-duplicate text cluster (default 1000,10000,100000)
 *   STRATUM_BENCH_FILTER_APPEND_ROWS=200000            # part 5: rows of the templated corpus (default 50000)
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { filterSchema } from '../pipelines/filter/config.js';
import { log } from '../pipelines/shared/log.js';
import { imageBench } from './_filter-images.js';
import { loadTextCorpora, minhashBench } from './_filter-minhash.js';
import { reduceBench } from './_filter-reduce.js';
import { clusterBench } from './_filter-clusters.js';
import { appendBench } from './_filter-append.js';
import { languageBench } from './_filter-language.js';

const CORPORA = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');
const PARTS = ['images', 'minhash', 'reduce', 'clusters', 'append', 'language'] as const;

function reduceSizes(): number[] {
  const explicit = process.env.STRATUM_BENCH_FILTER_SIZES;
  if (explicit) return explicit.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 6);
  const sizes = [100_000];
  if (process.env.STRATUM_BENCH_FILTER_1M === '1') sizes.push(1_000_000);
  if (process.env.STRATUM_BENCH_FILTER_10M === '1') sizes.push(10_000_000);
  return sizes;
}

export async function benchFilter(): Promise<void> {
  if (!process.env.STRATUM_LOG_LEVEL) log.level = 'warn';
  const defaults = filterSchema.parse({});
  const parts = new Set(process.env.STRATUM_BENCH_FILTER_PARTS ? process.env.STRATUM_BENCH_FILTER_PARTS.split(',').map((p) => p.trim()) : PARTS);
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  process.stdout.write(`${availableParallelism()} cores, load average ${load} at start (wall times below are shared with that load; CPU times are not)\n\n`);

  if (parts.has('images')) {
    process.stdout.write('1. near-duplicate images: ingest + filter on caption records, verdicts from the ledger\n');
    const radius = Number(process.env.STRATUM_BENCH_FILTER_RADIUS ?? defaults.nearImage.radius);
    const recall = Number(process.env.STRATUM_BENCH_FILTER_RECALL ?? defaults.nearImage.recall);
    await imageBench({ corpora: CORPORA, radius, recall, editCoco: process.env.STRATUM_BENCH_FILTER_EDIT_COCO === '1' });
    process.stdout.write('\n');
  }

  if (parts.has('minhash')) {
    process.stdout.write(`2. MinHash (${defaults.nearText.permutations} permutations, word ${defaults.nearText.ngram}-grams), CPU time of one thread / one process, best of 3\n`);
    const corpora = existsSync(CORPORA) ? await loadTextCorpora(CORPORA) : [];
    if (!corpora.length) process.stdout.write(`   skipped: no text corpora under ${CORPORA}\n`);
    else await minhashBench(corpora, 3, process.env.STRATUM_BENCH_PYTHON ?? 'python3');
    process.stdout.write('\n');
  }

  if (parts.has('reduce')) {
    const reduceMemory = process.env.STRATUM_BENCH_FILTER_REDUCE_MEMORY ?? defaults.reduceMemory;
    process.stdout.write(`3. reduce (DuckDB, file-backed, spills beyond reduceMemory) on synthetic signatures with planted clusters of 3\n`);
    const imageShare = Number(process.env.STRATUM_BENCH_FILTER_IMAGE_SHARE ?? 0.5);
    await reduceBench({ sizes: reduceSizes(), reduceMemory, imageShare: Math.min(1, Math.max(0, imageShare)) });
  }

  if (parts.has('clusters')) {
    const reduceMemory = process.env.STRATUM_BENCH_FILTER_REDUCE_MEMORY ?? '256MB';
    const sizes = (process.env.STRATUM_BENCH_FILTER_CLUSTER_SIZES ?? '1000,10000,100000').split(',').map(Number);
    process.stdout.write(`\n4. reduce on one giant near-duplicate text cluster (5% of MinHash values replaced per member), in this process\n`);
    await clusterBench(sizes, reduceMemory);
  }

  if (parts.has('append')) {
    process.stdout.write(`\n5. filter stage on a 1% append against a full run (CLI processes, CPU from /usr/bin/time)\n`);
    await appendBench(Number(process.env.STRATUM_BENCH_FILTER_APPEND_ROWS ?? 50_000));
  }

  if (parts.has('language')) {
    process.stdout.write(`\n6. language identification (ELD) and word breaking, CPU of this thread\n`);
    if (existsSync(CORPORA)) await languageBench(CORPORA);
    else process.stdout.write(`   skipped: no corpora under ${CORPORA}\n`);
  }
}
