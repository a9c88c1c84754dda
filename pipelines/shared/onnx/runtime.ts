/**
 * The one way the pipeline loads ONNX Runtime. onnxruntime-node's Linux build carries Microsoft's
 * 1DS telemetry: unless `ORT_DISABLE_TELEMETRY` is set when the library loads, every process writes
 * a device id and an event database (MBs) under `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`,
 * a `/tmp/mat-debug-<pid>.log` and `/tmp/.ses`, and queues events for upload to
 * mobile.events.data.microsoft.com. A data pipeline run nightly on users' machines does none of
 * that, so telemetry is off unless the user opts in with `ORT_DISABLE_TELEMETRY=0`. (ORT keeps it off
 * by itself where it sees a CI variable such as `CI` or `GITHUB_ACTIONS`, which is why CI never showed it.)
 *
 * ORT reads the variable with getenv(3) once, when its environment is created, so it has to be in
 * the real process environment first: set from a main thread (a worker thread's `process.env` is its
 * own copy, invisible to native code). The pipeline loads ORT on main threads only (child processes
 * of the process pool included).
 */
export const ORT_TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY';

export type OnnxRuntime = typeof import('onnxruntime-node');

export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  if (!process.env[ORT_TELEMETRY_ENV]) process.env[ORT_TELEMETRY_ENV] = '1'; // `0` opts in
  return import('onnxruntime-node');
}
