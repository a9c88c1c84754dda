/**
 * Whether a model's rewrite is a refusal ("I'm sorry, I can't see images") or carries chat
 * boilerplate around the text asked for ("Sure! Here is the rewritten caption:", "Let me know if
 * ...", "Note: ...", markdown, alternatives). Quoted text is ignored first: a caption may well
 * describe a sign reading "Sorry, we're closed".
 */

export interface ChatterFinding {
  kind: 'refusal' | 'boilerplate';
  /** Which rule matched. */
  rule: string;
  /** The text it matched, for the ledger. */
  phrase: string;
}

interface Rule {
  name: string;
  re: RegExp;
}

const A = String.raw`['’]`; // apostrophes as models write them

const REFUSALS: Rule[] = [
  { name: 'apology', re: new RegExp(String.raw`\b(?:i${A}?m|i\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+|terribly\s+)?sorry\b|\b(?:i|we)\s+(?:sincerely\s+)?apologi[sz]e\b|\bmy\s+apologies\b|^\W*sorry\b|\bunfortunately,?\s+(?:i|we)\b`, 'iu') },
  {
    name: 'cannot',
    re: new RegExp(
      String.raw`\b(?:i|we)\s*(?:${A}m|\s+am|\s+are)?\s*(?:can\s*not|can${A}t|cannot|could\s*not|couldn${A}t|unable|not\s+able|am\s+not\s+able|won${A}t|will\s+not|do\s+not|don${A}t|am\s+not\s+in\s+a\s+position)\s+(?:to\s+)?(?:be\s+able\s+to\s+)?(?:directly\s+|actually\s+|currently\s+|really\s+)?(?:help|assist|provide|describe|see|view|access|analy[sz]e|process|identify|determine|tell|comply|fulfil|fulfill|generate|create|write|rewrite|open|display|recogni[sz]e|interpret|make\s+out|perceive|look\s+at|visually)\b`,
      'iu',
    ),
  },
  { name: 'ai_identity', re: /\bas\s+an?\s+(?:ai|a\.i\.|artificial\s+intelligence|(?:large\s+)?language\s+model|llm|text[-\s]based|ai\s+(?:language\s+model|assistant|model)|virtual\s+assistant|chatbot|assistant)\b/iu },
  { name: 'no_ability', re: new RegExp(String.raw`\b(?:i|we)\s+(?:do\s+not|don${A}t|lack|have\s+no)\s+(?:have\s+)?(?:the\s+)?(?:ability|capability|capabilities|access|means)\b`, 'iu') },
  { name: 'no_image', re: /\b(?:no|there\s+is\s+no|there['’]s\s+no|without\s+(?:an?|the))\s+(?:image|picture|photo|photograph|attachment|file)s?\s+(?:was\s+|were\s+|has\s+been\s+|is\s+|are\s+)?(?:provided|attached|uploaded|shared|included|available|given|visible\s+to\s+me)\b/iu },
  { name: 'cannot_view_image', re: /\b(?:unable|not\s+able|impossible)\s+(?:for\s+me\s+)?to\s+(?:view|see|access|load|open|display|process|analy[sz]e|read)\s+(?:the\s+|this\s+|that\s+|your\s+|any\s+)?(?:image|picture|photo|photograph|file|attachment)s?\b/iu },
  { name: 'not_allowed', re: new RegExp(String.raw`\b(?:i${A}?m|i\s+am)\s+not\s+(?:able|allowed|permitted|comfortable|programmed)\b`, 'iu') },
  { name: 'cannot_be_determined', re: /\b(?:cannot|can['’]t|can\s+not|could\s+not|is\s+impossible\s+to)\s+(?:be\s+)?(?:determined?|identif(?:y|ied)|verif(?:y|ied)|confirm(?:ed)?)\s+(?:from|based\s+on|by\s+looking\s+at)\s+(?:the|this)\s+(?:image|picture|photo)\b/iu },
  { name: 'asks_for_input', re: /\bplease\s+(?:provide|upload|share|attach|send|describe)\b|\bcould\s+you\s+(?:please\s+)?(?:provide|upload|share|attach|send)\b/iu },
  { name: 'policy', re: /\b(?:violat\w*|against|goes\s+against)\s+(?:my|our|the|openai['’]s)\s+(?:content\s+|usage\s+|safety\s+)?(?:polic(?:y|ies)|guidelines|rules)\b/iu },
  { name: 'refusal_zh', re: /抱歉|对不起|很遗憾|我无法|我不能|我没办法|无法(?:查看|看到|识别|提供|访问|打开|处理)|作为(?:一个)?(?:人工智能|AI|语言模型|ai)|请(?:提供|上传|发送)/u },
];

const BOILERPLATE: Rule[] = [
  { name: 'chat_opening', re: /^\W*(?:sure(?:\s+thing)?|certainly|of\s+course|absolutely|okay|ok|alright|great|got\s+it|no\s+problem|happy\s+to(?:\s+help)?)\s*[!,.:;—-]/iu },
  {
    name: 'here_is',
    re: /^\W*(?:here(?:['’]s|\s+is|\s+are)|below\s+is|the\s+following\s+is|this\s+is)\s+(?:a|an|the|my|your|one)?\s*(?:(?:more\s+|much\s+)?(?:rewritten|revised|improved|new|updated|detailed|factual|accurate|refined|enhanced|expanded|concise|possible|suggested|proposed|factual-centred|factual-centered)[\s,]+)*(?:caption|description|version|rewrite|recaption|alt[-\s]?text)s?\b/iu,
  },
  { name: 'label', re: /^\W*(?:(?:the\s+)?(?:rewritten|revised|improved|new|updated|final|factual|detailed|enhanced)\s+)?(?:caption|description|recaption|alt[-\s]?text|answer|output)\s*(?:\d+\s*)?[:：]/iu },
  { name: 'mentions_prompt', re: /\b(?:the\s+)?(?:original|provided|given|existing|initial|old|previous)\s+(?:caption|alt[-\s]?text|description)\b|\balt[-\s]?text\b|\b(?:the|this|my)\s+(?:rewritten|revised|improved|new|updated)\s+(?:caption|description|version)\b/iu },
  { name: 'mentions_user', re: /\b(?:the|this)\s+image\s+(?:you|you['’]ve|that\s+you)\s+(?:have\s+)?(?:provided|shared|uploaded|sent|attached|gave)\b|\b(?:as\s+requested|per\s+your\s+request|as\s+you\s+asked)\b/iu },
  { name: 'chat_closing', re: /\b(?:let\s+me\s+know|feel\s+free\s+to|i\s+hope\s+(?:this|that|it)\s+helps|hope\s+(?:this|that|it)\s+helps|if\s+you\s+(?:need|have|would\s+like|want|wish)|would\s+you\s+like|happy\s+to\s+help|is\s+there\s+anything\s+else|anything\s+else\s+i\s+can)\b/iu },
  { name: 'note', re: /(?:^|\n)\W*(?:notes?|explanation|changes(?:\s+made)?|rationale|n\.b\.)\s*[:：]|\((?:note|n\.b\.)\s*[:：]/iu },
  { name: 'alternatives', re: /\b(?:option|caption|version|alternative|variant)\s*#?\d+\s*[:：)]/iu },
  { name: 'markup', re: /```|^\s{0,3}#{1,6}\s|^\s*(?:[-*•]|\d+[.)])\s+.+\n\s*(?:[-*•]|\d+[.)])\s+|<\/?think>|<\|begin_of_box\|>|<\/?answer>|\*\*[^*\n]+\*\*\s*[:：]/imu },
  { name: 'image_may_contain', re: /\bimage\s+may\s+contain\b/iu },
  { name: 'boilerplate_zh', re: /^(?:好的|当然|没问题)[，,!！。]|以下是|这是(?:改写|重写|修改)后的|改写后的(?:标题|描述|说明)|希望(?:这|对你|对您)(?:能)?有(?:所)?帮助|原(?:始)?(?:标题|描述|说明|替代文本)/u },
];

const QUOTED = /"[^"\n]{0,300}"|“[^”\n]{0,300}”|„[^“”\n]{0,300}[“”]|«[^»\n]{0,300}»|「[^」\n]{0,300}」|『[^』\n]{0,300}』|《[^》\n]{0,300}》/gu;

/** Blanks quoted spans so their words cannot trigger a rule. */
function withoutQuotes(text: string): string {
  return text.replace(QUOTED, (q) => ' '.repeat(q.length));
}

/** The first refusal, else the first boilerplate rule the text breaks; null for a clean text. */
export function findChatter(text: string): ChatterFinding | null {
  const scan = withoutQuotes(text.replace(/[\u2018\u2019]/g, "'").trim());
  for (const [kind, rules] of [
    ['refusal', REFUSALS],
    ['boilerplate', BOILERPLATE],
  ] as const) {
    for (const rule of rules) {
      const m = rule.re.exec(scan);
      if (m) return { kind, rule: rule.name, phrase: m[0].trim().slice(0, 80) };
    }
  }
  return null;
}

/** Strips a pair of quotes around the whole text (models often quote the caption they were asked for). */
export function unquote(text: string): string {
  const t = text.trim();
  const m = /^(?:"([^"]*)"|“([^“”]*)”|'([^']*)')$/su.exec(t);
  return m ? (m[1] ?? m[2] ?? m[3] ?? '').trim() : t;
}
