import { DuckDBDataChunk, INTEGER, type DuckDBConnection } from '@duckdb/node-api';
import { queryNumber } from '../shared/store/duckdb.js';

/**
 * Union-find over dense integer node ids 0..n−1 with edges streamed from DuckDB, chunk by chunk
 * (the edge list is never held in JavaScript): one Int32Array of n parents, 4 bytes a node. Each
 * root is the smallest id of its component. Linear in the edges (path halving), whatever the
 * shape of the components: a chain of a million nodes costs what a star does, where min-label
 * propagation in SQL needs as many rounds as the chain is long.
 */
export class UnionFind {
  readonly parent: Int32Array;

  constructor(readonly size: number) {
    this.parent = new Int32Array(size);
    for (let i = 0; i < size; i++) this.parent[i] = i;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      const up = p[p[x]!]!;
      p[x] = up;
      x = up;
    }
    return x;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }

  /** Feeds every row (a, b) of an INTEGER × INTEGER query. */
  async addEdges(conn: DuckDBConnection, sql: string): Promise<number> {
    const result = await conn.stream(sql);
    let edges = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const a = chunk.getColumnVector(0);
      const b = chunk.getColumnVector(1);
      for (let i = 0; i < chunk.rowCount; i++) this.union(a.getItem(i) as number, b.getItem(i) as number);
      edges += chunk.rowCount;
    }
    return edges;
  }

  /** Writes (node, root) for every node whose component has more than one node, or for every node with `all`. */
  async writeRoots(conn: DuckDBConnection, table: string, all = false): Promise<void> {
    await conn.run(`CREATE OR REPLACE TABLE ${table} (node INTEGER, root INTEGER)`);
    const roots = new Int32Array(this.size);
    const size = new Int32Array(all ? 0 : this.size);
    for (let i = 0; i < this.size; i++) {
      roots[i] = this.find(i);
      if (!all) size[roots[i]!]!++;
    }
    const appender = await conn.createAppender(table);
    const CHUNK = 2048;
    const chunk = DuckDBDataChunk.create([INTEGER, INTEGER], CHUNK);
    let nodes: number[] = [];
    let rootsOut: number[] = [];
    const flush = (): void => {
      if (!nodes.length) return;
      chunk.rowCount = nodes.length;
      chunk.setColumns([nodes, rootsOut]);
      appender.appendDataChunk(chunk);
      nodes = [];
      rootsOut = [];
    };
    for (let i = 0; i < this.size; i++) {
      if (!all && size[roots[i]!]! < 2) continue;
      nodes.push(i);
      rootsOut.push(roots[i]!);
      if (nodes.length === CHUNK) flush();
    }
    flush();
    appender.closeSync();
  }
}

/**
 * Connected components of an edge table (columns a, b, any comparable type): `out(node, comp)`
 * with one row per node that occurs in an edge, `comp` the smallest node of its component. Nodes
 * get dense ids in SQL; the union-find holds 4 bytes per node.
 */
export async function connectedComponents(conn: DuckDBConnection, edges: string, out: string): Promise<number> {
  await conn.run(`CREATE OR REPLACE TABLE _cc_nodes AS SELECT node, (row_number() OVER (ORDER BY node) - 1)::INTEGER AS id
    FROM (SELECT a AS node FROM ${edges} UNION SELECT b FROM ${edges})`);
  const n = await queryNumber(conn, `SELECT count(*)::BIGINT FROM _cc_nodes`);
  const uf = new UnionFind(n);
  await uf.addEdges(conn, `SELECT x.id, y.id FROM ${edges} e JOIN _cc_nodes x ON x.node = e.a JOIN _cc_nodes y ON y.node = e.b`);
  await uf.writeRoots(conn, '_cc_roots', true);
  await conn.run(`CREATE OR REPLACE TABLE ${out} AS SELECT n.node, c.node AS comp FROM _cc_roots r JOIN _cc_nodes n ON n.id = r.node JOIN _cc_nodes c ON c.id = r.root`);
  await conn.run(`DROP TABLE _cc_nodes; DROP TABLE _cc_roots`);
  return n;
}
