import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

let api: Promise<typeof import('@duckdb/node-api')> | null = null;
let instance: Promise<DuckDBInstance> | null = null;

/** The DuckDB module, loaded on first use: its native library costs ~0.2 s CPU to load, which a run with nothing to do should not pay. */
export function duckdbApi(): Promise<typeof import('@duckdb/node-api')> {
  return (api ??= import('@duckdb/node-api'));
}

/** A new connection to the process-wide in-memory DuckDB (Parquet files are the storage, not a .duckdb file). */
export async function connect(): Promise<DuckDBConnection> {
  instance ??= (async () => (await duckdbApi()).DuckDBInstance.create(':memory:', { threads: String(Math.max(2, Math.min(8, (await import('node:os')).cpus().length))) }))();
  return (await instance).connect();
}

/**
 * A connection that opens on its first query. A stage context carries one, and a re-run that finds
 * every unit committed never queries, so it never loads DuckDB. Only the asynchronous query methods
 * are forwarded (run, runAndReadAll, stream, ...); `closeSync` closes the connection if it was opened.
 */
export function lazyConnection(): DuckDBConnection {
  let opened: DuckDBConnection | null = null;
  let opening: Promise<DuckDBConnection> | null = null;
  const open = (): Promise<DuckDBConnection> => (opening ??= connect().then((c) => (opened = c)));
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy({} as DuckDBConnection, {
    get(_target, prop) {
      if (opened) {
        const value = Reflect.get(opened, prop, opened) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(opened) : value;
      }
      if (prop === 'then') return undefined; // not a thenable: `await ctx.conn` must not open it
      if (prop === 'closeSync' || prop === 'disconnectSync') return () => undefined;
      if (typeof prop === 'symbol') return undefined;
      let method = methods.get(prop);
      if (!method) {
        method = async (...args: unknown[]) => {
          const conn = await open();
          const fn = Reflect.get(conn, prop, conn) as unknown;
          if (typeof fn !== 'function') throw new TypeError(`DuckDBConnection.${String(prop)} is not a method`);
          return (fn as (...a: unknown[]) => unknown).apply(conn, args);
        };
        methods.set(prop, method);
      }
      return method;
    },
  });
}

/** The first column of a query's first row as a number (0 when there is no row or it is NULL): counts, sizes. */
export async function queryNumber(conn: DuckDBConnection, sql: string): Promise<number> {
  return Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
}

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function sqlList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

export function columnsStruct(columns: Record<string, string>): string {
  return `{${Object.entries(columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ')}}`;
}
