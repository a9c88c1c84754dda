import type { ChildMessage, ParentMessage } from './protocol.js';

/**
 * The worker side of a ProcessPool: call once from the worker module with the function that does
 * one task. Tasks arrive over IPC; the result (or the thrown error) goes back with the task id.
 * The worker exits when the parent disconnects (pool closed, or the parent died).
 */
export function serveTasks<T, R>(handler: (payload: T) => Promise<R> | R): void {
  if (!process.send) throw new Error('serveTasks must run in a process forked with an IPC channel (ProcessPool)');
  let tasksDone = 0;
  const send = (message: ChildMessage): void => {
    // The parent may be gone between the check and the send (EPIPE): then there is no one to tell.
    if (process.connected) process.send?.(message, undefined, {}, () => {});
  };
  process.on('message', (raw: ParentMessage) => {
    if (raw.kind === 'stats') {
      send({ kind: 'stats', id: raw.id, stats: { pid: process.pid, maxRssBytes: process.resourceUsage().maxRSS * 1024, tasksDone } });
      return;
    }
    void (async () => {
      try {
        const value = await handler(raw.payload as T);
        tasksDone++;
        send({ kind: 'result', id: raw.id, ok: true, value });
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        send({ kind: 'result', id: raw.id, ok: false, error: { name: error.name, message: error.message, stack: error.stack } });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  // Output to a parent that has exited fails with EPIPE: the worker leaves instead of crashing.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => process.exit(0));
  send({ kind: 'ready' });
}
