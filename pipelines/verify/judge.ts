/**
 * LLM judge: any OpenAI-compatible endpoint (POST {baseUrl}/chat/completions). Several judges vote;
 * a strict majority of "1.0" votes is needed (a failed or unparseable vote counts as "0.0").
 * Verdicts are read only from the final line (after any <think> block), so reasoning text that
 * mentions "1.0" cannot flip a result. Results are cached per (question, answer, ground truth, judge).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JudgeEndpoint, VerifyDomain } from './types.js';

export interface JudgeRequest {
  domain: VerifyDomain;
  question: string;
  response: string;
  groundTruth: string;
  /** Extra context for the judge (e.g. option list). */
  context?: string;
}

export interface JudgeVote {
  judge: string;
  /** 1 / 0 for binary prompts, a value in [0, 1] for graded ones (geoguess); null when unparseable. */
  score: number | null;
  raw: string;
  error?: string;
  cached?: boolean;
}

export interface JudgeDecision {
  score: number;
  correct: boolean;
  votes: JudgeVote[];
  reason: string;
}

const PROMPT_DIR = new URL('../../prompts/judge/', import.meta.url);
const promptCache = new Map<string, string>();

const PROMPT_FOR: Partial<Record<VerifyDomain, string>> = {
  math: 'math',
  physics: 'physics',
  chemistry: 'chemistry',
  chart: 'chart',
  counting: 'counting',
  multiple_choice: 'multiple_choice',
  vqa: 'vqa',
  multi_image: 'vqa',
  spatial: 'vqa',
  mmsi: 'vqa',
  ocr: 'vqa',
  ocr_ignore_case: 'vqa',
  general: 'general',
  geoguess: 'geoguess',
};

const FALLBACK_PROMPT = `Question:\n{{question}}\n\nResponse:\n{{response}}\n\nGround truth:\n{{ground_truth}}\n\nIs the response equivalent to the ground truth? Hedged, partial or method-only answers are wrong.\nEnd with one line that is exactly 1.0 or 0.0.`;

function readPrompt(name: string): string | null {
  const hit = promptCache.get(name);
  if (hit !== undefined) return hit;
  try {
    const text = readFileSync(fileURLToPath(new URL(`${name}.md`, PROMPT_DIR)), 'utf8');
    promptCache.set(name, text);
    return text;
  } catch {
    return null;
  }
}

export function promptName(domain: VerifyDomain): string {
  return PROMPT_FOR[domain] ?? 'general';
}

/** Fills a prompt template; placeholders inside the substituted texts are not expanded again. */
export function buildPrompt(req: JudgeRequest): string {
  const template = readPrompt(promptName(req.domain)) ?? readPrompt('general') ?? FALLBACK_PROMPT;
  const rules = readPrompt('_rules') ?? '';
  const values: Record<string, string> = {
    question: (req.question || '(not given)') + (req.context ? `\n${req.context}` : ''),
    response: req.response,
    ground_truth: req.groundTruth,
    rules,
  };
  return template.replace(/\{\{(question|response|ground_truth|rules)\}\}/g, (_m, k: string) => values[k] ?? '');
}

/** Removes reasoning blocks that some judges emit before their verdict. */
function stripReasoning(text: string): string {
  return text.replace(/<think>[\s\S]*?<\/think>/gi, '').replace(/^[\s\S]*<\/think>/i, '').trim();
}

const FINAL_LINE =
  /^(?:\*\*)?\s*(?:(?:final\s+)?(?:verdict|score|grade|answer|judgement|judgment|result|评分|得分|结论)\s*[:：=]?\s*)?(?:\*\*)?\s*(?:\\boxed\{\s*)?(1(?:\.0+)?|0(?:\.0+)?)(?:\s*\})?\s*(?:\*\*)?\s*[.。]?\s*$/i;

/** Binary verdict from the judge's final line: 1, 0, or null when it is not exactly a verdict. */
export function parseBinaryVerdict(raw: string): number | null {
  const text = stripReasoning(raw);
  if (text.length === 0) return null;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1]!;
  const m = FINAL_LINE.exec(last);
  if (m) return Number(m[1]) >= 1 ? 1 : 0;
  if (/^(?:correct|equivalent|yes)\.?$/i.test(last)) return 1;
  if (/^(?:incorrect|not equivalent|no)\.?$/i.test(last)) return 0;
  return null;
}

/** Graded verdict {"score": x} (last JSON object); null when missing. */
export function parseScoreObject(raw: string): number | null {
  const text = stripReasoning(raw);
  const objects = text.match(/\{[^{}]*\}/g);
  if (!objects) return null;
  for (let i = objects.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(objects[i]!) as { score?: unknown };
      const s = Number(v.score);
      if (v.score !== undefined && Number.isFinite(s)) return Math.min(1, Math.max(0, s));
    } catch {
      // try the previous object
    }
  }
  return null;
}

export function judgeName(j: JudgeEndpoint): string {
  return j.name ?? `${j.baseUrl}#${j.model}`;
}

export interface JudgeCacheOptions {
  maxEntries: number;
}

/** Bounded LRU cache of votes, shared by all verifications of the process. */
export class JudgeCache {
  private map = new Map<string, JudgeVote>();
  private inflight = new Map<string, Promise<JudgeVote>>();
  hits = 0;
  misses = 0;
  constructor(readonly opts: JudgeCacheOptions = { maxEntries: 100_000 }) {}
  static key(req: JudgeRequest, judge: string): string {
    return createHash('sha256')
      .update(JSON.stringify([promptName(req.domain), req.question, req.response, req.groundTruth, req.context ?? '', judge]))
      .digest('hex');
  }
  get(key: string): JudgeVote | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
      this.hits++;
    }
    return v;
  }
  set(key: string, vote: JudgeVote): void {
    this.map.set(key, vote);
    if (this.map.size > this.opts.maxEntries) this.map.delete(this.map.keys().next().value!);
  }
  async getOrCompute(key: string, compute: () => Promise<JudgeVote>): Promise<JudgeVote> {
    const hit = this.get(key);
    if (hit) return { ...hit, cached: true };
    const pending = this.inflight.get(key);
    if (pending) return pending;
    this.misses++;
    const p = compute()
      .then((vote) => {
        // Transport errors are not cached: the next call may succeed.
        if (!vote.error) this.set(key, vote);
        return vote;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

export const defaultJudgeCache = new JudgeCache();

interface ChatResponse {
  choices?: { message?: { content?: string | null } }[];
}

/** One chat completion; resolves to the message text. */
export async function callJudge(judge: JudgeEndpoint, prompt: string, signal?: AbortSignal): Promise<string> {
  const url = `${judge.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), judge.timeoutMs ?? 60_000);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(judge.apiKey ? { authorization: `Bearer ${judge.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: judge.model,
        messages: [{ role: 'user', content: prompt }],
        temperature: judge.temperature ?? 0,
        max_tokens: judge.maxTokens ?? 1024,
      }),
      signal: controller.signal,
    });
    if (!res.ok) throw new Error(`judge HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as ChatResponse;
    const content = body.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new Error('judge response has no message content');
    return content;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Asks every judge (cached) and combines: strict majority for binary prompts, mean for graded ones. */
export async function runJudges(
  req: JudgeRequest,
  judges: JudgeEndpoint[],
  cache: JudgeCache = defaultJudgeCache,
  signal?: AbortSignal,
): Promise<JudgeDecision> {
  const graded = promptName(req.domain) === 'geoguess';
  const prompt = buildPrompt(req);
  const votes = await Promise.all(
    judges.map((j) => {
      const name = judgeName(j);
      return cache.getOrCompute(JudgeCache.key(req, name), async () => {
        try {
          const raw = await callJudge(j, prompt, signal);
          return { judge: name, score: graded ? parseScoreObject(raw) : parseBinaryVerdict(raw), raw: raw.slice(0, 2000) };
        } catch (err) {
          return { judge: name, score: null, raw: '', error: String(err instanceof Error ? err.message : err) };
        }
      });
    }),
  );
  if (graded) {
    const mean = votes.reduce((s, v) => s + (v.score ?? 0), 0) / Math.max(1, votes.length);
    return { score: mean, correct: mean > 0.7, votes, reason: `judge mean ${mean.toFixed(2)} over ${votes.length}` };
  }
  const yes = votes.filter((v) => v.score === 1).length;
  const correct = yes > judges.length / 2;
  const failed = votes.filter((v) => v.score === null).length;
  return {
    score: correct ? 1 : 0,
    correct,
    votes,
    reason: `judge ${yes}/${judges.length} yes${failed ? `, ${failed} unparseable/failed` : ''}`,
  };
}
