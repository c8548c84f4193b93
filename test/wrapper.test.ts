/**
 * The wrapper against the local SDK server and real sim-webui processes: the Ready gate,
 * failures before and after Ready, sessions, release and SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../common/log.ts';
import { SDFLEET_BIN } from '../common/self.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { ANNOTATION_RELEASE, ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER, sdkKey } from '../fleet/agones/metadata.ts';
import { sdkFixture, waitFor, type SdkFixture } from '../fleet/sdk-server/testing.ts';
import { EXIT, startWrapper } from '../sdk-wrapper/wrapper.ts';
import type { WrapperInput } from '../sdk-wrapper/options.ts';
import { freePort, isListening } from './helpers/net.ts';

const root = await mkdtemp(join(tmpdir(), 'sdfleet-wrapper-'));
after(() => rm(root, { recursive: true, force: true }));
const marker = { image: 'sdfleet-lib-test', version: 'v1', mountedAt: new Date().toISOString() };
let seq = 0;

interface Rig {
  gs: SdkFixture;
  lib: string;
  store: string;
  port: number;
  /** Every state the GameServer went through, with when. */
  states: { state: string; at: number }[];
  input(over?: Partial<WrapperInput>, webuiArgs?: string[]): WrapperInput;
  /** startWrapper, remembered: close() stops it (and its WebUI) even when an assertion failed first. */
  start(input: WrapperInput): ReturnType<typeof startWrapper>;
  close(): Promise<void>;
}

async function rig(opts: { marker?: boolean; health?: GameServer['spec']['health'] } = {}): Promise<Rig> {
  const dir = join(root, `r${seq++}`);
  const lib = join(dir, 'lib');
  const store = join(dir, 'store');
  await mkdir(lib, { recursive: true });
  if (opts.marker !== false) await writeFile(join(lib, '.sdfleet-ready'), JSON.stringify(marker));
  const gs = await sdkFixture({
    gs: { metadata: { name: `sd-webui-t${seq}` }, spec: { health: opts.health ?? { disabled: true } } },
    localLifecycle: true,
    healthChecks: true,
  });
  const states = [{ state: (await gs.store.get()).status?.state ?? '', at: Date.now() }];
  gs.store.watch((g) => {
    const s = g.status?.state ?? '';
    if (states.at(-1)?.state !== s) states.push({ state: s, at: Date.now() });
  });
  const port = await freePort();
  const started: ReturnType<typeof startWrapper>[] = [];
  return {
    gs, lib, store, port, states,
    start: (input) => {
      const w = startWrapper(input);
      started.push(w);
      return w;
    },
    input: (over = {}, webuiArgs = []) => ({
      command: ['sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--step-ms', '20', '--log-level', 'warn', ...webuiArgs],
      logger: silentLogger(),
      sdkGrpcPort: gs.server.grpcPort,
      libDir: lib,
      libRequireMount: false,
      libTimeoutMs: 10_000,
      webuiPort: port,
      webuiStartTimeoutMs: 20_000,
      userStore: store,
      stopGraceMs: 3000,
      livenessIntervalMs: 500,
      activityPollMs: 100,
      activityReportMs: 300,
      ...over,
    }),
    close: async () => {
      for (const w of started) w.stop();
      await Promise.all(started.map((w) => w.done.catch(() => undefined)));
      await gs.close();
    },
  };
}

async function annotation(r: Rig, key: string): Promise<Record<string, unknown> | undefined> {
  const v = (await r.gs.store.get()).metadata.annotations?.[sdkKey(key)];
  return v === undefined ? undefined : (JSON.parse(v) as Record<string, unknown>);
}

async function allocate(r: Rig, user: string): Promise<void> {
  const gs = await r.gs.store.get();
  gs.metadata.labels = { ...gs.metadata.labels, [LABEL_USER]: user };
  gs.metadata.annotations = { ...gs.metadata.annotations, [ANNOTATION_USER_ID]: `${user}@example.com`, [ANNOTATION_SESSION]: `s-${user}` };
  gs.status = { ...gs.status, state: 'Allocated' };
  r.gs.store.replace(gs);
}

async function release(r: Rig, reason: string): Promise<number> {
  const gs = await r.gs.store.get();
  gs.metadata.annotations = { ...gs.metadata.annotations, [ANNOTATION_RELEASE]: reason };
  r.gs.store.replace(gs);
  return Date.now();
}

async function webui<T>(r: Rig, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${r.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path} → ${res.status}`);
  return (await res.json()) as T;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

const isReady = (r: Rig) => r.states.some((s) => s.state === 'Ready');

describe('sdfleet wrapper', () => {
  it('is Ready only after the marker appears (written 500 ms late), with the phases annotated and on /metrics', async () => {
    const r = await rig({ marker: false });
    try {
      const metricsPort = await freePort();
      const w = r.start(r.input({ metricsPort }));
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(isReady(r), false, 'not Ready before the marker');
      const markerAt = Date.now();
      await writeFile(join(r.lib, '.sdfleet-ready'), JSON.stringify(marker));
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      const readyAt = r.states.find((s) => s.state === 'Ready')!.at;
      assert.ok(readyAt >= markerAt, `Ready at ${readyAt}, marker at ${markerAt}`);
      const phases = (await waitFor(() => annotation(r, 'sdfleet-phases'), Boolean, 3000, 'phases annotation'))!;
      const p = phases.phases as Record<string, number>;
      for (const k of ['sdk', 'webui-start', 'warmup', 'ready']) assert.equal(typeof p[k], 'number', k);
      // The 500 ms before the marker go to connecting to the SDK, then to waiting for the
      // marker (a loaded machine makes the first longer, never the sum shorter).
      assert.ok(p['sdk']! + p['lib-disk']! >= 400, `sdk ${p['sdk']} + lib-disk ${p['lib-disk']} ms cover the wait`);
      assert.ok(p['lib-disk']! >= 50, `lib-disk phase ${p['lib-disk']} ms: the wrapper waited for the marker`);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m = /sdfleet_wrapper_phase_seconds\{phase="lib-disk"\} ([\d.]+)/.exec(metrics);
      assert.ok(m && Math.abs(Number(m[1]) * 1000 - p['lib-disk']!) < 2, `lib-disk phase on /metrics: ${m?.[1]} s, annotated ${p['lib-disk']} ms`);
      w.stop();
      assert.equal(await w.done, EXIT.ok);
    } finally {
      await r.close();
    }
  });

  for (const [name, over, expect] of [
    ['no mount', { libRequireMount: true }, /is not a mount point/],
    ['no marker', { libMarker: '/nonexistent/.sdfleet-ready' }, /marker \/nonexistent\/\.sdfleet-ready is not there/],
    ['wrong version', { libVersion: 'v9' }, /version is "v1" .* needs "v9"/],
    ['a required path missing', { libRequire: ['venv/bin/python'] as string[] }, /venv\/bin\/python is missing/],
  ] as [string, Partial<WrapperInput>, RegExp][]) {
    it(`never Ready with ${name}: exit ${EXIT.libDisk} and the reason on the GameServer`, async () => {
      const r = await rig();
      try {
        const w = r.start(r.input({ ...over, libTimeoutMs: 600 }));
        assert.equal(await w.done, EXIT.libDisk);
        assert.equal(isReady(r), false);
        const failure = await annotation(r, 'sdfleet-failure');
        assert.match(String(failure?.reason), expect);
        assert.match(String(failure?.reason), /lib disk not ready after/);
      } finally {
        await r.close();
      }
    });
  }

  it('a WebUI that never answers: exit 4 with what to check', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({ command: [process.execPath, '-e', 'setTimeout(() => {}, 30000)'], webuiStartTimeoutMs: 800 }));
      assert.equal(await w.done, EXIT.webuiStart);
      const failure = await annotation(r, 'sdfleet-failure');
      assert.match(String(failure?.reason), /did not answer GET \/internal\/ping .* within 1 s/);
      assert.equal(isReady(r), false);
    } finally {
      await r.close();
    }
  });

  it('a WebUI that exits while booting: exit 4 with its last lines', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({ command: [process.execPath, '-e', 'console.log("CUDA out of memory"); process.exit(3)'] }));
      assert.equal(await w.done, EXIT.webuiStart);
      const failure = await annotation(r, 'sdfleet-failure');
      assert.match(String(failure?.reason), /exited before it answered \(code 3\)/);
      assert.deepEqual(failure?.lastLines, ['CUDA out of memory']);
    } finally {
      await r.close();
    }
  });

  it('a WebUI crash after Ready: the GameServer leaves Ready (Unhealthy), the reason is annotated, exit 5', async () => {
    const r = await rig({ health: { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 1 } });
    try {
      const w = r.start(r.input({}, ['--fail-after', '1']));
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      // The warm-up was generation 1: the next one ends the process.
      await fetch(`http://127.0.0.1:${r.port}/sdapi/v1/txt2img`, { method: 'POST', body: '{"prompt":"x","steps":2}', headers: { 'content-type': 'application/json' } }).catch(() => undefined);
      assert.equal(await w.done, EXIT.webuiDied);
      const failure = await annotation(r, 'sdfleet-failure');
      assert.match(String(failure?.reason), /the WebUI exited \(code 1\)/);
      await waitFor(() => r.gs.store.get(), (g) => g.status?.state === 'Unhealthy', 5000, 'Unhealthy');
    } finally {
      await r.close();
    }
  });

  it('a WebUI that hangs after Ready is found by the liveness pings: exit 5', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({ livenessIntervalMs: 200, livenessTimeoutMs: 300, livenessFailures: 2 }));
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      await fetch(`http://127.0.0.1:${r.port}/sim/hang`, { method: 'POST' });
      assert.equal(await w.done, EXIT.webuiDied);
      assert.match(String((await annotation(r, 'sdfleet-failure'))?.reason), /stopped answering .* it hangs/);
      assert.equal(await isListening(r.port), false, 'the hung WebUI was stopped');
    } finally {
      await r.close();
    }
  });

  it("on allocation the outputs go to the owner's store; activity is reported; release shuts down", async () => {
    const r = await rig();
    try {
      const w = r.start(r.input());
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      await allocate(r, 'u-alice');
      const dir = join(r.store, 'u-alice');
      await waitFor(() => webui<Record<string, string>>(r, 'GET', '/sdapi/v1/options'), (o) => o.outdir_txt2img_samples === join(dir, 'txt2img-images'), 5000, 'output folders');
      await webui(r, 'POST', '/sdapi/v1/txt2img', { prompt: 'a red fox', seed: 7, steps: 10, save_images: true });
      const files = await filesUnder(dir);
      assert.equal(files.length, 1);
      assert.match(files[0]!, /txt2img-images\/\d{4}-\d{2}-\d{2}\/\d{5}-7-a red fox\.png$/);
      const activity = await waitFor(() => annotation(r, 'sdfleet-activity'), (a) => (a?.generations as number) >= 1, 3000, 'activity');
      assert.equal(typeof activity?.lastActivity, 'string');
      await release(r, 'user');
      assert.equal(await w.done, EXIT.ok);
      assert.equal((await r.gs.store.get()).status?.state, 'Shutdown');
      assert.equal(await isListening(r.port), false);
    } finally {
      await r.close();
    }
  });

  it('release during a generation: it finishes, the image is in the store, then Shutdown', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({}, ['--step-ms', '60']));
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      await allocate(r, 'u-bob');
      const dir = join(r.store, 'u-bob');
      await waitFor(() => webui<Record<string, string>>(r, 'GET', '/sdapi/v1/options'), (o) => o.outdir_txt2img_samples === join(dir, 'txt2img-images'), 5000, 'output folders');
      const generation = webui(r, 'POST', '/sdapi/v1/txt2img', { prompt: 'long one', seed: 1, steps: 30, save_images: true });
      await new Promise((res) => setTimeout(res, 300));
      await release(r, 'idle');
      await generation;
      assert.equal(await w.done, EXIT.ok);
      const shutdownAt = r.states.find((s) => s.state === 'Shutdown')!.at;
      const [file] = await filesUnder(dir);
      assert.ok(file, 'the image is in the store');
      assert.ok((await stat(file)).mtimeMs <= shutdownAt, 'written before Shutdown');
      const released = await annotation(r, 'sdfleet-released');
      assert.equal(released?.reason, 'idle');
      assert.equal(released?.interrupted, false);
      assert.equal(released?.files, 1);
    } finally {
      await r.close();
    }
  });

  it('release with a generation longer than the grace interrupts it', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({ releaseGraceMs: 300 }, ['--step-ms', '100']));
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      await allocate(r, 'u-carol');
      await waitFor(() => webui<Record<string, string>>(r, 'GET', '/sdapi/v1/options'), (o) => o.outdir_txt2img_samples?.includes('u-carol') ?? false, 5000, 'output folders');
      const generation = fetch(`http://127.0.0.1:${r.port}/sdapi/v1/txt2img`, { method: 'POST', body: '{"prompt":"very long","steps":100,"save_images":true}', headers: { 'content-type': 'application/json' } });
      await new Promise((res) => setTimeout(res, 300));
      await release(r, 'admin');
      assert.equal(await w.done, EXIT.ok);
      await generation.catch(() => undefined);
      assert.equal((await annotation(r, 'sdfleet-released'))?.interrupted, true);
    } finally {
      await r.close();
    }
  });

  it('no SDK server: exit 6 with what to do', async () => {
    const r = await rig();
    try {
      const w = r.start(r.input({ sdkGrpcPort: await freePort(), sdkTimeoutMs: 500 }));
      assert.equal(await w.done, EXIT.sdk);
    } finally {
      await r.close();
    }
  });

  it('SIGTERM to the CLI stops the WebUI and exits 0', async () => {
    const r = await rig();
    try {
      const child = spawn(process.execPath, [
        SDFLEET_BIN, 'wrapper', '--lib-dir', r.lib, '--no-lib-require-mount', '--user-store', r.store,
        '--webui-port', String(r.port), '--stop-grace', '3', '--log-level', 'warn',
        '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--log-level', 'warn',
      ], { env: { ...process.env, AGONES_SDK_GRPC_PORT: String(r.gs.server.grpcPort) }, stdio: 'ignore' });
      await waitFor(() => isReady(r), Boolean, 20_000, 'Ready');
      assert.equal(await isListening(r.port), true);
      const t0 = Date.now();
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
      assert.ok(Date.now() - t0 < 3000, 'within the grace period');
      assert.equal(await isListening(r.port), false, 'the WebUI is gone');
    } finally {
      await r.close();
    }
  });
});
