import { afterEach, describe, expect, it } from 'vitest';
import { openModelSynthesis } from '../../../pipelines/synthesize/model/index.js';
import { judgeVote, teacherQuestionsGenerator } from '../../../pipelines/synthesize/model/teacher-questions.js';
import { itemTag, startFakePolicyServer, type FakePolicyServer } from '../../support/openai-server.js';
import { createWorkspace, type Workspace } from '../../support/workspace.js';
import { SOLVER, TEACHER, captionSample, modelConfig, stageContextIn, teacherItems } from './support.js';

describe('the checks a teacher question passes before the solver is asked', () => {
  let ws: Workspace | null = null;
  let server: FakePolicyServer | null = null;
  afterEach(async () => {
    await server?.close();
    await ws?.cleanup();
  });

  it('skips hedged, approximate, give-away, overlong and repeated questions with their reasons, and pays the solver only for the rest', async () => {
    ws = await createWorkspace('stratum-synth-checks-');
    const stage = await stageContextIn(ws.dir);
    const sample = await captionSample(stage, 1, 'A market stall with fruit.');
    const items = [
      { question: `${itemTag('ok')} How many apples are in the crate?`, answer: '12' },
      { question: 'How many pears are there?', answer: '3 or 4', type: 'text' },
      { question: 'How many plums are there?', answer: 'probably 7', type: 'text' },
      { question: 'How many melons are there?', answer: 'about 5', type: 'text' },
      { question: 'How many lemons, roughly?', answer: '2 (or 3)', type: 'text' },
      { question: 'Which fruit, the banana or the kiwi, is yellow?', answer: 'banana', type: 'text' },
      { question: `How many grapes are there? ${'Look carefully. '.repeat(80)}`, answer: '40' },
      { question: 'How many figs are there?', answer: '1'.repeat(250), type: 'text' },
      { question: `${itemTag('ok')}   how many APPLES are in the crate`, answer: '12' },
    ];
    server = await startFakePolicyServer({ items: [{ id: 'ok', p: 1, answer: '12' }], model: TEACHER, models: [SOLVER], respond: (req) => (req.model === TEACHER ? teacherItems(items) : undefined) });
    const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl, { questions: { domain: 'counting' } }));
    const result = await teacherQuestionsGenerator(ctx.config.questions).generate(sample, ctx);
    expect(result.skipped.map((s) => s.reason)).toEqual([
      'answer_hedged',
      'answer_hedged',
      'answer_hedged',
      'answer_hedged',
      'answer_in_question',
      'question_too_long',
      'answer_too_long',
      'duplicate_question',
    ]);
    expect(result.skipped.slice(0, 4).map((s) => s.detail.why)).toEqual([
      'hedged answer (alternatives for a single-valued answer)',
      'hedged answer',
      'approximate answer',
      'hedged answer (parenthesised alternative)',
    ]);
    expect(result.tasks.map((t) => t.task.answer_raw)).toEqual(['12']);
    expect(result.tasks[0]!.task.verifier).toBe('counting');
    expect(server.stats.requestsByModel.get(SOLVER)).toBe(1);
  });
});

describe('a teacher cut off at maxTokens', () => {
  it('keeps the complete items and reports the cut', async () => {
    const ws = await createWorkspace('stratum-synth-cut-');
    const server = await startFakePolicyServer({
      items: [{ id: 'a', p: 1, answer: '4' }],
      model: TEACHER,
      models: [SOLVER],
      respond: (req) => (req.model === TEACHER ? { content: `${teacherItems([{ question: `${itemTag('a')} How many cups?`, answer: '4' }])}\n<item>\n<question>How many sau`, finishReason: 'length' } : undefined),
    });
    try {
      const stage = await stageContextIn(ws.dir);
      const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl));
      const result = await teacherQuestionsGenerator(ctx.config.questions).generate(await captionSample(stage, 2, 'Cups on a shelf.'), ctx);
      expect(result.tasks.map((t) => t.task.answer_raw)).toEqual(['4']);
      expect(result.skipped).toEqual([{ reason: 'teacher_truncated', detail: { items: 1, asked: 3, maxTokens: 2048 } }]);
    } finally {
      await server.close();
      await ws.cleanup();
    }
  });
});

describe('the self-consistency rule', () => {
  const config = { majority: 0.6, minDecided: 0.5 };
  it('keeps a clear majority, names a rival majority, and refuses to vote on mostly undecided answers', () => {
    expect(judgeVote({ k: 5, n: 8, undecided: 0, rival: { answer: '9', count: 3 } }, 8, config)).toBeNull();
    expect(judgeVote({ k: 4, n: 8, undecided: 0, rival: { answer: '9', count: 4 } }, 8, config)?.reason).toBe('no_clear_majority');
    expect(judgeVote({ k: 1, n: 8, undecided: 0, rival: { answer: '9', count: 7 } }, 8, config)).toMatchObject({ reason: 'solver_disagrees', detail: { rival: { answer: '9', count: 7 } } });
    expect(judgeVote({ k: 3, n: 3, undecided: 5, rival: null }, 8, config)).toMatchObject({ reason: 'solver_undecided', detail: { returned: 8 } });
    expect(judgeVote({ k: 4, n: 4, undecided: 4, rival: null }, 8, config)).toBeNull(); // half decided, all of them agree
    expect(judgeVote({ k: 0, n: 0, undecided: 0, rival: null }, 0, config)?.reason).toBe('solver_undecided');
    // Exactly at the threshold counts as a majority; the schema refuses thresholds of one half or less.
    expect(judgeVote({ k: 3, n: 5, undecided: 0, rival: null }, 5, config)).toBeNull();
  });
});
