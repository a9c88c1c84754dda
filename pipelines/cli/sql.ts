import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { LoadedConfig } from '../shared/config/load.js';
import { datasetNames } from '../shared/runner/context.js';
import { connect } from '../shared/store/duckdb.js';
import { createShardViews } from '../shared/store/views.js';
import { UserError } from '../shared/errors.js';
import { printResult } from './table.js';

async function openShards(loaded: LoadedConfig, dataset: string | undefined) {
  const conn = await connect();
  const views = await createShardViews(conn, loaded.shardsDir, datasetNames(loaded, dataset));
  return { conn, views };
}

export async function sqlCommand(loaded: LoadedConfig, query: string | undefined, opts: { dataset?: string; json?: boolean }): Promise<void> {
  const { conn, views } = await openShards(loaded, opts.dataset);
  if (query !== undefined) {
    let result;
    try {
      result = await conn.runAndReadAll(query);
    } catch (err) {
      // A mistake in the query is the user's to fix: the engine's message, not a stack.
      throw new UserError(`SQL: ${(err as Error).message.split('\n').filter((l) => l.trim()).slice(0, 4).join(' | ')}`);
    }
    await printResult(result, !!opts.json);
    return;
  }
  process.stdout.write(`DuckDB over ${loaded.shardsDir}; views: ${views.join(', ')}. End statements with ';', .quit to leave.\n`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  let buffer = '';
  rl.setPrompt('stratum> ');
  rl.prompt();
  for await (const line of rl) {
    if (!buffer && ['.quit', '.exit', 'quit', 'exit'].includes(line.trim())) break;
    buffer += line + '\n';
    if (buffer.trim().endsWith(';')) {
      try {
        await printResult(await conn.runAndReadAll(buffer), !!opts.json);
      } catch (err) {
        process.stdout.write(`error: ${(err as Error).message}\n`);
      }
      buffer = '';
    }
    rl.setPrompt(buffer ? '   ...> ' : 'stratum> ');
    rl.prompt();
  }
  rl.close();
}

/** Runs a SQL notebook: cells split at lines starting with `-- %%`; each cell's title is the rest of that line. */
export async function notebookCommand(loaded: LoadedConfig, file: string, opts: { dataset?: string }): Promise<void> {
  const { conn } = await openShards(loaded, opts.dataset);
  const text = await readFile(file, 'utf8');
  const cells = text.split(/^-- %%/m).slice(text.trimStart().startsWith('-- %%') ? 1 : 0);
  for (const cell of cells) {
    const [titleLine = '', ...rest] = cell.split('\n');
    const sql = rest.join('\n').trim();
    if (!sql || /^(--[^\n]*\n?)*$/.test(sql)) continue;
    process.stdout.write(`\n## ${titleLine.trim() || 'cell'}\n`);
    try {
      await printResult(await conn.runAndReadAll(sql), false);
    } catch (err) {
      process.stdout.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
