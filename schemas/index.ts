export * from './sample.js';
export * from './tier.js';
export * from './ledger.js';
export * from './rollout.js';
