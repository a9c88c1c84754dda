/**
 * Fault injection for crash tests: with `STRATUM_FAULT=<point>:<n>` the process kills itself with
 * SIGKILL the n-th time it reaches `<point>`, exactly as an OOM kill or a power cut would.
 */
const counts = new Map<string, number>();

export function faultPoint(point: string): void {
  const spec = process.env.STRATUM_FAULT;
  if (!spec) return;
  const [name, nth] = spec.split(':');
  if (name !== point) return;
  const seen = (counts.get(point) ?? 0) + 1;
  counts.set(point, seen);
  if (seen === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
