import type { Box, Task } from '../../../schemas/sample.js';
import { toGlmBox } from '../qa/answer.js';
import { boxesAnswer, boxesAnswerText, normaliseBox } from '../grounding/boxes.js';
import type { PageElement } from './capture.js';
import type { GuiSourceConfig, GuiTaskKind } from './config.js';

/** An element chosen for tasks, with its box on the 0–999 scale of the screenshot. */
export interface ScreenElement {
  index: number;
  element: PageElement;
  box: Omit<Box, 'label'>;
}

export type GuiTaskCandidate =
  | { kind: GuiTaskKind; element: ScreenElement; task: Task }
  /** Two visible elements share this role and name: "locate it" has no single answer. */
  | { kind: 'comprehension'; element: ScreenElement; ambiguous: true };

const RANK: Record<PageElement['kind'], number> = { interactive: 0, image: 1, text: 2 };

/**
 * Keeps at most `maxElements` elements (interactive first, then images, headings, other text; page
 * order within each) whose box survives normalisation, in page order.
 */
export function selectElements(elements: readonly PageElement[], viewport: { width: number; height: number }, source: GuiSourceConfig): ScreenElement[] {
  const usable: ScreenElement[] = [];
  elements.forEach((element, index) => {
    if (!source.textElements && element.kind === 'text') return;
    const n = normaliseBox(element.box, viewport.width, viewport.height);
    if (n.ok) usable.push({ index, element, box: n.box });
  });
  const rank = (e: ScreenElement): number => RANK[e.element.kind] * 2 + (e.element.role === 'heading' ? 0 : 1);
  return usable
    .sort((a, b) => rank(a) - rank(b) || a.index - b.index)
    .slice(0, source.maxElements)
    .sort((a, b) => a.index - b.index);
}

/**
 * Referring-expression tasks for each element: comprehension (the description → the box, verified
 * by IoU) and generation (the box → the element's text, verified by edit distance). A description
 * is `<role> "<name>"`; when two collected elements share it, comprehension is ambiguous.
 */
export function guiTasks(selected: readonly ScreenElement[], allElements: readonly PageElement[], kinds: readonly GuiTaskKind[]): GuiTaskCandidate[] {
  const descriptionCount = new Map<string, number>();
  for (const e of allElements) descriptionCount.set(descriptionKey(e), (descriptionCount.get(descriptionKey(e)) ?? 0) + 1);
  const out: GuiTaskCandidate[] = [];
  for (const s of selected) {
    const { role, name } = s.element;
    if (kinds.includes('comprehension')) {
      if ((descriptionCount.get(descriptionKey(s.element)) ?? 0) > 1) out.push({ kind: 'comprehension', element: s, ambiguous: true });
      else {
        const question = `Locate the ${role} "${name}" in the screenshot.`;
        out.push({
          kind: 'comprehension',
          element: s,
          task: { question, answer: boxesAnswer([s.box]), answer_raw: boxesAnswerText([s.box]), answer_type: 'boxes', choices: [], boxes: [{ label: `${role}: ${name}`, ...s.box }], verifier: 'grounding', solution: null },
        });
      }
    }
    if (kinds.includes('generation')) {
      const { x1, y1, x2, y2 } = s.box;
      const question = `What does the ${role} in the box [${x1},${y1},${x2},${y2}] of the screenshot say? Answer with its text.`;
      out.push({
        kind: 'generation',
        element: s,
        task: { question, answer: toGlmBox(name), answer_raw: name, answer_type: 'text', choices: [], boxes: [{ label: `${role}: ${name}`, ...s.box }], verifier: 'ocr', solution: null },
      });
    }
  }
  return out;
}

function descriptionKey(e: PageElement): string {
  return `${e.role}\u0000${e.name.toLowerCase()}`;
}
