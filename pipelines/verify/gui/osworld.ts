/**
 * OSWorld actions such as left_click(start_box='[x, y]'), left_drag(start_box=…, end_box=…),
 * scroll(start_box=…, direction='down', step=3), type(content='…'), key(keys='ctrl+c'), WAIT()/DONE()/FAIL().
 * Points are on the 0–999 scale; within 20 units a click keeps ≥ 0.8.
 */
import { firstGlmBox } from '../format.js';
import { typedTextSimilarity } from './similarity.js';

export interface OsAction {
  action_type: string;
  element_info?: string;
  coordinates?: [number, number];
  start_coordinates?: [number, number];
  end_coordinates?: [number, number];
  direction?: string;
  step?: number;
  content?: string;
  keys?: string;
}

const POINT_ACTIONS = new Set(['left_click', 'left_double_click', 'right_click', 'middle_click', 'hover']);

function properlyClosed(text: string): boolean {
  let quotes = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      if (i > 0 && text[i - 1] === '\\') continue;
      quotes++;
    } else if (c === '[') depth++;
    else if (c === ']') {
      if (depth === 0) return false;
      depth--;
    }
  }
  return quotes % 2 === 0 && depth === 0;
}

function coords(params: string, name: string): [number, number] | undefined {
  const m = new RegExp(`${name}='\\[(\\d+),\\s*(\\d+)\\]'`).exec(params);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function parseOsAction(text: string): OsAction | null {
  if (!text) return null;
  const t = /^(\w+)\(/.exec(text);
  if (!t) return null;
  const p = /\((.*)\)\n?$/.exec(text);
  const params = p ? p[1]! : '';
  const action: OsAction = { action_type: t[1]! };
  const info = /element_info='(.*?)'/.exec(params);
  if (info) action.element_info = info[1]!;
  const type = action.action_type;
  if (POINT_ACTIONS.has(type)) {
    const c = coords(params, 'start_box');
    if (c) action.coordinates = c;
  } else if (type === 'left_drag') {
    const s = coords(params, 'start_box');
    const e = coords(params, 'end_box');
    if (s && e) {
      action.start_coordinates = s;
      action.end_coordinates = e;
    }
  } else if (type === 'scroll') {
    const c = coords(params, 'start_box');
    const d = /direction='(\w+)'/.exec(params);
    const st = /step=(\d+)/.exec(params);
    if (c && d) {
      action.coordinates = c;
      action.direction = d[1]!;
      if (st) action.step = Number(st[1]);
    }
  } else if (type === 'type') {
    const m = /content='(.*?)'/.exec(params);
    if (m) action.content = m[1]!;
  } else if (type === 'key') {
    const m = /keys='(.*?)'/.exec(params);
    if (m) action.keys = m[1]!;
  }
  return action;
}

export function extractOsAction(response: string): OsAction | null {
  const box = firstGlmBox(response, true);
  if (box === null) return null;
  const content = box.trim();
  if (!properlyClosed(content)) return null;
  return parseOsAction(content);
}

export function pointSimilarity(a: [number, number] | undefined, b: [number, number] | undefined, tolerance = 20): number {
  if (!a || !b) return 0;
  const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
  return d <= tolerance ? 1 - (d / tolerance) * 0.2 : Math.max(0, 1 - d / 50);
}

export function scoreOsAction(pred: OsAction | null, gold: OsAction | null): { score: number; reason: string } {
  if (!pred || !gold) return { score: 0, reason: pred ? 'ground truth has no action' : 'no action in the answer' };
  if (pred.action_type !== gold.action_type) return { score: 0, reason: `action ${pred.action_type} ≠ ${gold.action_type}` };
  const type = pred.action_type;
  if (POINT_ACTIONS.has(type)) {
    if (!pred.coordinates || !gold.coordinates) return { score: 0, reason: 'missing point' };
    return { score: pointSimilarity(pred.coordinates, gold.coordinates), reason: 'point distance' };
  }
  if (type === 'left_drag') {
    if (!pred.start_coordinates || !gold.start_coordinates || !pred.end_coordinates || !gold.end_coordinates) return { score: 0, reason: 'missing drag points' };
    const s = pointSimilarity(pred.start_coordinates, gold.start_coordinates);
    const e = pointSimilarity(pred.end_coordinates, gold.end_coordinates);
    return { score: Math.sqrt(s * e), reason: 'drag start/end distance' };
  }
  if (type === 'scroll') {
    if (!pred.coordinates || !gold.coordinates || !pred.direction || !gold.direction) return { score: 0, reason: 'missing scroll point or direction' };
    const c = pointSimilarity(pred.coordinates, gold.coordinates);
    const dir = pred.direction === gold.direction ? 1 : 0;
    const step = gold.step !== undefined ? Math.max(0, 1 - Math.abs((pred.step ?? 5) - gold.step) / (gold.step * 2)) : 1;
    return { score: c * dir * step, reason: 'scroll point × direction × step' };
  }
  if (type === 'type') {
    if (pred.content === undefined || gold.content === undefined) return { score: 0, reason: 'missing typed text' };
    return { score: typedTextSimilarity(pred.content, gold.content), reason: 'typed text similarity' };
  }
  if (type === 'key' || type === 'hotkey') {
    if (pred.keys === undefined || gold.keys === undefined) return { score: 0, reason: 'missing keys' };
    return pred.keys.toLowerCase() === gold.keys.toLowerCase() ? { score: 1, reason: 'same keys' } : { score: 0, reason: 'different keys' };
  }
  if (['WAIT', 'DONE', 'FAIL'].includes(type.toUpperCase()) || ['wait', 'finished'].includes(type.toLowerCase())) {
    return { score: 1, reason: 'same terminal action' };
  }
  return { score: 0, reason: `unknown action ${type}` };
}
