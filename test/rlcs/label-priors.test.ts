import { describe, expect, it } from 'vitest';
import { labelPriorOf, tierPassRate, withLabelPrior } from '../../pipelines/rlcs/label-priors.js';
import { labelRuleSchema } from '../../pipelines/rlcs/label-rule.js';
import { DEFAULT_TIER_THRESHOLDS, RATED_TIERS_ASCENDING, tierOf } from '../../pipelines/difficulty/tiers.js';
import { unratedDifficulty, type Sample } from '../../schemas/sample.js';

function sample(meta: unknown, source = 'math500', difficulty = unratedDifficulty()): Sample {
  return {
    id: 'a'.repeat(64), schema_version: 1, dataset: 'd', source: { name: source, uri: 'file:///x', locator: 'line:1' }, kind: 'qa',
    domain: 'math', license: null, lang: null, content: [{ type: 'text', text: 'q', media_id: null }], media: [],
    task: { question: 'q', answer: '1', answer_raw: '1', answer_type: 'numeric', choices: [], boxes: [], verifier: 'math', solution: null },
    signals: { content_hash: 'h', extra: '{}', quality: null, dedup: null, embedding: null }, difficulty, meta: typeof meta === 'string' ? meta : JSON.stringify(meta), derived_from: null,
  };
}

const LEVELS = labelRuleSchema.parse({ field: 'level', map: { '1': 'easy', '2': 'easy', '3': 'medium', '4': 'hard', '5': 'unsolved' } });

describe('label priors', () => {
  it('maps every tier to a pass rate inside that tier, for many thresholds', () => {
    for (let i = 0; i <= 20; i++) {
      for (let j = i; j <= 20; j++) {
        const t = { medium: i / 20, easy: j / 20 };
        for (const tier of RATED_TIERS_ASCENDING) {
          const p = tierPassRate(tier, t);
          // an empty range tier has no pass rate of its own; every non-empty one maps into itself
          if ((tier === 'hard' && t.medium === 0) || (tier === 'medium' && t.medium === t.easy) || (tier === 'easy' && t.easy === 1)) continue;
          expect(tierOf(p, t), `${tier} @ ${JSON.stringify(t)}`).toBe(tier);
        }
      }
    }
  });

  it('reads label values in the shapes sources write them', () => {
    const shapes: [unknown, string | null][] = [
      [{ level: 1 }, 'easy'], [{ level: '3' }, 'medium'], [{ level: 'Level 4' }, 'hard'], [{ level: ' 5 ' }, 'unsolved'],
      [{ level: 5.0 }, 'unsolved'], [{ level: 'Level ?' }, null], [{ level: null }, null], [{ level: [1] }, null],
      [{ level: 7 }, null], [{}, null], ['not json', null], [{ level: { value: 2 } }, null],
    ];
    for (const [meta, tier] of shapes) {
      const prior = labelPriorOf(sample(meta), [LEVELS]);
      if (tier === null) expect(prior, JSON.stringify(meta)).toBeNull();
      else expect(tierOf(prior!.passRate), JSON.stringify(meta)).toBe(tier);
    }
  });

  it('follows dot paths, source filters and the first matching rule', () => {
    const nested = labelRuleSchema.parse({ field: 'meta.difficulty', sources: ['olympiad'], map: { Hard: 0.1 } });
    expect(labelPriorOf(sample({ meta: { difficulty: 'Hard' } }, 'olympiad'), [nested])?.passRate).toBe(0.1);
    expect(labelPriorOf(sample({ meta: { difficulty: 'Hard' } }, 'math500'), [nested])).toBeNull();
    const both = [nested, LEVELS];
    expect(labelPriorOf(sample({ level: 2, meta: { difficulty: 'Hard' } }, 'olympiad'), both)?.name).toBe('label:meta.difficulty=Hard');
    expect(labelPriorOf(sample({ level: 2 }, 'olympiad'), both)?.name).toBe('label:level=2');
  });

  it('gives labelled samples a human tier without models, and pools the prior with model counts', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const alone = withLabelPrior(sample({ level: 4 }), labelPriorOf(sample({ level: 4 }), [LEVELS]), DEFAULT_TIER_THRESHOLDS, at);
    expect(alone.difficulty).toMatchObject({ tier: 'hard', source: 'human', k: 0, n: 0, pass_rate: 0.125 });
    expect(alone.difficulty.per_model.map((m) => m.model)).toEqual(['label:level=4']);

    // a model that solves 8/8 pulls a "hard" label (prior 0.125, weight 8) up to (8 + 1) / 16
    const rated = sample({ level: 4 }, 'math500', {
      ...unratedDifficulty(), pass_rate: 1, k: 8, n: 8, tier: 'solved', source: 'offline', rated_at: at,
      per_model: [{ model: 'm', k: 8, n: 8, pass_rate: 1 }], history: [{ at, source: 'offline', k: 8, n: 8 }],
    });
    const merged = withLabelPrior(rated, labelPriorOf(rated, [LEVELS]), DEFAULT_TIER_THRESHOLDS, at);
    expect(merged.difficulty.pass_rate).toBeCloseTo(9 / 16, 12);
    expect(merged.difficulty).toMatchObject({ tier: 'medium', source: 'offline', k: 8, n: 8 });
    expect(merged.difficulty.per_model.map((m) => m.model)).toEqual(['m', 'label:level=4']);
    // applying it twice does not stack priors
    const twice = withLabelPrior(merged, labelPriorOf(rated, [LEVELS]), DEFAULT_TIER_THRESHOLDS, at);
    expect(twice.difficulty.pass_rate).toBeCloseTo(9 / 16, 12);
    expect(withLabelPrior(rated, null, DEFAULT_TIER_THRESHOLDS, at)).toBe(rated);
  });
});
