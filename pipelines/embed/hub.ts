import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { log } from '../shared/log.js';
import { UserError } from '../shared/errors.js';

/**
 * `models pull`: fetches a CLIP-family ONNX export from a model hub that speaks Hugging Face's file
 * API (the hub itself, a mirror, `HF_ENDPOINT`). Only run by that command; a pipeline run never
 * downloads. The revision is pinned to one commit first, so every file comes from the same commit.
 * Each file is checked against the hub's checksum (sha256 for LFS files, the git blob sha1 for the
 * others), downloaded into a `.part` file that a re-run resumes with an HTTP range request, and
 * renamed into place only once verified; the model folder appears (atomically renamed) only when
 * every file is there.
 */

/** The files of the Hugging Face ONNX layout the filter reads; the vision tower is required. */
const WANTED = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface HubFile {
  path: string;
  size: number;
  /** `sha256:<hex>` (LFS) or `sha1:<hex>` (git blob sha1). */
  checksum: string;
}

export interface PullOptions {
  hub: string;
  revision: string;
  /** `fp16`, `quantized`, …: pull `onnx/vision_model_<variant>.onnx` (and the text tower's) instead of the fp32 files. */
  variant?: string;
  token?: string;
  /** Abort a request when no byte arrives for this long. */
  idleTimeoutMs?: number;
}

export interface PullResult {
  dir: string;
  commit: string;
  files: Array<HubFile & { resumedFrom: number }>;
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

class Hub {
  constructor(
    private readonly base: string,
    private readonly repo: string,
    private readonly opts: PullOptions,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'user-agent': 'stratum-models-pull', ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}), ...extra };
  }

  /** A request aborted when no byte has arrived for `idleTimeoutMs`; `alive()` pushes the deadline on, `end()` clears it. */
  async request(url: string, headers: Record<string, string> = {}): Promise<Response & { alive: () => void; end: () => void }> {
    const controller = new AbortController();
    const idle = this.opts.idleTimeoutMs ?? 60_000;
    let timer = setTimeout(() => controller.abort(new Error(`no data for ${idle} ms`)), idle);
    const alive = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new Error(`no data for ${idle} ms`)), idle);
    };
    const end = (): void => clearTimeout(timer);
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers(headers), redirect: 'follow', signal: controller.signal });
    } catch (err) {
      end();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UserError(`models pull: cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    if (res.ok) return Object.assign(res, { alive, end });
    end();
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403)
      throw new UserError(`models pull: ${this.base} refused ${this.repo} (HTTP ${res.status}): a gated or private model needs a token in HF_TOKEN with access to it`);
    if (res.status === 404) throw new UserError(`models pull: ${url} does not exist (HTTP 404): check the repository name and --revision`);
    throw new UserError(`models pull: ${url} answered HTTP ${res.status} ${res.statusText}`);
  }

  async json<T>(url: string): Promise<{ body: T; res: Response }> {
    const res = await this.request(url);
    try {
      return { body: (await res.json()) as T, res };
    } catch {
      throw new UserError(`models pull: ${url} did not answer JSON; is ${this.base} a Hugging Face-compatible hub?`);
    } finally {
      res.end();
    }
  }

  /** The commit a revision (branch, tag or commit) points to. */
  async commit(): Promise<string> {
    const { body } = await this.json<{ sha?: string }>(`${this.base}/api/models/${this.repo}/revision/${encodeURIComponent(this.opts.revision)}`);
    if (!body.sha || !/^[0-9a-f]{40}$/.test(body.sha)) throw new UserError(`models pull: ${this.base} gave no commit for ${this.repo}@${this.opts.revision}`);
    return body.sha;
  }

  /** Every file of the commit, following the tree API's pages. */
  async tree(commit: string): Promise<HubFile[]> {
    type Entry = { type: string; path: string; size: number; oid: string; lfs?: { oid: string; size: number } };
    const files: HubFile[] = [];
    let url: string | null = `${this.base}/api/models/${this.repo}/tree/${commit}?recursive=true`;
    for (let page = 0; url && page < 1000; page++) {
      const { body, res }: { body: Entry[]; res: Response } = await this.json<Entry[]>(url);
      if (!Array.isArray(body)) throw new UserError(`models pull: the file list of ${this.repo} is not a list`);
      for (const e of body) {
        if (e.type !== 'file') continue;
        files.push({ path: e.path, size: e.lfs?.size ?? e.size, checksum: e.lfs ? `sha256:${e.lfs.oid}` : `sha1:${e.oid}` });
      }
      const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
      url = next ? new URL(next[1] as string, this.base).toString() : null;
    }
    return files;
  }

  /**
   * Downloads one file into `target` via `target.part`, resuming a partial file with a range
   * request (a server that ignores the range sends the whole file, which restarts it). Returns the
   * offset it resumed from.
   */
  async download(commit: string, file: HubFile, target: string): Promise<number> {
    const part = `${target}.part`;
    await mkdir(dirname(target), { recursive: true });
    let have = existsSync(part) ? (await stat(part)).size : 0;
    if (have > file.size) {
      await rm(part);
      have = 0;
    }
    const url = `${this.base}/${this.repo}/resolve/${commit}/${encodePath(file.path)}`;
    const resumedFrom = have;
    if (have < file.size) {
      const res = await this.request(url, have > 0 ? { range: `bytes=${have}-` } : {});
      const append = res.status === 206 && have > 0;
      if (!append) have = 0;
      const out = await open(part, append ? 'a' : 'w');
      try {
        const reader = res.body?.getReader();
        if (!reader) throw new UserError(`models pull: ${url} sent no body`);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          res.alive();
          await out.write(value);
          have += value.byteLength;
        }
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`models pull: ${file.path}: the download broke off after ${have} of ${file.size} bytes (${(err as Error).message}); run the command again to resume`);
      } finally {
        res.end();
        await out.close();
      }
    }
    const size = (await stat(part)).size;
    if (size !== file.size) throw new UserError(`models pull: ${file.path}: got ${size} bytes, the hub lists ${file.size}; run the command again to resume`);
    const actual = await fileChecksum(part, file.checksum.split(':')[0] as 'sha256' | 'sha1', size);
    if (actual !== file.checksum) {
      await rm(part);
      throw new UserError(`models pull: ${file.path}: checksum mismatch (expected ${file.checksum}, got ${actual}); the partial file was removed, run the command again`);
    }
    await rename(part, target);
    return resumedFrom;
  }
}

/** sha256 of the bytes, or git's blob sha1 (`blob <size>\0` + bytes), as `<algo>:<hex>`. */
export async function fileChecksum(file: string, algo: 'sha256' | 'sha1', size: number): Promise<string> {
  const hash = createHash(algo);
  if (algo === 'sha1') hash.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `${algo}:${hash.digest('hex')}`;
}

/** The files of a repository to fetch: the vision tower (required), the text tower and their external data, the configs and tokenizer. */
export function selectFiles(files: HubFile[], variant?: string): HubFile[] {
  const suffix = variant ? `_${variant}` : '';
  const byPath = new Map(files.map((f) => [f.path, f]));
  const vision = [`onnx/vision_model${suffix}.onnx`, ...(variant ? [] : ['vision_model.onnx'])].find((p) => byPath.has(p));
  if (!vision) {
    const onnx = files.filter((f) => f.path.endsWith('.onnx')).map((f) => f.path);
    throw new UserError(
      `models pull: the repository has no onnx/vision_model${suffix}.onnx, so it is not a CLIP-family ONNX export in the Hugging Face layout` +
        (onnx.length ? ` (ONNX files there: ${onnx.slice(0, 12).join(', ')})` : ' (it has no ONNX files)'),
    );
  }
  const text = vision.replace('vision_model', 'text_model');
  const picked = [vision, ...(byPath.has(text) ? [text] : []), ...WANTED];
  // external weights of large exports (model.onnx_data, model.onnx.data)
  for (const model of [vision, text]) for (const f of files) if (f.path.startsWith(`${model}_data`) || f.path.startsWith(`${model}.data`) || f.path === model.replace(/\.onnx$/, '.onnx_data')) picked.push(f.path);
  if (byPath.has(text) && !byPath.has('tokenizer.json')) throw new UserError('models pull: the repository has a text tower but no tokenizer.json');
  return [...new Set(picked)].flatMap((p) => byPath.get(p) ?? []);
}

/** Pulls `repo` into `dest` (replacing an earlier pull there only once the new one is complete). */
export async function pullModel(repo: string, dest: string, opts: PullOptions): Promise<PullResult> {
  if (!/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(repo)) throw new UserError(`models pull: "${repo}" is not a repository name (owner/name)`);
  const base = opts.hub.replace(/\/+$/, '');
  const hub = new Hub(base, repo, opts);
  const commit = await hub.commit();
  const files = selectFiles(await hub.tree(commit), opts.variant);
  // partial downloads live beside the destination, per commit, so a re-run resumes them
  const staging = `${dest}.pull-${commit.slice(0, 12)}`;
  const done: PullResult['files'] = [];
  for (const file of files) {
    const target = join(staging, file.path);
    if (existsSync(target) && (await stat(target)).size === file.size) {
      done.push({ ...file, resumedFrom: file.size });
      continue;
    }
    log.info({ file: file.path, bytes: file.size }, 'models pull: downloading');
    const resumedFrom = await hub.download(commit, file, target);
    done.push({ ...file, resumedFrom });
  }
  await mkdir(dirname(dest), { recursive: true });
  const old = `${dest}.old-${process.pid}`;
  if (existsSync(dest)) await rename(dest, old);
  await rename(staging, dest);
  await rm(old, { recursive: true, force: true });
  return { dir: dest, commit, files: done };
}
