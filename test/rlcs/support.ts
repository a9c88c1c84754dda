import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { DatasetLayout } from '../../pipelines/shared/store/layout.js';
import { RlcsPaths } from '../../pipelines/rlcs/store.js';
import { itemTag } from '../support/openai-server.js';
import { queryShards, type Workspace } from '../support/workspace.js';

export interface FixtureSample {
  /** The item id in the source record (and the fake policy's tag). */
  item: string;
  id: string;
  index: number;
  tier: string;
}

export type RlcsOverrides = NonNullable<PipelineConfigInput['datasets'][string]['rlcs']>;

/** A rated dataset `d` of `count` QA items (`What is i + 1?`, level 1–5) through ingest and difficulty, no server. */
export async function buildDataset(ws: Workspace, count: number, opts: { labels?: boolean; rlcs?: RlcsOverrides } = {}): Promise<{ loaded: LoadedConfig; samples: FixtureSample[]; paths: RlcsPaths }> {
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `q${i}`, question: `What is ${i} + 1? ${itemTag(`q${i}`)}`, answer: String(i + 1), level: (i % 5) + 1 }));
  await ws.write('qa.jsonl', lines.join('\n') + '\n');
  const loaded = await ws.config({
    shardsDir: 'shards',
    datasets: {
      d: {
        sources: [{ name: 'qa', type: 'qa', path: 'qa.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer', id: 'id' } }],
        difficulty: opts.labels ? { labels: [{ field: 'level', map: { '1': 'solved', '2': 'easy', '3': 'medium', '4': 'hard', '5': 'unsolved' } }] } : {},
        ...(opts.rlcs ? { rlcs: opts.rlcs } : {}),
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
  await runCommand(loaded, 'filter', {});
  await runCommand(loaded, 'difficulty', {});
  const rows = await queryShards(loaded, `SELECT id, tier, json_extract_string(meta, '$.id') AS m, source.locator AS loc FROM difficulty_samples`);
  const samples = rows.map((r) => {
    const line = Number(String(r.loc).replace('line:', ''));
    return { item: `q${line - 1}`, id: String(r.id), index: parseInt(String(r.id).slice(0, 13), 16), tier: String(r.tier) };
  });
  samples.sort((a, b) => Number(a.item.slice(1)) - Number(b.item.slice(1)));
  return { loaded, samples, paths: new RlcsPaths(new DatasetLayout(loaded.shardsDir, 'd')) };
}

export async function sql(query: string): Promise<Record<string, unknown>[]> {
  const conn = await connect();
  return (await conn.runAndReadAll(query)).getRowObjectsJson() as Record<string, unknown>[];
}
