export const TIERS = ['solved', 'easy', 'medium', 'hard', 'unsolved', 'unrated'] as const;
export type Tier = (typeof TIERS)[number];
