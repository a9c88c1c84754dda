-- Stratum overview notebook: run with `pnpm pipeline notebook notebooks/overview.sql`.
-- Cells start with `-- %%` and a title. Views: samples, ingest_samples, difficulty_samples, ledger, rollouts, export_verl, export_easyr1.

-- %% Funnel per stage (in = kept + dropped + quarantined)
SELECT stage,
       count(*) AS "in",
       count(*) FILTER (WHERE decision = 'kept') AS kept,
       count(*) FILTER (WHERE decision = 'dropped') AS dropped,
       count(*) FILTER (WHERE decision = 'quarantined') AS quarantined
FROM ledger GROUP BY stage ORDER BY list_position(['ingest', 'difficulty', 'export'], stage);

-- %% Quarantine and drop reasons
SELECT stage, decision, reason, count(*) AS n, any_value(source_uri || '#' || locator) AS example
FROM ledger WHERE decision <> 'kept' GROUP BY ALL ORDER BY n DESC;

-- %% Samples per source, kind and answer type
SELECT source.name AS source, kind, task.answer_type AS answer_type, count(*) AS n,
       count(*) FILTER (WHERE len(media) > 0) AS with_images
FROM samples GROUP BY ALL ORDER BY source, answer_type;

-- %% Tier mix per domain (curriculum buckets)
PIVOT (SELECT domain, tier FROM samples) ON tier IN ('solved', 'easy', 'medium', 'hard', 'unsolved', 'unrated') USING count(*) GROUP BY domain;

-- %% Pass-rate histogram (rated samples, 10 bins)
SELECT floor(difficulty.pass_rate * 10) / 10 AS pass_rate_from, count(*) AS n, bar(count(*), 0, max(count(*)) OVER (), 40) AS histogram
FROM samples WHERE difficulty.pass_rate IS NOT NULL GROUP BY 1 ORDER BY 1;

-- %% Rollouts per model: pass rate, tokens, latency, finish reasons
SELECT model, count(*) AS rollouts, round(avg(correct::INT), 3) AS pass_rate,
       round(avg(completion_tokens)) AS avg_completion_tokens, round(median(latency_ms)) AS median_latency_ms,
       count(*) FILTER (WHERE finish_reason = 'length') AS truncated
FROM rollouts GROUP BY model ORDER BY model;

-- %% Why rollouts failed verification
SELECT reason, count(*) AS n FROM rollouts WHERE NOT correct GROUP BY reason ORDER BY n DESC LIMIT 20;
