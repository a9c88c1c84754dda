import type { DuckDBResultReader } from '@duckdb/node-api';

const MAX_CELL = 60;

/** A plain-text table of a result, cells cut at 60 characters. */
export function formatTable(columns: string[], rows: unknown[][]): string {
  const cell = (v: unknown): string => {
    const s = v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const flat = s.replace(/\s+/g, ' ');
    return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
  };
  const body = rows.map((r) => r.map(cell));
  // A reduce, not Math.max(...): a spread of 200k row widths overflows the stack.
  const widths = columns.map((c, i) => body.reduce((w, r) => Math.max(w, (r[i] ?? '').length), c.length));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' │ ');
  return [line(columns), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...body.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n');
}

export async function printResult(result: DuckDBResultReader, json: boolean): Promise<void> {
  const columns = result.columnNames();
  if (json) {
    for (const row of result.getRowObjectsJson()) process.stdout.write(JSON.stringify(row) + '\n');
    return;
  }
  if (columns.length === 0) return;
  process.stdout.write(formatTable(columns, result.getRowsJson() as unknown[][]) + '\n');
}
