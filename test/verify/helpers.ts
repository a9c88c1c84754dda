import { verify, type VerifyRequest } from '../../pipelines/verify/index.js';

/** A response in GLM's answer format. */
export const glm = (answer: string, think = 'reasoning'): string =>
  `<think>${think}</think><answer><|begin_of_box|>${answer}<|end_of_box|></answer>`;

/** Score of a pre-extracted answer (format gate off). */
export async function score(domain: VerifyRequest['domain'], answer: string, groundTruth: string, extra: Partial<VerifyRequest> = {}): Promise<number> {
  const r = await verify({ domain, response: answer, groundTruth, format: 'none', ...extra });
  return r.score;
}
