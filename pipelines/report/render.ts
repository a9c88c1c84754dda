import { TIERS } from '../../schemas/tier.js';
import { PALETTE, histogram, remainingBars, stackedBars, tierColour } from './charts.js';
import type { DatasetReport, DuplicateCluster } from './collect.js';
import type { Change, Snapshot } from './history.js';

/** A dataset's report data with what the HTML needs beyond the SQL: thumbnails, history, changes. */
export interface RenderedDataset {
  data: DatasetReport;
  thumbnails: Map<string, string>;
  history: Snapshot[];
  previous: Snapshot | null;
  changes: Change[];
}

export interface ReportMeta {
  generatedAt: string;
  configFile: string;
  shardsDir: string;
  digest: string;
}

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const fmt = new Intl.NumberFormat('en-US');
/** Longest tables; a corpus of 100,000 files still gets a report a browser opens at once. */
const MAX_ROWS = 200;

function more(hidden: number, what: string): string {
  return hidden > 0 ? `<p class="muted">… and ${fmt.format(hidden)} more ${esc(what)}.</p>` : '';
}

/** A number cell: the exact value in `data-v` (tests compare it with SQL), formatted text for people. */
function num(key: string, value: number | null, digits = 0): string {
  if (value === null || Number.isNaN(value)) return `<td class="n" data-k="${esc(key)}">–</td>`;
  const text = digits ? value.toFixed(digits) : fmt.format(value);
  return `<td class="n" data-k="${esc(key)}" data-v="${value}">${text}</td>`;
}

function pct(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

function table(head: string[], body: string[], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('\n')}</tbody></table>`;
}

function thumb(r: RenderedDataset, mediaId: string | null, alt: string): string {
  const url = mediaId ? r.thumbnails.get(mediaId) : undefined;
  return url ? `<img src="${url}" alt="${esc(alt)}">` : mediaId ? `<div class="noimg">image ${esc(mediaId.slice(0, 10))}… not readable</div>` : '';
}

const CSS = `
:root { --fg:#1d1d1f; --muted:#6b6b70; --line:#e3e3e8; --bg:#fafafa; --card:#fff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#16324f; color:#fff; padding:20px 32px; }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; opacity:.85; }
nav { padding:8px 32px; background:#fff; border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
nav a { margin-right:14px; color:#16324f; text-decoration:none; font-weight:600; }
main { padding:16px 32px 48px; max-width:1400px; }
section.dataset { margin-top:28px; }
h2 { font-size:20px; border-bottom:2px solid #16324f; padding-bottom:4px; }
h3 { font-size:16px; margin:24px 0 8px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(560px,1fr)); gap:16px; align-items:start; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 16px; overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f3f4f7; font-weight:600; position:sticky; top:0; }
td.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.code, .code { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12px; word-break:break-all; }
.muted { color:var(--muted); }
.kept { color:${PALETTE.kept}; } .dropped { color:${PALETTE.dropped}; } .quarantined { color:${PALETTE.quarantined}; }
.up { color:${PALETTE.kept}; } .down { color:${PALETTE.dropped}; }
.gallery { display:flex; flex-wrap:wrap; gap:10px; }
figure { margin:0; width:172px; background:#fff; border:1px solid var(--line); border-radius:6px; padding:6px; }
figure img { display:block; max-width:160px; max-height:160px; margin:0 auto; }
figcaption { font-size:11px; color:var(--muted); margin-top:4px; overflow:hidden; display:-webkit-box; -webkit-line-clamp:3; -webkit-box-orient:vertical; }
.cluster { border:1px solid var(--line); border-radius:8px; padding:8px 12px; margin-bottom:12px; background:#fff; }
.cluster .members { display:flex; flex-wrap:wrap; gap:10px; }
.noimg { width:160px; height:60px; display:flex; align-items:center; justify-content:center; background:#eee; font-size:11px; color:var(--muted); }
svg { max-width:100%; height:auto; }
`;

export function renderReport(meta: ReportMeta, datasets: RenderedDataset[]): string {
  const overview = datasets.map(({ data }) => {
    const first = data.funnel[0];
    const last = data.funnel.at(-1);
    const dropped = data.funnel.reduce((n, f) => n + f.dropped, 0);
    const quarantined = data.funnel.reduce((n, f) => n + f.quarantined, 0);
    const d = data.dataset;
    return `<tr><td><a href="#ds-${esc(d)}">${esc(d)}</a></td>${num(`${d}/overview/in`, first?.in ?? 0)}${num(`${d}/overview/kept`, last?.kept ?? 0)}${num(`${d}/overview/dropped`, dropped)}${num(`${d}/overview/quarantined`, quarantined)}<td class="n">${pct(last?.kept ?? 0, first?.in ?? 0)}</td><td>${esc(last?.stage ?? '–')}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="stratum-report-digest" content="${esc(meta.digest)}">
<title>Stratum report · ${esc(datasets.map((d) => d.data.dataset).join(', '))}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Stratum run report</h1><p>${esc(meta.generatedAt)} · config ${esc(meta.configFile)} · shards ${esc(meta.shardsDir)}</p></header>
<nav>${datasets.map((d) => `<a href="#ds-${esc(d.data.dataset)}">${esc(d.data.dataset)}</a>`).join('')}</nav>
<main>
<h2>Datasets</h2>
<div class="card">${table(['dataset', 'first stage in', 'kept by the last stage', 'dropped (all stages)', 'quarantined (all stages)', 'yield', 'last stage'], overview)}
<p class="muted">Every number is read with DuckDB from the committed ledgers and shards (\`pnpm pipeline sql\` has the same views); dropped and quarantined add up over the stages, each sample counted at the stage that removed it.</p></div>
${datasets.map(renderDataset).join('\n')}
</main></body></html>
`;
}

function renderDataset(r: RenderedDataset): string {
  const d = r.data;
  const ds = d.dataset;
  const parts: string[] = [`<section class="dataset" id="ds-${esc(ds)}"><h2>${esc(ds)}</h2>`];

  // ---- funnel per stage
  if (d.funnel.length) {
    const rows = d.funnel.map(
      (f) =>
        `<tr><td>${esc(f.stage)}</td>${num(`${ds}/funnel/${f.stage}/in`, f.in)}${num(`${ds}/funnel/${f.stage}/kept`, f.kept)}${num(`${ds}/funnel/${f.stage}/dropped`, f.dropped)}${num(`${ds}/funnel/${f.stage}/quarantined`, f.quarantined)}<td class="n">${pct(f.kept, f.in)}</td></tr>`,
    );
    const chart = stackedBars(
      d.funnel.map((f) => f.stage),
      [
        { name: 'kept', values: d.funnel.map((f) => f.kept), colour: PALETTE.kept },
        { name: 'dropped', values: d.funnel.map((f) => f.dropped), colour: PALETTE.dropped },
        { name: 'quarantined', values: d.funnel.map((f) => f.quarantined), colour: PALETTE.quarantined },
      ],
    );
    parts.push(`<h3>Funnel per stage</h3><div class="grid"><div class="card">${table(['stage', 'in', 'kept', 'dropped', 'quarantined', 'kept %'], rows)}<p class="muted">in = kept + dropped + quarantined for every stage.</p></div><div class="card">${chart}</div></div>`);
  } else {
    parts.push(`<p class="muted">No stage has committed anything yet: run <code>pnpm pipeline run all</code>.</p></section>`);
    return parts.join('\n');
  }

  // ---- per step
  const withSteps = d.funnel.filter((f) => f.steps.length);
  if (withSteps.length) {
    parts.push(`<h3>Funnel per step</h3><div class="grid">`);
    for (const f of withSteps) {
      let remaining = f.in;
      const names: string[] = ['in'];
      const left: number[] = [f.in];
      const removed: number[] = [0];
      const rows = f.steps.map((s) => {
        remaining -= s.dropped + s.quarantined;
        names.push(s.step);
        left.push(remaining);
        removed.push(s.dropped + s.quarantined);
        return `<tr><td class="code">${esc(s.step)}</td>${num(`${ds}/step/${f.stage}/${s.step}/dropped`, s.dropped)}${num(`${ds}/step/${f.stage}/${s.step}/quarantined`, s.quarantined)}${num(`${ds}/step/${f.stage}/${s.step}/remaining`, remaining)}</tr>`;
      });
      parts.push(`<div class="card"><strong>${esc(f.stage)}</strong>${table(['step', 'dropped', 'quarantined', 'remaining'], rows)}${remainingBars(names, left, removed)}</div>`);
    }
    parts.push(`</div>`);
  }

  // ---- reasons
  const reasonRows = d.reasons.slice(0, MAX_ROWS).map(
    (x) =>
      `<tr><td>${esc(x.stage)}</td><td class="${esc(x.decision)}">${esc(x.decision)}</td><td class="code">${esc(x.reason)}</td>${num(`${ds}/reason/${x.stage}/${x.decision}/${x.reason}`, x.n)}<td class="code">${esc(x.example ?? '')}</td><td class="code muted">${esc(x.details ?? '')}</td></tr>`,
  );
  parts.push(`<h3>Reasons</h3><div class="card">${table(['stage', 'decision', 'reason', 'rows', 'example', 'example details'], reasonRows)}${more(d.reasons.length - MAX_ROWS, 'rarer reasons (see `pnpm pipeline status`)')}</div>`);

  // ---- per source
  const lastStage = d.funnel.at(-1)?.stage ?? '';
  const firstStage = d.funnel[0]?.stage ?? '';
  const inputsOf = (s: DatasetReport['sources'][number]): number => Object.values(s.counts[firstStage] ?? {}).reduce((n, v) => n + v, 0);
  const shownSources = [...d.sources].sort((a, b) => inputsOf(b) - inputsOf(a) || a.source.localeCompare(b.source)).slice(0, MAX_ROWS);
  const sourceRows = shownSources.map((s) => {
    const at = (stage: string, decision: string): number => s.counts[stage]?.[decision] ?? 0;
    const inputs = inputsOf(s);
    const cells = d.funnel.flatMap((f) => [num(`${ds}/source/${s.source}/${f.stage}/dropped`, at(f.stage, 'dropped')), num(`${ds}/source/${s.source}/${f.stage}/quarantined`, at(f.stage, 'quarantined'))]);
    return `<tr><td class="code">${esc(s.source)}</td>${num(`${ds}/source/${s.source}/in`, inputs)}${cells.join('')}${num(`${ds}/source/${s.source}/kept`, at(lastStage, 'kept'))}</tr>`;
  });
  parts.push(
    `<h3>Per source</h3><div class="card">${table(['source', `in (${firstStage})`, ...d.funnel.flatMap((f) => [`${f.stage} dropped`, `${f.stage} quar.`]), `kept (${lastStage})`], sourceRows)}${more(d.sources.length - shownSources.length, 'source files with fewer inputs')}</div>`,
  );

  // ---- tiers and pass rates
  if (d.tiers.length) {
    const domains = [...new Set(d.tiers.map((t) => t.domain))];
    const tiers = (TIERS as readonly string[]).filter((t) => d.tiers.some((x) => x.tier === t)).concat([...new Set(d.tiers.map((x) => x.tier))].filter((t) => !(TIERS as readonly string[]).includes(t)));
    const cell = (domain: string, tier: string): number => d.tiers.find((x) => x.domain === domain && x.tier === tier)?.n ?? 0;
    const rows = domains.map((dom) => `<tr><td>${esc(dom)}</td>${tiers.map((t) => num(`${ds}/tier/${dom}/${t}`, cell(dom, t))).join('')}${num(`${ds}/tier/${dom}/total`, tiers.reduce((n, t) => n + cell(dom, t), 0))}</tr>`);
    const chart = stackedBars(domains, tiers.map((t) => ({ name: t, values: domains.map((dom) => cell(dom, t)), colour: tierColour(t) })));
    parts.push(`<h3>Tier mix per domain <span class="muted">(${esc(d.tierSource)})</span></h3><div class="grid"><div class="card">${table(['domain', ...tiers, 'total'], rows)}</div><div class="card">${chart}</div></div>`);
    const bins = [...Array(10).keys()];
    const counts = bins.map((b) => d.passRates.find((p) => p.bin === b)?.n ?? 0);
    const rated = counts.reduce((a, b) => a + b, 0);
    parts.push(
      `<div class="card"><div><strong>Pass-rate histogram</strong> <span class="muted">(${fmt.format(rated)} rated samples; bins of 0.1, the last includes 1.0)</span></div>` +
        (rated ? `<div>${histogram(bins.map((b) => `${(b / 10).toFixed(1)}–${((b + 1) / 10).toFixed(1)}`), counts, 'pass rate')}</div>` : '<p class="muted">No sample has a pass rate yet (no policy endpoint and no label rule rated one).</p>') +
        `<table><tr>${bins.map((b) => num(`${ds}/passrate/${b}`, counts[b] ?? 0)).join('')}</tr></table></div>`,
    );
  }

  // ---- rollouts
  parts.push(`<h3>Rollouts per model</h3>`);
  if (d.rollouts.length) {
    const rows = d.rollouts.map((m) => {
      const k = `${ds}/rollouts/${m.endpoint}/${m.model}`;
      return `<tr><td>${esc(m.endpoint)}</td><td class="code">${esc(m.model)}</td>${num(`${k}/requests`, m.requests)}${num(`${k}/rollouts`, m.rollouts)}${num(`${k}/correct`, m.correct)}<td class="n">${pct(m.correct, m.rollouts - m.undecided)}</td>${num(`${k}/undecided`, m.undecided)}${num(`${k}/prompt_tokens`, m.promptTokens)}${num(`${k}/completion_tokens`, m.completionTokens)}${num(`${k}/latency_ms`, m.meanLatencyMs === null ? null : Math.round(m.meanLatencyMs))}</tr>`;
    });
    const j = d.journal;
    const journalLine =
      j.newRequests === null && j.replayedRollouts === null
        ? 'Requests paid for and rollouts replayed from the journal are recorded by difficulty units committed from this version on.'
        : `When their units were last computed, the samples cost <strong data-k="${esc(ds)}/journal/new_requests" data-v="${j.newRequests ?? 0}">${fmt.format(j.newRequests ?? 0)}</strong> new requests; <strong data-k="${esc(ds)}/journal/replayed" data-v="${j.replayedRollouts ?? 0}">${fmt.format(j.replayedRollouts ?? 0)}</strong> rollouts came from the journal (cache hits, not paid again).`;
    parts.push(
      `<div class="card">${table(['endpoint', 'model', 'requests', 'rollouts', 'correct', 'accuracy', 'undecided', 'prompt tokens', 'completion tokens', 'mean latency ms'], rows)}<p class="muted">${journalLine}</p></div>`,
    );
  } else parts.push(`<p class="muted">No rollouts: no policy endpoint is configured (difficulty.endpoints), or the difficulty stage has not run.</p>`);

  // ---- duplicates
  parts.push(`<h3>Duplicate clusters</h3>`);
  if (d.duplicateTotals.length) {
    const rows = d.duplicateTotals.map((t) => `<tr><td class="code">${esc(t.reason)}</td>${num(`${ds}/dup/${t.reason}/clusters`, t.clusters)}${num(`${ds}/dup/${t.reason}/dropped`, t.dropped)}</tr>`);
    parts.push(
      `<div class="card">${table(['reason', 'clusters', 'samples dropped'], rows)}<p class="muted">Images removed from documents that keep their text: ${fmt.format(d.imagesRemoved)}. The largest clusters, with the sample kept and up to four it replaced:</p>${d.clusters.map((c) => renderCluster(r, c)).join('')}</div>`,
    );
  } else parts.push(`<p class="muted">No duplicates were dropped${d.imagesRemoved ? ` (${fmt.format(d.imagesRemoved)} duplicate images removed from documents)` : ''}.</p>`);

  // ---- gallery
  if (d.gallery.length) {
    parts.push(`<h3>Gallery per kind</h3>`);
    for (const kind of [...new Set(d.gallery.map((g) => g.kind))]) {
      const items = d.gallery.filter((g) => g.kind === kind);
      parts.push(`<div class="card"><strong>${esc(kind)}</strong><div class="gallery">${items.map((g) => `<figure>${thumb(r, g.media, g.id)}<figcaption>${esc(g.text)}</figcaption></figure>`).join('')}</div></div>`);
    }
  }

  // ---- timing
  if (d.timing.length) {
    const rows = d.timing.map(
      (t) =>
        `<tr><td>${esc(t.step)}</td>${num(`${ds}/timing/${t.step}/units`, t.units)}${num(`${ds}/timing/${t.step}/items`, t.items)}${num(`${ds}/timing/${t.step}/seconds`, t.unitSeconds, 2)}<td class="n">${t.unitSeconds > 0 ? fmt.format(Math.round(t.items / t.unitSeconds)) : '–'}</td><td class="muted">${esc(t.lastCommit ?? '')}</td></tr>`,
    );
    const lastRun = r.history.at(-1)?.run;
    const runRows = (lastRun ?? []).map((x) => `<tr><td>${esc(x.stage)}</td>${num(`${ds}/run/${x.stage}/processed`, x.processed)}${num(`${ds}/run/${x.stage}/skipped`, x.skipped)}${num(`${ds}/run/${x.stage}/seconds`, x.seconds, 1)}</tr>`);
    parts.push(
      `<h3>Timing and throughput</h3><div class="grid"><div class="card">${table(['step', 'units', 'items', 'unit seconds (sum)', 'items / unit-second', 'last commit'], rows)}<p class="muted">Unit seconds add up the time each committed unit took where it ran (units run in parallel, so this is work, not wall time).</p></div>` +
        (runRows.length ? `<div class="card"><strong>Latest run</strong>${table(['stage', 'units processed', 'units unchanged', 'wall seconds'], runRows)}</div>` : '') +
        `</div>`,
    );
  }

  // ---- changes since the previous run
  parts.push(`<h3>Changes since the previous run</h3>`);
  if (!r.previous) parts.push(`<p class="muted">This is the first recorded state of this dataset; the next report compares against it.</p>`);
  else if (!r.changes.length) parts.push(`<p class="muted">Shards were recommitted since ${esc(r.previous.at)}, with the same counts.</p>`);
  else {
    const rows = r.changes.map((c) => {
      const delta = c.after - c.before;
      return `<tr><td class="code">${esc(c.what)}</td>${num(`${ds}/change/${c.what}/before`, c.before)}${num(`${ds}/change/${c.what}/after`, c.after)}<td class="n ${delta > 0 ? 'up' : 'down'}">${delta > 0 ? '+' : ''}${fmt.format(delta)}</td></tr>`;
    });
    parts.push(`<div class="card"><p class="muted">Compared with the state recorded at ${esc(r.previous.at)}.</p>${table(['counter', 'before', 'after', 'change'], rows)}</div>`);
  }
  if (r.history.length > 1) {
    const rows = r.history
      .slice(-20)
      .reverse()
      .map((s) => {
        const stages = Object.entries(s.stages);
        const first = stages[0]?.[1];
        const last = stages.at(-1)?.[1];
        const processed = s.run ? s.run.reduce((n, x) => n + x.processed, 0) : null;
        return `<tr><td>${esc(s.at)}</td><td class="n">${fmt.format(first?.in ?? 0)}</td><td class="n">${fmt.format(last?.kept ?? 0)}</td><td class="n">${fmt.format(s.requests)}</td><td class="n">${processed === null ? '–' : fmt.format(processed)}</td></tr>`;
      });
    parts.push(`<div class="card"><strong>Recorded states</strong> <span class="muted">(latest first)</span>${table(['at', 'in (first stage)', 'kept (last stage)', 'rollout requests', 'units processed by the run'], rows)}</div>`);
  }
  parts.push(`</section>`);
  return parts.join('\n');
}

function renderCluster(r: RenderedDataset, c: DuplicateCluster): string {
  const member = (id: string, text: string, media: string | null, note: string, label: string): string =>
    `<figure>${thumb(r, media, id)}<figcaption><strong>${esc(label)}</strong> <span class="code">${esc(id.slice(0, 12))}</span> ${esc(note)}<br>${esc(text)}</figcaption></figure>`;
  const note = (details: string): string => {
    try {
      const o = JSON.parse(details) as Record<string, unknown>;
      const keep = ['similarity', 'hamming', 'cosine', 'threshold', 'radius', 'eps'].filter((k) => k in o);
      return keep.map((k) => `${k} ${typeof o[k] === 'number' ? Number(o[k]).toFixed(3).replace(/\.?0+$/, '') : String(o[k])}`).join(', ');
    } catch {
      return '';
    }
  };
  return `<div class="cluster"><div><span class="code">${esc(c.reason)}</span> · ${fmt.format(c.size)} samples</div><div class="members">${member(c.keeper.id, c.keeper.text, c.keeper.media, '', 'kept')}${c.members
    .map((m) => member(m.id, m.text, m.media, note(m.details), 'dropped'))
    .join('')}</div></div>`;
}
