/**
 * WebVoyager actions: CLICK(point=(x, y), box=[[…]], element_info='…'), TYPE(point=…, text='…'),
 * KEY_PRESS(key='Enter'), SCROLL_DOWN/SCROLL_UP(point=…, distance=…), ANSWER(content='…'),
 * and the older "Click [5]" / "Type [3]; text" / "ANSWER; <content>…</content>" forms.
 */
import { lcsLength, lcsRatio } from './similarity.js';

type Info = Record<string, string | number | null | undefined>;
interface Parsed {
  action: string;
  info: Info;
  legacy: boolean;
}

const NEW_PATTERNS: [string, RegExp][] = [
  ['click', /CLICK\(point=\((\d+),\s*(\d+)\)(?:,\s*box=\[\[([^\]]+)\]\])?(?:,\s*element_info='([^']*)')?\)/s],
  ['type', /TYPE\(point=\((\d+),\s*(\d+)\)(?:,\s*text='([^']*)')?(?:,\s*box=\[\[([^\]]+)\]\])?(?:,\s*element_info='([^']*)')?\)/s],
  ['key', /KEY_PRESS\(key='([^']*)'\)/s],
  ['scroll_down', /SCROLL_DOWN\(point=\((\d+),\s*(\d+)\)(?:,\s*box=\[\[([^\]]+)\]\])?(?:,\s*distance=([^,)]+))?(?:,\s*element_info='([^']*)')?\)/s],
  ['scroll_up', /SCROLL_UP\(point=\((\d+),\s*(\d+)\)(?:,\s*box=\[\[([^\]]+)\]\])?(?:,\s*distance=([^,)]+))?(?:,\s*element_info='([^']*)')?\)/s],
  ['answer', /ANSWER\(content='([^']*)'\)/s],
];
const OLD_PATTERNS: [string, RegExp][] = [
  ['click', /Click \[?(\d+)\]?/s],
  ['type', /Type \[?(\d+)\]?[; ]+\[?(.[^\]]*)\]?/s],
  ['key', /Key[; ]+\[?(.[^\]]*)\]?/s],
  ['scroll', /Scroll \[?(\d+|WINDOW)\]?[; ]+\[?(up|down)\]?/s],
  ['wait', /^Wait/s],
  ['goback', /^GoBack/s],
  ['google', /^Google/s],
  ['bing', /^Bing/s],
  ['answer', /ANSWER[; ]+<content>(.*?)<\/content>/s],
];

export function parseWebAction(text: string): Parsed | null {
  const t = text.slice(0, 100_000);
  for (const [key, re] of NEW_PATTERNS) {
    const m = re.exec(t);
    if (!m) continue;
    if (key === 'click') return { action: 'click', legacy: false, info: { x: Number(m[1]), y: Number(m[2]), box: m[3], element_info: m[4] } };
    if (key === 'type') return { action: 'type', legacy: false, info: { x: Number(m[1]), y: Number(m[2]), text: m[3] ?? '', box: m[4], element_info: m[5] } };
    if (key === 'key') return { action: 'key', legacy: false, info: { key: m[1]! } };
    if (key === 'answer') return { action: 'answer', legacy: false, info: { content: m[1]! } };
    return {
      action: 'scroll',
      legacy: false,
      info: { x: Number(m[1]), y: Number(m[2]), box: m[3], distance: m[4] ?? null, element_info: m[5], direction: key.split('_')[1]! },
    };
  }
  for (const [key, re] of OLD_PATTERNS) {
    const m = re.exec(t);
    if (!m) continue;
    if (['click', 'wait', 'goback', 'google', 'bing'].includes(key)) return { action: key, legacy: true, info: { number: m[1] } };
    if (key === 'type' || key === 'scroll') return { action: key, legacy: true, info: { number: m[1], content: m[2] } };
    return { action: key, legacy: true, info: { content: m[1] } };
  }
  return null;
}

function ratio(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  return lcsLength(a, b) / Math.max([...a].length, [...b].length);
}

export function scoreWebAction(predText: string, goldText: string): { score: number; reason: string } {
  const p = parseWebAction(predText);
  const g = parseWebAction(goldText);
  if ((p?.action ?? null) !== (g?.action ?? null)) return { score: 0, reason: `action ${p?.action ?? 'none'} ≠ ${g?.action ?? 'none'}` };
  if (!p || !g) return { score: 0, reason: 'no action' };
  const pi = p.info;
  const gi = g.info;
  switch (p.action) {
    case 'click':
      if (!p.legacy && !g.legacy) {
        if (pi.x === gi.x && pi.y === gi.y) return { score: 1, reason: 'same point' };
        return pi.element_info === gi.element_info ? { score: 0.05, reason: 'same element, other point' } : { score: 0, reason: 'other element' };
      }
      if (p.legacy && g.legacy) return Number(pi.number) === Number(gi.number) ? { score: 1, reason: 'same element' } : { score: 0, reason: 'other element' };
      return { score: 0, reason: 'mixed action formats' };
    case 'type': {
      if (!p.legacy && !g.legacy) {
        const a = String(pi.text ?? '');
        const b = String(gi.text ?? '');
        const sim = a === b ? 1 : a.length > 0 && b.length > 0 ? lcsRatio(a, b) : 0;
        if (pi.x === gi.x && pi.y === gi.y) return { score: sim, reason: 'typed text LCS' };
        return { score: sim > 0.05 ? sim * 0.95 : 0.05, reason: 'typed text LCS, other point' };
      }
      if (p.legacy && g.legacy) {
        if (Number(pi.number) !== Number(gi.number)) return { score: 0, reason: 'other element' };
        return { score: ratio(String(pi.content), String(gi.content)), reason: 'typed text LCS' };
      }
      return { score: 0, reason: 'mixed action formats' };
    }
    case 'key': {
      if (!p.legacy && !g.legacy) {
        const a = String(pi.key).toLowerCase();
        const b = String(gi.key).toLowerCase();
        if (a === b) return { score: 1, reason: 'same key' };
        if ((a === 'return' && b === 'enter') || (a === 'enter' && b === 'return')) return { score: 0.05, reason: 'equivalent key name' };
        return { score: 0, reason: 'other key' };
      }
      return String(pi.content).toLowerCase() === String(gi.content).toLowerCase() ? { score: 1, reason: 'same key' } : { score: 0, reason: 'other key' };
    }
    case 'scroll': {
      if (!p.legacy && !g.legacy) {
        if (pi.x !== gi.x || pi.y !== gi.y || pi.direction !== gi.direction) return { score: 0, reason: 'other point or direction' };
        const a = pi.distance === null || pi.distance === undefined ? Number.NaN : Number(pi.distance);
        const b = gi.distance === null || gi.distance === undefined ? Number.NaN : Number(gi.distance);
        if (Number.isNaN(a) || Number.isNaN(b)) return { score: 0, reason: 'bad distance' };
        if (a === b) return { score: 1, reason: 'same scroll' };
        const max = Math.max(Math.abs(a), Math.abs(b));
        return max === 0 ? { score: 1, reason: 'same scroll' } : { score: Math.max(0, 1 - Math.abs(a - b) / max), reason: 'scroll distance' };
      }
      if (p.legacy && g.legacy) return pi.number === gi.number && pi.content === gi.content ? { score: 1, reason: 'same scroll' } : { score: 0, reason: 'other scroll' };
      return { score: 0, reason: 'mixed action formats' };
    }
    case 'wait':
    case 'goback':
    case 'google':
    case 'bing':
      return { score: 1, reason: `same action ${p.action}` };
    case 'answer': {
      const a = String(pi.content ?? '');
      const b = String(gi.content ?? '');
      return { score: ratio(a, b), reason: 'answer LCS' };
    }
  }
  return { score: 0, reason: 'unknown action' };
}
