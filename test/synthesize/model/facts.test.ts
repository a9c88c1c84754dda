import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractFacts, extractNumbers, missingFacts } from '../../../pipelines/synthesize/model/facts.js';
import { mulberry32 } from '../../../pipelines/shared/random.js';

type Kind = 'numbers' | 'entities' | 'quotes';
interface Fact {
  kind: Kind;
  orig: string;
  /** Ways a faithful rewrite may write it. */
  same: string[];
  /** Ways that change the fact. */
  wrong: string[];
  noun?: string;
}

const NUMBERS: Fact[] = [
  { kind: 'numbers', orig: '3', same: ['3', 'three'], wrong: ['4', 'thirty'], noun: 'boats' },
  { kind: 'numbers', orig: 'seven', same: ['7', 'seven'], wrong: ['six', '17'], noun: 'gulls' },
  { kind: 'numbers', orig: 'twenty-five', same: ['25', 'twenty five', 'twenty-five'], wrong: ['twenty', '5'], noun: 'cyclists' },
  { kind: 'numbers', orig: '1,200', same: ['1200', '1,200', 'one thousand two hundred'], wrong: ['1,300', '12'], noun: 'runners' },
  { kind: 'numbers', orig: '3.5', same: ['3.5'], wrong: ['35', '3'], noun: 'candles' },
  { kind: 'numbers', orig: '5 km', same: ['5 km', '5 kilometres', '5-kilometre', '5km'], wrong: ['5 miles', '6 km'], noun: 'trail markers' },
  { kind: 'numbers', orig: '50%', same: ['50%', '50 percent', '50 per cent', 'fifty percent'], wrong: ['50 km', '60%'], noun: 'discount signs' },
  { kind: 'numbers', orig: '$5', same: ['$5', '5 dollars', '5 US dollars'], wrong: ['€5', '$6'], noun: 'tickets' },
  { kind: 'numbers', orig: '$1.2m', same: ['$1.2 million', '1.2 million dollars', '$1,200,000'], wrong: ['$1.2', '1.2 m'], noun: 'price tags' },
  { kind: 'numbers', orig: '10 kg', same: ['10 kg', '10 kilograms', '10kg', 'ten kilograms'], wrong: ['10 lb', '100 kg'], noun: 'sacks' },
  { kind: 'numbers', orig: '2 hours', same: ['2 hours', 'two hours', '2 h'], wrong: ['2 minutes', '3 hours'], noun: 'queues' },
  { kind: 'numbers', orig: 'a dozen', same: ['12', 'twelve', 'a dozen'], wrong: ['11', 'two dozen'], noun: 'eggs' },
  { kind: 'numbers', orig: '1998', same: ['1998'], wrong: ['1989', '98'], noun: 'posters' },
  { kind: 'numbers', orig: '21st', same: ['21st', '21'], wrong: ['22nd', '2'], noun: 'birthday balloons' },
];
const ENTITIES: Fact[] = [
  { kind: 'entities', orig: 'Golden Gate Bridge', same: ['Golden Gate Bridge', 'golden gate bridge'], wrong: ['Golden Gate', 'Bay Bridge'] },
  { kind: 'entities', orig: 'Angela Merkel', same: ['Angela Merkel', 'Angela Merkel’s'], wrong: ['Merkel', 'a politician'] },
  { kind: 'entities', orig: 'Statue of Liberty', same: ['Statue of Liberty', 'statue of liberty'], wrong: ['a statue', 'Liberty Island'] },
  { kind: 'entities', orig: 'São Paulo', same: ['São Paulo', 'Sao Paulo'], wrong: ['Paulo', 'Rio de Janeiro'] },
  { kind: 'entities', orig: 'NASA', same: ['NASA'], wrong: ['a space agency', 'ESA'] },
  { kind: 'entities', orig: 'iPhone', same: ['iPhone', 'iPhones'], wrong: ['a phone', 'Pixel'] },
  { kind: 'entities', orig: "McDonald's", same: ["McDonald's", 'McDonald’s', 'McDonalds'], wrong: ['a burger bar', 'Burger King'] },
  { kind: 'entities', orig: 'A380', same: ['A380'], wrong: ['A350', 'an airliner'] },
  { kind: 'entities', orig: 'Mount Fuji', same: ['Mount Fuji', 'mount fuji'], wrong: ['a mountain', 'Fuji'] },
  { kind: 'entities', orig: 'Leonardo da Vinci', same: ['Leonardo da Vinci'], wrong: ['Leonardo', 'da Vinci'] },
  { kind: 'entities', orig: 'New York City', same: ['New York City'], wrong: ['New York', 'the city'] },
  { kind: 'entities', orig: 'Lufthansa', same: ['Lufthansa'], wrong: ['an airline', 'Lufthansa Cargo'.slice(0, 4)] },
];
const QUOTES: Fact[] = [
  { kind: 'quotes', orig: '"Fresh Fish"', same: ['"Fresh Fish"', '"FRESH FISH"', 'the words Fresh Fish'], wrong: ['"Fresh Meat"', 'a fish sign'] },
  { kind: 'quotes', orig: '“Sorry, we are closed”', same: ['"Sorry, we are closed"', 'the words sorry we are closed'], wrong: ['"We are open"', 'a notice'] },
  { kind: 'quotes', orig: '「出口」', same: ['「出口」', '“出口”'], wrong: ['「入口」', 'an exit sign'] },
];

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

function phrase(f: Fact, form: string, random: () => number): string {
  if (f.kind === 'numbers') return `${pick(random, ['with', 'showing', 'beside'])} ${form} ${f.noun}`;
  if (f.kind === 'entities') return `${pick(random, ['near', 'close to', 'in front of'])} ${form}`;
  return `${pick(random, ['under a sign reading', 'below a banner that says'])} ${form}`;
}

/** A caption holding 2–5 facts of mixed kinds, none of whose values or words repeat. */
function planted(random: () => number): Fact[] {
  const pool = [...NUMBERS, ...ENTITIES, ...QUOTES].sort(() => random() - 0.5);
  return pool.slice(0, 2 + Math.floor(random() * 4));
}

function caption(facts: Fact[], random: () => number): string {
  return `A photo ${facts.map((f) => phrase(f, f.orig, random)).join(', ')}.`;
}

function rewrite(facts: Fact[], forms: string[], random: () => number): string {
  const order = facts.map((_, i) => i).sort(() => random() - 0.5);
  return `This picture shows a calm scene ${order.map((i) => phrase(facts[i]!, forms[i]!, random)).join(' and ')}. The light is soft.`;
}

describe('caption facts', () => {
  it('a faithful rewrite of many generated captions keeps every fact, whatever form it writes them in', () => {
    const random = mulberry32(5);
    for (let trial = 0; trial < 600; trial++) {
      const facts = planted(random);
      const text = caption(facts, random);
      const extracted = extractFacts(text);
      for (const f of facts.filter((x) => x.kind === 'entities')) expect(extracted.entities, text).toContain(f.orig);
      const again = rewrite(facts, facts.map((f) => pick(random, f.same)), random);
      expect(missingFacts(extracted, again), `${text}\n→ ${again}`).toEqual({ numbers: [], entities: [], quotes: [] });
    }
  });

  it('a rewrite that drops or changes one fact is caught, in the right category, and only that fact', () => {
    const random = mulberry32(6);
    for (let trial = 0; trial < 600; trial++) {
      const facts = planted(random);
      const text = caption(facts, random);
      const victim = Math.floor(random() * facts.length);
      const changed = random() < 0.5;
      const forms = facts.map((f, i) => (i === victim && changed ? pick(random, f.wrong) : pick(random, f.same)));
      const kept = changed ? facts : facts.filter((_, i) => i !== victim);
      const keptForms = changed ? forms : forms.filter((_, i) => i !== victim);
      const missing = missingFacts(extractFacts(text), rewrite(kept, keptForms, random));
      const f = facts[victim]!;
      const expected = { numbers: [] as string[], entities: [] as string[], quotes: [] as string[] };
      expected[f.kind].push(f.kind === 'quotes' ? f.orig.slice(1, -1) : f.orig);
      expect(missing, `${text} | ${changed ? `changed to ${forms[victim]}` : 'dropped'} ${f.orig}`).toEqual(expected);
    }
  });

  it('reads numbers in their usual spellings', () => {
    const values = (t: string) => extractNumbers(t, false).map((n) => [n.value, n.unit]);
    expect(values('1,200 people')).toEqual([[1200, null]]);
    expect(values('a 5m tall statue')).toEqual([[5, 'm']]);
    expect(values('sold for $1.2m')).toEqual([[1_200_000, 'usd']]);
    expect(values('in the 1990s')).toEqual([[1990, null]]);
    expect(values('the A380 and COVID-19')).toEqual([[19, null]]);
    expect(values('two hundred and fifty-six seats')).toEqual([[256, null]]);
    expect(values('one man')).toEqual([[1, null]]);
    expect(extractNumbers('one man', true)).toEqual([]);
    expect(values('at 10:30 on 03/04/2021')).toEqual([[10, null], [30, null], [3, null], [4, null], [2021, null]]);
  });

  it('finds no entity in sentences whose capitals carry no information, and each word in title case', () => {
    expect(extractFacts('A MAN SITTING ON A BENCH IN THE PARK').entities).toEqual([]);
    expect(extractFacts('Red Car Parked On Street').entities).toEqual(['Red', 'Car', 'Parked', 'Street']);
    expect(extractFacts('Barack Obama meets Angela Merkel in Berlin.').entities).toEqual(['Barack Obama', 'Angela Merkel', 'Berlin']);
    expect(extractFacts('The Eiffel Tower at night, Paris, 2019.').entities).toEqual(['Eiffel Tower', 'Paris']);
    expect(extractFacts('Two dogs play near a lake. Someone throws a ball.').entities).toEqual([]);
  });

  it('on real COCO captions: each caption keeps its own facts, and removing a number is always caught', () => {
    const file = '../shared/corpora/image_caption/captions_val2017_full_text_only.json';
    if (!existsSync(file)) return;
    const captions = (JSON.parse(readFileSync(file, 'utf8')) as { annotations: { caption: string }[] }).annotations.map((a) => a.caption);
    let withNumbers = 0;
    for (const c of captions) {
      const facts = extractFacts(c);
      expect(missingFacts(facts, c), c).toEqual({ numbers: [], entities: [], quotes: [] });
      const first = facts.numbers[0];
      if (!first) continue;
      withNumbers++;
      const same = facts.numbers.filter((n) => n.value === first.value);
      let without = c;
      for (const n of same) without = without.split(n.text).join(' ');
      // A value also written another way ("2" and "two") stays present; count only real removals.
      if (extractNumbers(without, false).some((n) => n.value === first.value)) continue;
      expect(missingFacts(facts, without).numbers.length, `${c} → ${without}`).toBeGreaterThan(0);
    }
    expect(withNumbers).toBeGreaterThan(1000);
  });
});
