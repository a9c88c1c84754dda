// Loaded with `--import` (NODE_OPTIONS) by tests of what a command loads: appends to
// $STRATUM_MODULE_TRACE every ES module URL the process resolves and, at exit, every CommonJS file it
// loaded (packages such as DuckDB, sharp and onnxruntime-node are CommonJS).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.STRATUM_MODULE_TRACE;
if (file) {
  register('./module-trace-hooks.mjs', { parentURL: import.meta.url, data: { file } });
  process.on('exit', () => {
    appendFileSync(file, Object.keys(createRequire(import.meta.url).cache).map((f) => `${f}\n`).join(''));
  });
}
