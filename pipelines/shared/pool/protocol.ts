/** Messages between a ProcessPool and its forked workers (Node IPC, `advanced` serialisation). */

export interface TaskMessage {
  kind: 'task';
  id: number;
  payload: unknown;
}

export interface StatsRequest {
  kind: 'stats';
  id: number;
}

export type ParentMessage = TaskMessage | StatsRequest;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: SerializedError }
  | { kind: 'stats'; id: number; stats: WorkerStats };

export interface WorkerStats {
  pid: number;
  /** Peak resident set size of the worker process, in bytes. */
  maxRssBytes: number;
  tasksDone: number;
}
