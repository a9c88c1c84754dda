import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { CHROMIUM_PATH } from '../../pipelines/ingest/gui/browser.js';
import { loadConfig, type LoadedConfig } from '../../pipelines/shared/config/load.js';
import { writeReport } from '../../pipelines/report/report.js';
import { stageChain } from '../../pipelines/stages.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer, type FakePolicyServer } from '../support/openai-server.js';
import { createWorkspace, makePng, REPO_ROOT, runCli, type Workspace } from '../support/workspace.js';
import { expectedSql, independentSql, reportNumbers, scalar } from './support.js';

/** Checks every number of the report against SQL over the dataset's files, and returns how many were checked. */
async function checkEveryNumber(html: string, loaded: LoadedConfig, dataset: string): Promise<number> {
  const numbers = reportNumbers(html);
  const stages = stageChain(loaded.config.datasets[dataset]!);
  const sql = await independentSql(loaded.shardsDir, dataset);
  let checked = 0;
  try {
    for (const [key, { value, text }] of numbers) {
      if (!key.startsWith(`${dataset}/`)) continue;
      if (value !== null && !key.includes('/timing/') && !key.endsWith('/seconds')) expect(Number(text.replaceAll(',', '')), key).toBe(value);
      const query = expectedSql(key, stages);
      if (query === null) continue;
      expect(value, `${key}: ${query}`).toBe(await scalar(sql.conn, query));
      checked++;
    }
    // The per-step running totals end at the stage's kept count.
    for (const stage of stages) {
      const remaining = [...numbers].filter(([k]) => k.startsWith(`${dataset}/step/${stage}/`) && k.endsWith('/remaining'));
      if (remaining.length) expect(remaining.at(-1)![1].value, `${stage} remaining`).toBe(await scalar(sql.conn, `SELECT count(*) FROM l WHERE stage = '${stage}' AND decision = 'kept'`));
    }
  } finally {
    sql.close();
  }
  return checked;
}

describe('pipeline report on the example job', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;
  let html: string;

  beforeAll(async () => {
    ws = await createWorkspace('stratum-report-');
    loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    await runCommand(loaded, 'all', {});
    const result = await writeReport(loaded, { out: ws.path('report.html') });
    expect(result.written).toBe(true);
    html = await readFile(ws.path('report.html'), 'utf8');
  }, 600_000);
  afterAll(() => ws?.cleanup());

  it('shows numbers each equal to SQL over the ledgers and shards, read independently by glob', async () => {
    const example = await checkEveryNumber(html, loaded, 'example');
    const pretraining = await checkEveryNumber(html, loaded, 'pretraining');
    // funnel, steps, reasons, sources, tiers, pass rates and duplicates of both datasets
    expect(example).toBeGreaterThan(80);
    expect(pretraining).toBeGreaterThan(40);
    const n = reportNumbers(html);
    // a few spelled out, as a reader would check them
    expect(n.get('example/funnel/filter/dropped')?.value).toBe(16);
    // 6 repeated GSM8K rows, and 7 multiple-choice questions replaced by their open forms (synthesize)
    expect(n.get('example/reason/filter/dropped/exact_dup:text')?.value).toBe(6);
    expect(n.get('example/dup/exact_dup:text/clusters')?.value).toBe(6);
    expect(n.get('example/reason/filter/dropped/near_dup:text')?.value).toBe(7);
    expect(n.get('example/dup/near_dup:text/clusters')?.value).toBe(7);
    expect(n.get('example/tier/math/easy')?.value).toBe(11);
    expect(n.get('pretraining/reason/filter/dropped/heuristic:repetition')?.value).toBe(1);
  });

  it('is one self-contained file: no script, no external reference, thumbnails inline, charts as SVG', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(6);
    expect((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length).toBeGreaterThanOrEqual(10);
    for (const section of ['Funnel per stage', 'Funnel per step', 'Reasons', 'Per source', 'Tier mix per domain', 'Pass-rate histogram', 'Duplicate clusters', 'Gallery per kind', 'Timing and throughput', 'Changes since the previous run']) {
      expect(html, section).toContain(section);
    }
  });

  it.skipIf(!existsSync(CHROMIUM_PATH))('renders in headless Chromium with no console error, no request and a screenshot that is not blank', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'], headless: true, timeout: 120_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request ${r.url()}`);
      });
      await page.goto(`file://${ws.path('report.html')}`, { waitUntil: 'load', timeout: 120_000 });
      const images = (await page.evaluate('[...document.images].map((i) => i.complete && i.naturalWidth > 0)')) as boolean[];
      expect(images.length).toBeGreaterThan(10);
      expect(images.every(Boolean)).toBe(true);
      const shot = await page.screenshot({ fullPage: true, timeout: 120_000 });
      expect(problems).toEqual([]);
      const stats = await sharp(shot).stats();
      // not one flat colour: the header, tables and coloured bars make every channel vary
      expect(stats.channels.every((c) => c.stdev > 20)).toBe(true);
      const { dominant } = stats;
      expect([dominant.r, dominant.g, dominant.b].some((v) => v < 240) || stats.entropy > 1).toBe(true);
    } finally {
      await browser.close();
    }
  }, 300_000);
});

describe('pipeline report over runs', () => {
  let ws: Workspace;
  let server: FakePolicyServer;
  let cfg: string;
  const items = Array.from({ length: 12 }, (_, i) => ({ id: `q${i}`, p: [0, 0.5, 1][i % 3]!, answer: String(40 + i) }));

  beforeAll(async () => {
    ws = await createWorkspace('stratum-report-runs-');
    server = await startFakePolicyServer({ items, seed: 5 });
    await ws.write('in/img/a.png', await makePng(3, 80, 60));
    const lines = items.map((it, i) =>
      JSON.stringify({ id: it.id, question: `${itemTag(it.id)} How much is it? <script>alert("x")</script>`, answer: it.answer, image: i % 4 === 0 ? 'img/a.png' : undefined }),
    );
    // two exact copies of q1: the filter drops them in favour of q1
    lines.push(JSON.stringify({ id: 'q1-copy', question: `${itemTag('q1')} How much is it? <script>alert("x")</script>`, answer: items[1]!.answer }));
    lines.push(JSON.stringify({ id: 'q1-copy2', question: `${itemTag('q1')} How much is it? <script>alert("x")</script>`, answer: items[1]!.answer }));
    lines.push('{"broken json');
    await ws.write('in/a.jsonl', lines.join('\n') + '\n');
    const config = {
      shardsDir: ws.path('shards'),
      datasets: {
        d: {
          sources: [{ name: 'qa', type: 'qa', path: 'in/*.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer', images: 'image' } }],
          difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: 4, temperature: 1, topP: 1, maxTokens: 128, concurrency: 4, timeoutMs: 60_000, seed: 3 },
          export: { formats: ['verl'] },
        },
      },
    };
    cfg = await ws.write('pipeline.config.ts', `export default ${JSON.stringify(config, null, 2)};\n`);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await ws?.cleanup();
  });

  it('`run all` writes it, a re-run with nothing new leaves it alone, new input shows as changes, rollouts and cache hits match the shards', async () => {
    const first = await runCli(['run', 'all', '--config', cfg]);
    expect(first.code, first.stderr).toBe(0);
    const path = ws.path('shards', 'report.html');
    expect(first.stdout).toContain(`report written: ${path}`);
    const loaded = await loadConfig(cfg);
    let html = await readFile(path, 'utf8');
    expect(await checkEveryNumber(html, loaded, 'd')).toBeGreaterThan(30);
    let n = reportNumbers(html);
    expect([...n.keys()].filter((k) => k.startsWith('d/reason/ingest/quarantined/'))).toEqual(['d/reason/ingest/quarantined/malformed_json']);
    expect(n.get('d/funnel/ingest/quarantined')?.value).toBe(1);
    expect(n.get('d/dup/exact_dup:text/dropped')?.value).toBe(2);
    expect(n.get('d/rollouts/fake/fake-policy/requests')?.value).toBe(server.stats.requests);
    expect(n.get('d/journal/new_requests')?.value).toBe(server.stats.requests);
    expect(n.get('d/journal/replayed')?.value).toBe(0);
    expect(html).toContain('first recorded state');
    // user text is shown, never interpreted
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/i);

    const again = await runCli(['run', 'all', '--config', cfg]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('report unchanged');
    expect(await readFile(path, 'utf8')).toBe(html);

    // new input: one more file; the difficulty of old samples comes from the journal
    const paid = server.stats.requests;
    await ws.write('in/b.jsonl', JSON.stringify({ id: 'q-new', question: `${itemTag('q0')} And this one?`, answer: items[0]!.answer }) + '\n');
    const third = await runCli(['run', 'all', '--config', cfg]);
    expect(third.code, third.stderr).toBe(0);
    html = await readFile(path, 'utf8');
    expect(await checkEveryNumber(html, loaded, 'd')).toBeGreaterThan(30);
    n = reportNumbers(html);
    expect(n.get('d/change/ingest: in/before')?.value).toBe(15);
    expect(n.get('d/change/ingest: in/after')?.value).toBe(16);
    expect(n.get('d/change/rollout requests/after')?.value).toBe(server.stats.requests);
    expect(n.get('d/run/ingest/processed')?.value).toBe(1);
    expect(server.stats.requests).toBeGreaterThan(paid);

    // forcing every unit again pays for nothing: all rollouts are cache hits from the journal
    const forced = await runCli(['run', 'all', '--force', '--config', cfg]);
    expect(forced.code, forced.stderr).toBe(0);
    const requests = server.stats.requests;
    html = await readFile(path, 'utf8');
    n = reportNumbers(html);
    expect(n.get('d/journal/new_requests')?.value).toBe(0);
    expect(n.get('d/journal/replayed')?.value).toBe(n.get('d/rollouts/fake/fake-policy/rollouts')?.value);
    expect(server.stats.requests).toBe(requests);

    const standalone = await runCli(['report', '--config', cfg, '--out', ws.path('elsewhere', 'r.html')]);
    expect(standalone.code, standalone.stderr).toBe(0);
    expect(standalone.stdout).toContain('report written');
    expect(reportNumbers(await readFile(ws.path('elsewhere', 'r.html'), 'utf8')).get('d/funnel/filter/in')?.value).toBe(n.get('d/funnel/filter/in')?.value);
  }, 600_000);

  it('a dataset with nothing committed yet gets a report that says so', async () => {
    const empty = await createWorkspace('stratum-report-empty-');
    try {
      const config = { shardsDir: empty.path('shards'), datasets: { e: { sources: [{ name: 'qa', type: 'qa', path: 'none.jsonl', format: 'jsonl' }] } } };
      const file = await empty.write('pipeline.config.ts', `export default ${JSON.stringify(config)};\n`);
      const loaded = await loadConfig(file);
      const result = await writeReport(loaded);
      const html = await readFile(result.path, 'utf8');
      expect(html).toContain('No stage has committed anything yet');
    } finally {
      await empty.cleanup();
    }
  });
});
