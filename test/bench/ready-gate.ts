/**
 * `sdfleet bench ready-gate`: how fast Ready follows once the lib disk's marker is there
 * and the WebUI answers, seen by a watcher over the SDK's HTTP watch stream. Beside it, in
 * the same run, a gate that polls every 2 s as the seed's sidecar did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SDFLEET_BIN } from '../../common/self.ts';
import type { AgonesSDK } from '../../fleet/agones/sdk-client.ts';
import { defaultGameServer } from '../../fleet/sdk-server/game-server-file.ts';
import { startSdkServer, type RunningSdkServer } from '../../fleet/sdk-server/sdk-server.ts';
import { MemoryGameServerStore } from '../../fleet/sdk-server/store.ts';
import { closeSdk, connectSdk } from '../../fleet/sdk-server/testing.ts';
import { freePort } from '../helpers/net.ts';
import { ms, summarize, type Summary } from './stats.ts';

export interface ReadyGateOptions {
  /** Runs of the sdfleet wrapper. Default 50. */
  runs: number;
  /** Runs of the 2 s polling baseline. Default 20. */
  baselineRuns: number;
  /** Interval of the baseline's polling. Default 2000 ms, as the seed's sidecar. */
  baselinePollMs: number;
  progress?: (line: string) => void;
}

export interface ReadyGateResult {
  /** WebUI answering → Ready seen by the watcher, sdfleet wrapper. */
  gate: Summary;
  /** Marker written → WebUI process started (the lib-disk gate's reaction). */
  libReaction: Summary;
  /** WebUI answering → Ready seen, polling baseline. */
  baseline: Summary;
}

const MARKER = JSON.stringify({ image: 'bench', version: 'v1', mountedAt: new Date().toISOString() });

export async function runReadyGateBench(o: ReadyGateOptions): Promise<ReadyGateResult> {
  const root = await mkdtemp(join(tmpdir(), 'sdfleet-bench-gate-'));
  try {
    const gate: number[] = [];
    const lib: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await oneRun(join(root, `w${i}`), 'wrapper', o.baselinePollMs);
      gate.push(r.gate);
      lib.push(r.lib);
      o.progress?.(`wrapper run ${i + 1}/${o.runs}: gate ${ms(r.gate)} ms, lib reaction ${ms(r.lib)} ms`);
    }
    const base: number[] = [];
    for (let i = 0; i < o.baselineRuns; i++) {
      const r = await oneRun(join(root, `b${i}`), 'baseline', o.baselinePollMs);
      base.push(r.gate);
      o.progress?.(`baseline run ${i + 1}/${o.baselineRuns}: gate ${ms(r.gate)} ms`);
    }
    return { gate: summarize(gate), libReaction: summarize(lib), baseline: summarize(base) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function oneRun(dir: string, kind: 'wrapper' | 'baseline', pollMs: number): Promise<{ gate: number; lib: number }> {
  const libDir = join(dir, 'lib');
  await mkdir(libDir, { recursive: true });
  const store = new MemoryGameServerStore(defaultGameServer());
  const server = await startSdkServer({ store, grpcPort: 0, httpPort: 0, localLifecycle: true, healthChecks: false });
  const webuiPort = await freePort();
  const readySeen = watchForReady(server);
  let child: ChildProcess | undefined;
  let stopBaseline: (() => Promise<void>) | undefined;
  try {
    let spawnedAt: Promise<number>;
    if (kind === 'wrapper') {
      child = spawn(process.execPath, [
        SDFLEET_BIN, 'wrapper', '--lib-dir', libDir, '--no-lib-require-mount', '--user-store', join(dir, 'store'),
        '--webui-port', String(webuiPort), '--no-warmup',
        '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '0', '--log-level', 'warn',
      ], { env: { ...process.env, AGONES_SDK_GRPC_PORT: String(server.grpcPort) }, stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const connected = waitLine(lines, 'connected to the Agones SDK');
      spawnedAt = waitLine(lines, 'WebUI started');
      await connected;
    } else {
      const b = await baselineGate(libDir, webuiPort, server.grpcPort, pollMs);
      stopBaseline = b.stop;
      spawnedAt = b.spawnedAt;
    }
    const markerAt = Date.now();
    await writeFile(join(libDir, '.sdfleet-ready'), MARKER);
    const healthyAt = await firstAnswer(webuiPort);
    const readyAt = await readySeen.at;
    return { gate: readyAt - healthyAt, lib: (await spawnedAt) - markerAt };
  } finally {
    readySeen.close();
    if (child) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child!.once('exit', r));
    }
    await stopBaseline?.();
    await server.stop();
  }
}

/** A watcher on the SDK HTTP gateway: resolves with the time the state first reads Ready. */
function watchForReady(server: RunningSdkServer): { at: Promise<number>; close(): void } {
  let req: http.ClientRequest | undefined;
  const at = new Promise<number>((resolve) => {
    req = http.get(`http://127.0.0.1:${server.httpPort}/watch/gameserver`, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        const now = Date.now();
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if ((JSON.parse(line) as { result: { status: { state: string } } }).result.status.state === 'Ready') resolve(now);
        }
      });
    });
    req.on('error', () => undefined);
  });
  return { at, close: () => req?.destroy() };
}

/** Polls the WebUI every 2 ms; resolves with the time of the first 2xx. */
async function firstAnswer(port: number): Promise<number> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const r = http.get({ host: '127.0.0.1', port, path: '/internal/ping', agent: false }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 300);
      });
      r.on('error', () => resolve(false));
    });
    if (ok) return Date.now();
    await new Promise((r) => setTimeout(r, 2));
  }
}

function waitLine(lines: ReturnType<typeof createInterface>, text: string): Promise<number> {
  return new Promise((resolve) => {
    const onLine = (line: string): void => {
      if (!line.includes(text)) return;
      lines.off('line', onLine);
      const time = (JSON.parse(line) as { time?: string }).time;
      resolve(time ? Date.parse(time) : Date.now());
    };
    lines.on('line', onLine);
  });
}

/**
 * The seed's gate: every `pollMs` look for the marker (then start the WebUI) and ping the
 * WebUI (then call Ready).
 */
async function baselineGate(libDir: string, port: number, grpcPort: number, pollMs: number): Promise<{ spawnedAt: Promise<number>; stop(): Promise<void> }> {
  const sdk: AgonesSDK = await connectSdk(grpcPort);
  let webui: ChildProcess | undefined;
  let done = false;
  let resolveSpawned!: (t: number) => void;
  const spawnedAt = new Promise<number>((r) => (resolveSpawned = r));
  const { existsSync } = await import('node:fs');
  const tick = async (): Promise<void> => {
    if (done) return;
    if (!webui && existsSync(join(libDir, '.sdfleet-ready'))) {
      webui = spawn(process.execPath, [SDFLEET_BIN, 'sim-webui', '--port', String(port), '--boot-ms', '0', '--log-level', 'warn'], { stdio: 'ignore' });
      resolveSpawned(Date.now());
    } else if (webui) {
      const ok = await fetch(`http://127.0.0.1:${port}/internal/ping`).then((r) => r.ok, () => false);
      if (ok) {
        await sdk.ready();
        done = true;
        return;
      }
    }
    timer = setTimeout(() => void tick(), pollMs);
  };
  let timer = setTimeout(() => void tick(), pollMs);
  return {
    spawnedAt,
    stop: async () => {
      done = true;
      clearTimeout(timer);
      if (webui && webui.exitCode === null) {
        webui.kill('SIGTERM');
        await new Promise((r) => webui!.once('exit', r));
      }
      closeSdk(sdk);
    },
  };
}

export function readyGateReport(r: ReadyGateResult, o: ReadyGateOptions): string {
  const row = (name: string, s: Summary): string => `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`;
  return [
    '| measured | runs | p50 ms | p90 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- |',
    row('sdfleet wrapper: WebUI answering → Ready seen by a watcher', r.gate),
    row('sdfleet wrapper: marker written → WebUI started', r.libReaction),
    row(`baseline, polling every ${o.baselinePollMs} ms: WebUI answering → Ready seen`, r.baseline),
    '',
    `Ratio of p50 (baseline / sdfleet): ${(r.baseline.p50 / r.gate.p50).toFixed(0)}×; target p99 ≤ 100 ms: ${r.gate.p99 <= 100 ? 'met' : 'NOT met'} (${ms(r.gate.p99)} ms).`,
  ].join('\n');
}
