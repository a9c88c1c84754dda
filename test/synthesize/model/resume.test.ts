import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOURNAL_STAGE } from '../../../pipelines/synthesize/model/index.js';
import type { Sample } from '../../../schemas/sample.js';
import { itemTag, startFakePolicyServer, type FakeChatRequest, type FakeItem } from '../../support/openai-server.js';
import { createWorkspace } from '../../support/workspace.js';
import { CAPTIONER, SOLVER, TEACHER, captionSample, contextIn, originalIn, stageContextIn, teacherItems } from './support.js';

function runChild(spec: string, env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-run.ts'), spec], {
      env: { ...process.env, STRATUM_LOG_LEVEL: 'warn', VITEST: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

function journalLines(dir: string): string[] {
  const root = join(dir, 'shards', 'd', JOURNAL_STAGE, '_journal');
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .flatMap((e) => readFileSync(join(e.parentPath, e.name), 'utf8').split('\n').filter((l) => l.trim() !== ''));
}

describe('a killed synthesis run resumes from its journal', () => {
  it('asks again for nothing that was journalled before the SIGKILL', async () => {
    const ws = await createWorkspace('stratum-synth-resume-');
    const IMAGES = 6;
    const items: FakeItem[] = [];
    const samples: Sample[] = [];
    const stage = await stageContextIn(ws.dir);
    for (let i = 0; i < IMAGES; i++) {
      samples.push(await captionSample(stage, 300 + i, `The Golden Gate Bridge with ${10 + i} boats in scene ${i}.`));
      for (let j = 0; j < 3; j++) items.push({ id: `k${i}-${j}`, p: 0.8, answer: String(20 + i + j), wrongAnswer: String(90 + j) });
    }
    const respond = (req: FakeChatRequest) => {
      if (req.model === CAPTIONER) return `Seen from the shore, the Golden Gate Bridge rises above ${originalIn(req)?.match(/(\d+) boats/)?.[1]} boats on the bay in scene ${originalIn(req)?.match(/scene (\d+)/)?.[1]}.`;
      if (req.model !== TEACHER) return undefined;
      const i = Number(contextIn(req)?.match(/scene (\d+)/)?.[1]);
      return teacherItems([0, 1, 2].map((j) => ({ question: `${itemTag(`k${i}-${j}`)} How many boats of colour ${j} are there?`, answer: String(20 + i + j) })));
    };
    const server = await startFakePolicyServer({ items, model: TEACHER, models: [SOLVER, CAPTIONER], seed: 9, respond });
    try {
      const samplesFile = await ws.write('samples.json', JSON.stringify(samples));
      const spec = await ws.write('spec.json', JSON.stringify({ dir: ws.dir, baseUrl: server.baseUrl, samples: samplesFile, out: ws.path('out.json') }));
      const EXPECTED = IMAGES * (1 + 1 + 3); // recaption, teacher, three solver requests per image
      const KILL_AT = 13;

      const killed = await runChild(spec, { STRATUM_FAULT: `journal-append:${KILL_AT}` });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      expect(journalLines(ws.dir)).toHaveLength(KILL_AT);
      const atKill = server.stats.requests;

      const resumed = await runChild(spec);
      expect(resumed.code, resumed.stderr).toBe(0);
      // Exactly what the journal lacked is asked for, nothing it held.
      expect(server.stats.requests - atKill).toBe(EXPECTED - KILL_AT);
      expect(server.stats.requests).toBeLessThanOrEqual(EXPECTED + 1);
      const lines = journalLines(ws.dir);
      expect(lines).toHaveLength(EXPECTED);
      const keys = lines.map((l) => {
        const e = JSON.parse(l) as { sample_id: string; endpoint: string; params_hash: string; prompt_hash: string; offset: number };
        return `${e.sample_id}/${e.endpoint}/${e.params_hash}/${e.prompt_hash}/${e.offset}`;
      });
      expect(new Set(keys).size).toBe(EXPECTED);
      const out = JSON.parse(readFileSync(ws.path('out.json'), 'utf8')) as { offered: { result: { tasks: unknown[]; derived?: unknown[] } }[]; counters: Record<string, { requests: number; replayed: number }> };
      expect(out.offered).toHaveLength(IMAGES * 2);
      expect(out.counters.recaption!.requests + out.counters.teacher!.requests + out.counters.solver!.requests).toBe(EXPECTED - KILL_AT);

      // A third run pays for nothing and makes the same samples.
      const before = server.stats.requests;
      const again = await runChild(spec);
      expect(again.code, again.stderr).toBe(0);
      expect(server.stats.requests).toBe(before);
      const out2 = JSON.parse(readFileSync(ws.path('out.json'), 'utf8')) as typeof out;
      expect(out2.offered).toEqual(out.offered);
      expect(out.offered.filter((o) => (o.result.derived ?? []).length > 0)).toHaveLength(IMAGES);
    } finally {
      await server.close();
      await ws.cleanup();
    }
  }, 240_000); // three child processes on a loaded 2-core machine
});
