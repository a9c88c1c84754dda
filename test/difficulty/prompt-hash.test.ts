import { describe, expect, it } from 'vitest';
import type { Sample } from '../../schemas/sample.js';
import { promptHashOf } from '../../pipelines/difficulty/prompt.js';
import { stableHash } from '../../pipelines/shared/hash.js';
import { mulberry32 } from '../../pipelines/shared/random.js';

/** The formula journals were keyed with before promptHashOf: a different value would make every journalled rollout unreachable. */
function reference(sample: Pick<Sample, 'content' | 'task'>): string {
  return stableHash({ content: sample.content.map((p) => (p.type === 'text' ? p.text : p.media_id)), choices: sample.task?.choices ?? [] }).slice(0, 16);
}

describe('promptHashOf', () => {
  it('equals the stableHash key of the question on generated prompts', () => {
    const random = mulberry32(77);
    const alphabet = ['a', 'Z', ' ', '"', '\\', '\n', '\u0000', 'é', '数', '😀', '{', '}', ':', ',', '\u2028'];
    const text = () => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 500; i++) {
      const content = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        random() < 0.7 ? { type: 'text' as const, text: text() } : { type: 'image' as const, media_id: random() < 0.9 ? text() : (undefined as unknown as string) },
      );
      const roll = random();
      const task = roll < 0.2 ? null : { choices: roll < 0.5 ? [] : Array.from({ length: 1 + Math.floor(random() * 5) }, text) };
      const sample = { content, task } as unknown as Pick<Sample, 'content' | 'task'>;
      expect(promptHashOf(sample)).toBe(reference(sample));
    }
    // Choices that are not strings (not in the schema, but data is data) take the general path.
    const odd = { content: [{ type: 'text', text: 'q' }], task: { choices: [{ b: 1, a: 2 }, 3] } } as unknown as Pick<Sample, 'content' | 'task'>;
    expect(promptHashOf(odd)).toBe(reference(odd));
  });
});
