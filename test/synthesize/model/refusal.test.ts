import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findChatter, unquote } from '../../../pipelines/synthesize/model/refusal.js';
import { mulberry32 } from '../../../pipelines/shared/random.js';

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const OPENERS = ["I'm sorry, but", 'I am sorry, but', 'Sorry,', 'I apologize, but', 'Unfortunately,', "I'm really sorry, but", 'My apologies, but', ''];
const CORES = [
  "I can't see images",
  'I cannot view the image you provided',
  "I'm unable to describe this image",
  'I am not able to access images',
  "I don't have the ability to view pictures",
  'as an AI language model, I cannot see images',
  'there is no image provided',
  'no image was attached to your message',
  "I can't help with that",
  'I am unable to process the image',
  "I won't be able to identify the person in the photo",
  "I'm not able to rewrite this caption",
  'it is impossible for me to view the photo',
  'I do not have access to the image',
  'this request goes against my content policy',
  'I could not make out anything in the picture',
  'as a text-based assistant I have no way to look at it',
  'the location cannot be determined from the image',
];
const TAILS = ['.', ' to rewrite the caption.', '. Could you please provide a description?', '. If you describe it, I can help.', '', '!'];
const REFUSALS_ZH = ['抱歉，我无法查看图片。', '对不起，作为一个人工智能，我看不到图像。', '很遗憾，我不能识别这张图片中的人物。', '请提供图片，我才能改写标题。', '我无法访问这张图片。'];

const SUBJECTS = ['A brown dog', 'Two children', 'The Eiffel Tower', 'An old man in a red coat', 'A red double-decker bus', 'Three cyclists', 'A plate of sushi', 'The skyline of Hong Kong', 'A woman with an umbrella', 'A bird unable to fly'];
const VERBS = ['runs along', 'stands next to', 'is parked in front of', 'sits on', 'is photographed at', 'waits beside', 'rests near'];
const OBJECTS = ['a sandy beach', 'the Louvre museum', 'a wooden bench', 'a busy street in London', 'a snowy mountain at sunset', 'a market stall', 'the entrance of a hotel'];
const EXTRAS = [
  '',
  ' on 3 March 2021',
  ', with a sign reading "Sorry, we\'re closed"',
  ' while a poster says "I can\'t stop"',
  ', under a banner reading "Let me know your thoughts"',
  ' in 1998',
  '. The sky is overcast',
  ', next to a notice that says "Please provide your ticket"',
  ', a board reading «As an AI company we care»',
  '. Nobody can see the sun through the fog',
];

/** A clean caption: many combinations of subjects, verbs, objects and extras. */
function cleanCaption(random: () => number): string {
  return `${pick(random, SUBJECTS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)}${pick(random, EXTRAS)}.`;
}

/** Case, apostrophes and spacing as models vary them. */
function vary(random: () => number, text: string): string {
  let t = text;
  if (random() < 0.3) t = t.replace(/'/g, '’');
  if (random() < 0.2) t = t.toLowerCase();
  if (random() < 0.1) t = t.toUpperCase();
  if (random() < 0.3) t = t.replace(/ /g, () => (random() < 0.1 ? '  ' : ' '));
  if (random() < 0.2) t = `\n${t}\n`;
  return t;
}

describe('refusal detection', () => {
  it('finds every generated refusal, alone, after a partial caption or before one', () => {
    const random = mulberry32(17);
    let count = 0;
    for (const opener of OPENERS) {
      for (const core of CORES) {
        for (const tail of TAILS) {
          const refusal = `${opener} ${core}${tail}`.trim();
          const placed = [refusal, `${cleanCaption(random)} ${refusal}`, `${refusal} ${cleanCaption(random)}`][count % 3]!;
          const text = vary(random, placed.charAt(0).toUpperCase() + placed.slice(1));
          const found = findChatter(text);
          expect(found?.kind, text).toBe('refusal');
          count++;
        }
      }
    }
    for (const zh of REFUSALS_ZH) expect(findChatter(zh)?.kind, zh).toBe('refusal');
    expect(count).toBe(OPENERS.length * CORES.length * TAILS.length);
  });

  it('finds chat boilerplate around a caption: openings, labels, closings, notes, alternatives, markup, mentions of the prompt', () => {
    const random = mulberry32(23);
    const wrappers: ((c: string) => string)[] = [
      (c) => `Sure! Here is the rewritten caption: ${c}`,
      (c) => `Certainly. Here's a more detailed caption:\n\n${c}`,
      (c) => `Here is a factual caption for the image: ${c}`,
      (c) => `Of course! ${c}`,
      (c) => `Okay, ${c}`,
      (c) => `Rewritten caption: ${c}`,
      (c) => `Caption: ${c}`,
      (c) => `Here's the revised description:\n${c}`,
      (c) => `Below is an improved caption.\n${c}`,
      (c) => `**Caption:** ${c}`,
      (c) => `${c} Let me know if you'd like any changes.`,
      (c) => `${c} I hope this helps!`,
      (c) => `${c} Feel free to ask for another version.`,
      (c) => `${c}\n\nNote: I kept the names from the original caption.`,
      (c) => `${c} (Note: the date comes from the alt-text.)`,
      (c) => `${c}\n\nWould you like a shorter version?`,
      (c) => `${c} Is there anything else I can help with?`,
      (c) => `Option 1: ${c}\nOption 2: ${c}`,
      (c) => `Caption 1: ${c}`,
      (c) => `\`\`\`\n${c}\n\`\`\``,
      (c) => `# Caption\n${c}`,
      (c) => `- ${c}\n- ${c}`,
      (c) => `Based on the original caption, ${c.charAt(0).toLowerCase()}${c.slice(1)}`,
      (c) => `The image you provided shows ${c.charAt(0).toLowerCase()}${c.slice(1)}`,
      (c) => `As requested, ${c.charAt(0).toLowerCase()}${c.slice(1)}`,
      (c) => `Image may contain: ${c}`,
      (c) => `<think>The user wants a caption.</think>${c}`,
      (c) => `好的，${c}`,
      (c) => `以下是改写后的标题：${c}`,
    ];
    for (const [i, wrap] of wrappers.entries()) {
      for (let trial = 0; trial < 20; trial++) {
        const text = vary(random, wrap(cleanCaption(random)));
        expect(findChatter(text), `wrapper ${i}: ${text}`).not.toBeNull();
      }
    }
  });

  it('passes clean captions, including signs and posters whose quoted words sound like chatter', () => {
    const random = mulberry32(29);
    for (let i = 0; i < 2000; i++) {
      const text = vary(random, cleanCaption(random));
      expect(findChatter(text), text).toBeNull();
    }
    for (const text of ['Here, a fisherman mends his nets.', 'Certainly one of the tallest towers in Dubai.', 'Great Wall of China at dawn.', 'A note pinned to a cork board.', 'Caption contest entries on a wall.', 'A man holds an iPhone 15 beside an Apple store.']) {
      expect(findChatter(text), text).toBeNull();
    }
  });

  it('on 25k human COCO captions flags only the annotators\' own refusals', () => {
    const file = '../shared/corpora/image_caption/captions_val2017_full_text_only.json';
    if (!existsSync(file)) return; // ../shared is optional
    const json = JSON.parse(readFileSync(file, 'utf8')) as { annotations: { caption: string }[] };
    const flagged = json.annotations.map((a) => a.caption).filter((c) => findChatter(c) !== null);
    expect(json.annotations.length).toBeGreaterThan(20_000);
    // Seven COCO annotators wrote that they could not see the image: a refusal is what they are.
    for (const c of flagged) expect(c).toMatch(/unable to see/i);
    expect(flagged.length).toBeLessThanOrEqual(10);
  });

  it('unquotes a caption the model put in quotes, and nothing else', () => {
    expect(unquote('"A dog on a beach."')).toBe('A dog on a beach.');
    expect(unquote('“A dog on a beach.”')).toBe('A dog on a beach.');
    expect(unquote('A sign reads "Open" at the door.')).toBe('A sign reads "Open" at the door.');
    expect(unquote('"Open" reads the sign, and "Closed" the other')).toBe('"Open" reads the sign, and "Closed" the other');
  });
});
