import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { ConceptMatcher } from '../../pipelines/embed/concepts.js';
import { conceptsSchema } from '../../pipelines/embed/concepts-config.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { makeScene, rng } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

describe('concept balancing (MetaCLIP)', () => {
  it('matches whole words and word sequences after normalisation', () => {
    const m = new ConceptMatcher(conceptsSchema.parse({ vocabulary: ['dog', 'New York', 'cat'] }), '.');
    expect(m.match('A DOG in new-york, near a dogma')).toEqual(['New York', 'dog']);
    expect(m.match('catalogue')).toEqual([]);
  });

  it('caps head concepts near t, keeps tail concepts whole, and the counts before and after are queryable', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const r = rng(3);
    const rows = [];
    // 'dog' in 40 captions, 'cat' in 3, 'boat' in 1, 4 with no concept; distinct images
    const plan = [...Array(40).fill('dog'), ...Array(3).fill('cat'), 'boat', ...Array(4).fill('')];
    for (const [i, concept] of plan.entries()) {
      await ws.write(`img/${i}.jpg`, await makeScene(200 + i, 320, 240));
      rows.push({ id: `s${i}`, image: `../img/${i}.jpg`, caption: `${concept ? `a ${concept}` : 'something'} photographed at place ${i} number ${Math.floor(r() * 1e6)}` });
    }
    await ws.write('records/pairs.jsonl', rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const config: PipelineConfigInput = {
      datasets: {
        c: {
          sources: [{ name: 'pairs', type: 'caption', layout: 'records', path: 'records/pairs.jsonl', format: 'jsonl', fields: { id: 'id', image: 'image', captions: 'caption' } }],
          ingest: { unitRows: 12 },
          filter: {
            imageWorkers: 1,
            heuristics: { imageMinSide: 100 },
            embed: { enabled: false },
            concepts: { vocabulary: ['dog', 'cat', 'boat'], maxPerConcept: 10, seed: 7 },
          },
        },
      },
    };
    const loaded = await ws.config(config);
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const counts = await queryShards(loaded, `SELECT concept, before, after FROM concept_counts ORDER BY concept`);
    const dog = counts.find((c) => c.concept === 'dog')!;
    expect(counts.find((c) => c.concept === 'cat')).toMatchObject({ before: 3, after: 3 });
    expect(counts.find((c) => c.concept === 'boat')).toMatchObject({ before: 1, after: 1 });
    expect(dog.before).toBe(40);
    // each of 40 kept with p = 10/40: binomial(40, 0.25), mean 10, sd 2.7
    expect(Number(dog.after)).toBeGreaterThanOrEqual(3);
    expect(Number(dog.after)).toBeLessThanOrEqual(18);
    const dropped = await queryShards(loaded, `SELECT details FROM ledger WHERE stage = 'filter' AND reason = 'concept_balance'`);
    expect(dropped.length).toBe(40 - Number(dog.after));
    for (const d of dropped) expect(JSON.parse(String(d.details))).toMatchObject({ concepts: ['dog'], counts: [40], max_per_concept: 10 });
    const funnel = await queryShards(loaded, `SELECT count(*)::INTEGER AS n FROM filter_samples`);
    expect(funnel[0]!.n).toBe(48 - dropped.length);
  }, 180_000);
});
