import { pino, type Logger } from 'pino';

/** Structured JSON logs on stderr; `STRATUM_LOG_LEVEL` sets the level (default info, `silent` in tests). */
export const log: Logger = pino(
  { level: process.env.STRATUM_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'), base: undefined },
  pino.destination(2),
);
