import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

/**
 * `sample.lang` where a source sets none is the text's identified language (ISO 639-1), or null
 * when the detector is not confident. It used to be 'zh' for text over 10% Han and 'en' for any
 * other, so French, Russian or Arabic questions were labelled English.
 */
const QUESTIONS: Array<[string | null, string]> = [
  ['en', 'A farmer has twelve cows and buys five more every week. How many cows does he have after three weeks?'],
  ['fr', 'Un fermier a douze vaches et en achète cinq de plus chaque semaine. Combien de vaches a-t-il après trois semaines ?'],
  ['ru', 'У фермера двенадцать коров, и каждую неделю он покупает ещё пять. Сколько коров у него будет через три недели?'],
  ['zh', '一个农民有十二头牛，每周再买五头。三周后他有多少头牛？'],
  ['ar', 'لدى مزارع اثنتا عشرة بقرة ويشتري خمس بقرات أخرى كل أسبوع. كم بقرة سيملك بعد ثلاثة أسابيع؟'],
  ['ja', '農家は牛を十二頭飼っていて、毎週さらに五頭買います。三週間後には何頭になりますか？'],
  [null, '2+3=?'],
];

describe('sample.lang', () => {
  let ws: Workspace;
  afterAll(() => ws?.cleanup());
  it('is the identified language of the text, null when unsure, and the source’s lang when it sets one', async () => {
    ws = await createWorkspace();
    const rows = QUESTIONS.map(([, question], i) => JSON.stringify({ id: `q${i}`, question, answer: '27' }));
    await ws.write('qa/q.jsonl', rows.join('\n') + '\n');
    await ws.write('qa-de/q.jsonl', rows[0] + '\n');
    const fields = { question: 'question', answer: 'answer', id: 'id' };
    const loaded = await ws.config({
      datasets: {
        l: {
          sources: [
            { name: 'mixed', type: 'qa', path: 'qa/q.jsonl', format: 'jsonl', fields },
            { name: 'declared', type: 'qa', path: 'qa-de/q.jsonl', format: 'jsonl', fields, lang: 'de' },
          ],
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
    const got = await queryShards(loaded, `SELECT source.name AS src, task.question AS q, lang FROM samples`);
    for (const [lang, question] of QUESTIONS) expect(got.find((r) => r.src === 'mixed' && r.q === question)?.lang, question).toBe(lang);
    // what the source declares is not second-guessed
    expect(got.find((r) => r.src === 'declared')?.lang).toBe('de');
  }, 120_000);
});
