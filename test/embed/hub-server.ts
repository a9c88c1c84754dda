import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback model hub speaking the parts of Hugging Face's file API that `models pull` uses:
 * `GET /api/models/<repo>/revision/<rev>` (the commit), `GET /api/models/<repo>/tree/<commit>?recursive=true`
 * (paged with a `Link: rel="next"` header), and `GET /<repo>/resolve/<commit>/<path>`, which
 * redirects LFS files (here: every `.onnx` file) to a content-addressed `/cdn/<sha256>` that
 * honours `Range`. Faults can be planted per path: a connection that stalls after n bytes, a flipped byte.
 */
export interface HubRepo {
  files: Record<string, Uint8Array>;
  /** Needs `Authorization: Bearer <token>`. */
  token?: string;
}

export interface HubFaults {
  /** Send this many bytes of the next response for the path, then nothing more (the connection stalls; once). */
  stallAfter?: Record<string, number>;
  /** Serve the path with one byte changed (always). */
  corrupt?: Set<string>;
}

export interface FakeHub {
  url: string;
  repos: Map<string, HubRepo>;
  faults: HubFaults;
  /** Bytes of file content sent per path, and the Range headers seen. */
  sent: Map<string, number>;
  ranges: string[];
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const commitOf = (repo: HubRepo): string => createHash('sha1').update(JSON.stringify(Object.entries(repo.files).map(([p, b]) => [p, sha256(b)]))).digest('hex');

export async function startHub(pageSize = 3): Promise<FakeHub> {
  const repos = new Map<string, HubRepo>();
  const faults: HubFaults = { stallAfter: {}, corrupt: new Set() };
  const sent = new Map<string, number>();
  const ranges: string[] = [];
  const blobs = new Map<string, { path: string; bytes: Uint8Array }>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const find = (owner: string, name: string): HubRepo | null => {
      const repo = repos.get(`${owner}/${name}`) ?? null;
      if (!repo) {
        json(404, { error: 'Repository not found' });
        return null;
      }
      if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
        json(401, { error: 'Access to this model is restricted' });
        return null;
      }
      return repo;
    };
    const serve = (path: string, bytes: Uint8Array): void => {
      let body = Buffer.from(bytes);
      if (faults.corrupt?.has(path)) {
        body = Buffer.from(body);
        body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0xff;
      }
      let start = 0;
      const range = req.headers.range;
      if (range) {
        ranges.push(`${path} ${range}`);
        start = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0);
      }
      const chunk = body.subarray(start);
      res.writeHead(range ? 206 : 200, {
        'content-length': String(chunk.length),
        'accept-ranges': 'bytes',
        ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      const stall = faults.stallAfter?.[path];
      if (stall !== undefined) {
        delete faults.stallAfter![path];
        sent.set(path, (sent.get(path) ?? 0) + stall);
        res.write(chunk.subarray(0, stall));
        return;
      }
      sent.set(path, (sent.get(path) ?? 0) + chunk.length);
      res.end(chunk);
    };
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/models\/([^/]+)\/([^/]+)\/revision\/([^/]+)$/.exec(url.pathname))) {
      const repo = find(m[1]!, m[2]!);
      if (repo) json(200, { id: `${m[1]}/${m[2]}`, sha: commitOf(repo), siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) });
      return;
    }
    if ((m = /^\/api\/models\/([^/]+)\/([^/]+)\/tree\/([0-9a-f]{40})$/.exec(url.pathname))) {
      const repo = find(m[1]!, m[2]!);
      if (!repo) return;
      if (m[3] !== commitOf(repo)) return json(404, { error: 'Revision not found' });
      const entries = Object.entries(repo.files).flatMap(([path, bytes]) => {
        const lfs = path.endsWith('.onnx');
        if (lfs) blobs.set(sha256(bytes), { path, bytes });
        return [{ type: 'file', oid: gitSha1(bytes), size: lfs ? 134 : bytes.length, path, ...(lfs ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}) }];
      });
      const dirs = [...new Set(Object.keys(repo.files).filter((p) => p.includes('/')).map((p) => p.split('/')[0]!))].map((path) => ({ type: 'directory', oid: '0'.repeat(40), size: 0, path }));
      const all = [...dirs, ...entries];
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + pageSize);
      const next: Record<string, string> = cursor + pageSize < all.length ? { link: `<${url.pathname}?recursive=true&cursor=${cursor + pageSize}>; rel="next"` } : {};
      return json(200, page, next);
    }
    if ((m = /^\/([^/]+)\/([^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname))) {
      const repo = find(m[1]!, m[2]!);
      if (!repo) return;
      const path = decodeURIComponent(m[4]!);
      const bytes = repo.files[path];
      if (!bytes || m[3] !== commitOf(repo)) return json(404, { error: 'Entry not found' });
      if (path.endsWith('.onnx')) {
        res.writeHead(302, { location: `/cdn/${sha256(bytes)}`, 'x-linked-size': String(bytes.length), 'x-linked-etag': `"${sha256(bytes)}"` });
        return res.end();
      }
      return serve(path, bytes);
    }
    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname))) {
      const blob = blobs.get(m[1]!);
      if (!blob) return json(404, { error: 'no such blob' });
      return serve(blob.path, blob.bytes);
    }
    json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    repos,
    faults,
    sent,
    ranges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
