/**
 * Images/s for decode + metadata + sha256 + perceptual hashes: sharp in-process vs the image process
 * pool vs Python + PIL (open, load, size, sha256, dHash via a 9×8 greyscale resize), same files,
 * same run. Used by bench/ingest-images.ts; also runs on its own (e.g. bundled on a many-core host):
 *
 *   node --import tsx bench/_image-throughput.ts <folder> [--pool-sizes 1,2,4,8,16] [--in-process 8,32] [--rounds 3] [--repeat N] [--python PATH]
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { createImagePool } from '../pipelines/ingest/media/image-pool.js';
import { runImageTask } from '../pipelines/ingest/media/load-image.js';
import { mapBounded } from '../pipelines/shared/concurrency.js';

export interface ThroughputOptions {
  rounds: number;
  /** Pool sizes to measure; default: the number of cores. */
  poolSizes?: number[];
  /** Tasks each pool worker runs at once; default: the pool's own default. */
  tasksPerWorker?: number[];
  /** `ingest.concurrency` values to measure in-process; default 8 (the config default). */
  inProcessConcurrency?: number[];
  python?: string;
}

const PIL_SCRIPT = String.raw`
import hashlib, io, json, sys, time
from multiprocessing import Pool
from PIL import Image

def work(path):
    with open(path, 'rb') as f:
        data = f.read()
    hashlib.sha256(data).hexdigest()
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        im.size, im.format
        px = list(im.convert('L').resize((9, 8), Image.LANCZOS).getdata())
        bits = 0
        for y in range(8):
            for x in range(8):
                bits = (bits << 1) | (1 if px[y * 9 + x] > px[y * 9 + x + 1] else 0)
        return 1
    except Exception:
        return 0

files = json.load(sys.stdin)
procs, rounds = int(sys.argv[1]), int(sys.argv[2])
best = None
for _ in range(rounds):
    t = time.perf_counter()
    if procs == 1:
        ok = sum(work(f) for f in files)
    else:
        with Pool(procs) as pool:
            ok = sum(pool.map(work, files, chunksize=4))
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(json.dumps({"seconds": best, "ok": ok}))
`;

export async function measureThroughput(files: string[], options: ThroughputOptions): Promise<void> {
  const cores = availableParallelism();
  const task = (path: string) => ({ source: { kind: 'file' as const, path }, maxPixels: 100_000_000, blobRoot: null });
  const results: Record<string, number> = {};

  for (const concurrency of options.inProcessConcurrency ?? [8]) {
    const seconds = await best(options.rounds, () => mapBounded(files, concurrency, (f) => runImageTask(task(f))));
    results[`in-process ${concurrency}`] = seconds;
    line(`sharp in-process (${concurrency} in flight)`, files.length, seconds);
  }
  for (const size of options.poolSizes ?? [cores]) {
    for (const perWorker of options.tasksPerWorker ?? [undefined]) {
      const startup = performance.now();
      const pool = createImagePool(size, perWorker);
      const run = (f: string) => pool.run(task(f));
      await Promise.all(Array.from({ length: size * 2 }, (_, i) => run(files[i % files.length] as string)));
      const ready = (performance.now() - startup) / 1000;
      const seconds = await best(options.rounds, () => mapBounded(files, size * 4, run));
      results[`pool ${size}`] = seconds;
      line(`sharp process pool (${size} workers${perWorker ? ` × ${perWorker} tasks` : ''})`, files.length, seconds, `ready in ${ready.toFixed(2)} s, not counted`);
      await pool.close();
    }
  }

  const python = options.python ?? '/usr/bin/python3';
  for (const procs of [1, cores]) {
    try {
      const out = execFileSync(python, ['-c', PIL_SCRIPT, String(procs), String(options.rounds)], { input: JSON.stringify(files), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
      results[`pil ${procs}`] = (JSON.parse(out) as { seconds: number }).seconds;
      line(`Python + PIL (${procs} process${procs > 1 ? 'es' : ''})`, files.length, results[`pil ${procs}`] as number);
    } catch (err) {
      process.stdout.write(`   Python + PIL (${procs}): unavailable (${(err as Error).message.split('\n')[0]})\n`);
    }
  }

  const inProcess = results[`in-process ${options.inProcessConcurrency?.[0] ?? 8}`] as number;
  const pooled = results[`pool ${(options.poolSizes ?? [cores]).at(-1)}`] as number;
  const ratio = (a: number | undefined, b: number): string => (a === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`);
  process.stdout.write(
    `   speed ratios (largest pool): pool vs in-process ${ratio(inProcess, pooled)}; pool vs PIL 1 process ${ratio(results['pil 1'], pooled)}; ` +
      `pool vs PIL ${cores} processes ${ratio(results[`pil ${cores}`], pooled)}; in-process vs PIL 1 process ${ratio(results['pil 1'], inProcess)}\n`,
  );
}

async function best(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    fastest = Math.min(fastest, (performance.now() - t) / 1000);
  }
  return fastest;
}

function line(label: string, n: number, seconds: number, note = ''): void {
  process.stdout.write(`   ${label.padEnd(38)} ${(n / seconds).toFixed(1).padStart(7)} img/s  (${seconds.toFixed(2)} s${note ? `; ${note}` : ''})\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const folder = args[0];
  if (!folder) throw new Error('usage: _image-throughput <folder> [--pool-sizes 1,2,4] [--in-process 8,32] [--rounds 3] [--repeat 1] [--python /usr/bin/python3]');
  const found = (await glob('**/*.{jpg,jpeg,png}', { cwd: folder, absolute: true })).sort();
  // --repeat N: the list N times over, so a round lasts long enough to time on a many-core host
  const files = Array.from({ length: Number(option('--repeat') ?? 1) }, () => found).flat();
  const list = (v: string | undefined) => v?.split(',').map(Number);
  process.stdout.write(`${found.length} images under ${folder} × ${files.length / Math.max(1, found.length)}, ${availableParallelism()} cores\n`);
  await measureThroughput(files, {
    rounds: Number(option('--rounds') ?? 3),
    poolSizes: list(option('--pool-sizes')),
    inProcessConcurrency: list(option('--in-process')),
    tasksPerWorker: list(option('--tasks-per-worker')),
    python: option('--python'),
  });
}
