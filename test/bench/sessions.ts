/**
 * `sdfleet bench sessions`: POST /sessions → the instance routable through the proxy, for
 * many users, `concurrency` at a time, on one machine: the embedded control plane (real API,
 * controllers, persistence on; a FakeRunner that starts no process, every instance's
 * status pointing at one small backend that answers like a warm WebUI), the allocator (dev
 * sign-in, its proxy), and a load client in another process. One run per number of
 * concurrent users, each with users of its own; beside each, the bare loopback round trip
 * (the load client GETting the stand-in WebUI directly, as often, as many at a time).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { startEmbedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { FakeRunner } from '../../fleet/control-plane/runner/fake-runner.ts';
import type { KubeObject } from '../../fleet/control-plane/store/types.ts';
import type { FromClient, ToClient } from './sessions-client.ts';
import { ms, summarize, type Summary } from './stats.ts';
import { benchAllocatorFlags } from './allocator-flags.ts';

export interface SessionsBenchOptions {
  /** Users per run, each starting one session (on a Ready instance of their own). Default 1,000. */
  users: number;
  /** One run per entry: users starting at once. Default [50]. */
  concurrency: number[];
  /**
   * Sessions started first, unmeasured, 50 at a time, by users of their own on instances of
   * their own: the processes' JIT and connection pools warm. Without it the first burst of a
   * run (every connection new, every code path cold) made its p99. Default 0.
   */
  warmup?: number;
  progress?: (line: string) => void;
}

export interface SessionsRun {
  concurrency: number;
  startToRoutable: Summary;
  post: Summary;
  /** Sessions started (to routable) per second. */
  perSecond: number;
  failures: Record<string, number>;
  /** The bare loopback round trip: GET / of the stand-in WebUI, no allocator. */
  baseline: { latency: Summary; perSecond: number; failures: number };
}

export interface SessionsBenchResult {
  users: number;
  /** Unmeasured sessions before the runs. */
  warmup: number;
  runs: SessionsRun[];
  /** RSS of the allocator and of the control plane process, after the last run. */
  rssMb: { allocator: number; controlPlane: number };
}

const CLIENT = fileURLToPath(new URL('./sessions-client.ts', import.meta.url));
const ALLOCATOR = fileURLToPath(new URL('./sessions-allocator.ts', import.meta.url));

export async function runSessionsBench(o: SessionsBenchOptions): Promise<SessionsBenchResult> {
  const say = o.progress ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-sessions-'));
  const backend = http.createServer((_req, res) => res.end('<!doctype html><title>WebUI</title>'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  let embedded: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let allocator: ReturnType<typeof fork> | undefined;
  const client = fork(CLIENT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await mkdir(join(dir, 'user-store'), { recursive: true });
    let store: KubeObject[] = [];
    const runner = new FakeRunner((spec) => {
      embedded!.controlPlane.store.mutate(RESOURCES.gameServers, spec.namespace, spec.name, (c) => {
        (c as unknown as GameServer).status = { ...(c as unknown as GameServer).status, state: 'RequestReady' };
        return c;
      });
    });
    embedded = await startEmbedded({ dataDir: dir, port: 0, runner, logger: silentLogger() });
    embedded.controlPlane.store.create(RESOURCES.fleets, {
      apiVersion: 'agones.dev/v1', kind: 'Fleet', metadata: { name: 'sd-webui', namespace: 'default' },
      spec: {
        replicas: o.users * o.concurrency.length + (o.warmup ?? 0),
        template: {
          spec: {
            // Every instance answers at the one backend: the proxy's route is what is measured.
            ports: [{ name: 'webui', portPolicy: 'Static', containerPort: backendPort, hostPort: backendPort, protocol: 'TCP' }],
            health: { disabled: true },
            template: { spec: { containers: [{ name: 'webui', image: 'bench', command: ['none'] }] } },
          },
        },
      },
    });
    const instances = o.users * o.concurrency.length + (o.warmup ?? 0);
    say(`waiting for ${instances} Ready instances`);
    for (;;) {
      store = embedded.controlPlane.store.list(RESOURCES.gameServers).items;
      if (store.filter((g) => (g as unknown as GameServer).status?.state === 'Ready').length >= instances) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    allocator = fork(ALLOCATOR, [embedded.controlPlane.kubeconfigPath!, join(dir, 'user-store')], { execArgv: ['--import', 'tsx', ...benchAllocatorFlags()], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proc = allocator;
    const url = await new Promise<string>((resolve, reject) => {
      proc.on('message', (m: { type: string; url?: string }) => {
        if (m.type === 'ready') resolve(m.url!);
      });
      proc.once('exit', (code) => reject(new Error(`the allocator exited with ${code}`)));
    });
    const ask = <T extends FromClient['type']>(m: ToClient, answer: T): Promise<Extract<FromClient, { type: T }>> =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null): void => reject(new Error(`the load client exited with ${code}`));
        const onMessage = (r: FromClient): void => {
          if (r.type === 'signed-in') say(`${r.users} users signed in; starting sessions, ${(m as { concurrency: number }).concurrency} at a time`);
          if (r.type !== answer) return;
          client.off('message', onMessage);
          client.off('exit', onExit);
          resolve(r as Extract<FromClient, { type: T }>);
        };
        client.on('message', onMessage);
        client.once('exit', onExit);
        client.send(m);
      });
    const runs: SessionsRun[] = [];
    if (o.warmup) {
      const w = await ask({ type: 'run', base: url, users: o.warmup, concurrency: Math.min(50, o.warmup), prefix: 'warmup-user' }, 'done');
      const failed = Object.values(w.failures).reduce((a, b) => a + b, 0);
      say(`warm-up: ${w.startToRoutable.length} sessions (not measured)${failed ? `, ${failed} failed: ${JSON.stringify(w.failures)}` : ''}`);
    }
    for (const [i, concurrency] of o.concurrency.entries()) {
      const r = await ask({ type: 'run', base: url, users: o.users, concurrency, prefix: `c${concurrency}-${i}-user` }, 'done');
      const b = await ask({ type: 'baseline', url: `http://127.0.0.1:${backendPort}`, requests: o.users, concurrency }, 'baseline-done');
      runs.push({
        concurrency,
        startToRoutable: summarize(r.startToRoutable),
        post: summarize(r.post),
        perSecond: (r.startToRoutable.length / r.wallMs) * 1000,
        failures: r.failures,
        baseline: { latency: summarize(b.samples), perSecond: (b.samples.length / b.wallMs) * 1000, failures: b.failures },
      });
      say(`${concurrency} at a time: ${runs.at(-1)!.perSecond.toFixed(0)} sessions/s, POST → routable p99 ${ms(runs.at(-1)!.startToRoutable.p99)} ms`);
    }
    const allocatorRss = await new Promise<number>((resolve) => {
      proc.on('message', (m: { type: string; rssMb?: number }) => {
        if (m.type === 'rss') resolve(m.rssMb!);
      });
      proc.send({ type: 'rss' });
    });
    return {
      users: o.users,
      warmup: o.warmup ?? 0,
      runs,
      rssMb: { allocator: allocatorRss, controlPlane: Math.round(process.memoryUsage().rss / 1048576) },
    };
  } finally {
    client.kill();
    if (allocator && allocator.exitCode === null) {
      const a = allocator;
      a.kill('SIGTERM');
      await new Promise((r) => a.once('exit', r));
    }
    await embedded?.stop();
    backend.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function sessionsReport(r: SessionsBenchResult): string {
  const lines = [
    `| concurrent users (${r.users} each run) | sessions/s | POST → 201 p50 / p99 ms | POST → routable p50 / p90 / p99 / max ms | bare loopback GET p50 / p99 ms (req/s) | p99 × bare | failures |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const x of r.runs) {
    const s = x.startToRoutable;
    const b = x.baseline;
    const fails = Object.entries(x.failures).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
    lines.push(
      `| ${x.concurrency} | ${x.perSecond.toFixed(0)} | ${ms(x.post.p50)} / ${ms(x.post.p99)} | ${ms(s.p50)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)} | ` +
        `${ms(b.latency.p50)} / ${ms(b.latency.p99)} (${b.perSecond.toFixed(0)}) | ${(s.p99 / b.latency.p99).toFixed(1)}× | ${fails}${b.failures ? `; bare: ${b.failures}` : ''} |`,
    );
  }
  const at50 = r.runs.find((x) => x.concurrency === 50);
  lines.push('', `Before the runs, ${r.warmup} sessions unmeasured (warm-up, 50 at a time, users and instances of their own).`);
  lines.push(`RSS after the runs: allocator ${r.rssMb.allocator} MB, control plane (and bench) ${r.rssMb.controlPlane} MB.`);
  if (at50) lines.push(`Target p99 ≤ 15 ms (POST → routable, 50 concurrent): ${at50.startToRoutable.p99 <= 15 ? 'met' : 'NOT met'} (${ms(at50.startToRoutable.p99)} ms).`);
  return lines.join('\n');
}
