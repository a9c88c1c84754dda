import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { log } from '../log.js';
import { loadOnnxRuntime, type OnnxRuntime } from './runtime.js';

/**
 * Where a model runs. `cpu`: always the CPU. `cuda`: the CUDA execution provider or an error.
 * `auto`: CUDA when it can work on this host, else the CPU (see `resolveDevice`).
 */
export type OnnxDevice = 'auto' | 'cpu' | 'cuda';
export type OnnxProvider = 'cpu' | 'cuda';

export interface OnnxSessionOptions {
  device: OnnxDevice;
  /** Intra-op threads of the CPU thread pool (CPU sessions, and CPU-placed nodes of CUDA sessions); default 1. */
  intraOpNumThreads?: number;
  cudaDeviceId?: number;
}

export interface OnnxSession {
  session: InferenceSession;
  provider: OnnxProvider;
  /** Why a CUDA attempt ended on the CPU; null when the session runs where it was meant to. */
  fallbackReason: string | null;
}

/** Environment override for `device: 'auto'` (`cpu`, `cuda` or `auto`); explicit `cpu`/`cuda` configs ignore it. */
export const DEVICE_ENV = 'STRATUM_ONNX_DEVICE';

type Ort = OnnxRuntime;

/**
 * One ONNX Runtime session on the device asked for.
 *
 * The rule: `cpu` never touches CUDA. `cuda` throws when the CUDA provider library is missing
 * next to the onnxruntime-node binding, or when ORT cannot create the CUDA session (no GPU,
 * missing CUDA/cuDNN libraries); the error names what failed. `auto` (with `STRATUM_ONNX_DEVICE`
 * unset or `auto`) tries CUDA only when the provider library is present, and on any failure runs
 * on the CPU with `fallbackReason` set (logged once per reason); `STRATUM_ONNX_DEVICE=cpu` pins
 * `auto` to the CPU and `STRATUM_ONNX_DEVICE=cuda` makes `auto` behave as `cuda`.
 *
 * Sessions keep their thread pools from spinning (`allow_spinning: '0'`) with a bounded intra-op
 * pool, so they do not starve the image decoders running beside them.
 */
export async function createOnnxSession(modelPath: string, opts: OnnxSessionOptions): Promise<OnnxSession> {
  const ort = await loadOnnxRuntime();
  const threads = opts.intraOpNumThreads ?? 1;
  const device = resolveDevice(opts.device);
  if (device.try === 'cpu') return { session: await ort.InferenceSession.create(modelPath, cpuOptions(threads)), provider: 'cpu', fallbackReason: null };

  const library = cudaProviderLibrary();
  const missing = existsSync(library) ? null : `the CUDA execution provider library ${library} is missing (onnxruntime-node ships CPU only; install the CUDA 13 provider libraries next to its binding, see docs/gpu.md)`;
  if (missing && device.insist) throw new Error(`ONNX device 'cuda' (${device.why}): ${missing}`);
  if (!missing) {
    try {
      const session = await ort.InferenceSession.create(modelPath, cudaOptions(threads, opts.cudaDeviceId ?? 0));
      return { session, provider: 'cuda', fallbackReason: null };
    } catch (err) {
      const message = (err as Error).message.split('\n')[0] as string;
      // ORT logs the library it could not load on stderr and throws only this generic message
      const hint = /Failed to load shared library/.test(message) ? ` (a CUDA 13 / cuDNN 9 library is missing: \`ldd ${library} | grep 'not found'\`)` : '';
      const reason = `CUDA session failed: ${message}${hint}`;
      if (device.insist) throw new Error(`ONNX device 'cuda' (${device.why}): ${reason} (model ${modelPath})`);
      return cpuFallback(ort, modelPath, threads, reason);
    }
  }
  // auto without a provider library: the ordinary CPU host, nothing to report
  return { session: await ort.InferenceSession.create(modelPath, cpuOptions(threads)), provider: 'cpu', fallbackReason: null };
}

/** What `device` means on this host: which provider to try first, and whether failing to get it is an error. */
export function resolveDevice(device: OnnxDevice, env: NodeJS.ProcessEnv = process.env): { try: OnnxProvider; insist: boolean; why: string } {
  if (device === 'cpu') return { try: 'cpu', insist: false, why: 'config' };
  if (device === 'cuda') return { try: 'cuda', insist: true, why: 'config' };
  const override = env[DEVICE_ENV]?.trim().toLowerCase();
  if (override === 'cpu') return { try: 'cpu', insist: false, why: `${DEVICE_ENV}=cpu` };
  if (override === 'cuda') return { try: 'cuda', insist: true, why: `${DEVICE_ENV}=cuda` };
  if (override && override !== 'auto') throw new Error(`${DEVICE_ENV}=${override}: use cpu, cuda or auto`);
  return { try: 'cuda', insist: false, why: 'auto' };
}

/** The CUDA provider library that ORT loads from the folder of its own shared library, next to the Node binding. */
export function cudaProviderLibrary(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node'); // …/onnxruntime-node/dist/index.js
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
}

const NO_SPINNING = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };

function cpuOptions(threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: NO_SPINNING,
  };
}

// Only CUDA: ORT places the nodes CUDA cannot run on the CPU by itself, and listing 'cpu' after a
// failing 'cuda' would not help (the append of the CUDA provider throws before any fallback).
function cudaOptions(threads: number, deviceId: number): InferenceSession.SessionOptions {
  return { ...cpuOptions(threads), executionProviders: [{ name: 'cuda', deviceId }] };
}

const reported = new Set<string>();

async function cpuFallback(ort: Ort, modelPath: string, threads: number, reason: string): Promise<OnnxSession> {
  if (!reported.has(reason)) {
    reported.add(reason);
    log.warn({ model: modelPath, reason }, 'ONNX: CUDA unavailable, running on the CPU');
  }
  return { session: await ort.InferenceSession.create(modelPath, cpuOptions(threads)), provider: 'cpu', fallbackReason: reason };
}
