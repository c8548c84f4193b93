/**
 * `sdfleet bench sessions`: POST /sessions → the instance routable through the proxy, for
 * many users, `concurrency` at a time, on one machine: the embedded control plane (real API,
 * controllers, persistence on; a FakeRunner that starts no process, every instance's
 * status pointing at one small backend that answers like a warm WebUI), the allocator (dev
 * sign-in, its proxy), and a load client in another process. One run per number of
 * concurrent users, each with users of its own; beside each, the bare loopback round trip
 * (the load client GETting the stand-in WebUI directly, as often, as many at a time).
 * With `floor`, the same warm-up and runs follow against sessions-floor.ts, a stand-in
 * making the same hops with no sdfleet logic: what this machine gives at best.
 */
import { fork, type ChildProcess } from 'node:child_process';
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
  /**
   * Also run the floor (sessions-floor.ts) after the allocator, with the same warm-up and
   * runs on instances of its own: a stand-in making the same hops with no sdfleet logic,
   * the least this machine gives the measured chain. Default false.
   */
  floor?: boolean;
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
  /** The floor's runs (the same concurrencies), when asked for. */
  floor?: SessionsRun[];
  /** RSS of the allocator and of the control plane process, after the last run. */
  rssMb: { allocator: number; controlPlane: number };
}

const CLIENT = fileURLToPath(new URL('./sessions-client.ts', import.meta.url));
const ALLOCATOR = fileURLToPath(new URL('./sessions-allocator.ts', import.meta.url));
const FLOOR = fileURLToPath(new URL('./sessions-floor.ts', import.meta.url));

export async function runSessionsBench(o: SessionsBenchOptions): Promise<SessionsBenchResult> {
  const say = o.progress ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-sessions-'));
  const backend = http.createServer((_req, res) => res.end('<!doctype html><title>WebUI</title>'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  let embedded: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let allocator: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
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
        replicas: (o.users * o.concurrency.length + (o.warmup ?? 0)) * (o.floor ? 2 : 1),
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
    const instances = (o.users * o.concurrency.length + (o.warmup ?? 0)) * (o.floor ? 2 : 1);
    say(`waiting for ${instances} Ready instances`);
    for (;;) {
      store = embedded.controlPlane.store.list(RESOURCES.gameServers).items;
      if (store.filter((g) => (g as unknown as GameServer).status?.state === 'Ready').length >= instances) break;
      await new Promise((r) => setTimeout(r, 100));
    }
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
    /** The warm-up and the runs against one server (the allocator or the floor); its RSS after them. */
    const measure = async (name: 'allocator' | 'floor', proc: ChildProcess): Promise<{ runs: SessionsRun[]; rssMb: number }> => {
      const url = await new Promise<string>((resolve, reject) => {
        proc.on('message', (m: { type: string; url?: string }) => {
          if (m.type === 'ready') resolve(m.url!);
        });
        proc.once('exit', (code) => reject(new Error(`the ${name} exited with ${code}`)));
      });
      const runs: SessionsRun[] = [];
      if (o.warmup) {
        const w = await ask({ type: 'run', base: url, users: o.warmup, concurrency: Math.min(50, o.warmup), prefix: `${name}-warmup-user` }, 'done');
        const failed = Object.values(w.failures).reduce((a, b) => a + b, 0);
        say(`${name}: warm-up ${w.startToRoutable.length} sessions (not measured)${failed ? `, ${failed} failed: ${JSON.stringify(w.failures)}` : ''}`);
      }
      for (const [i, concurrency] of o.concurrency.entries()) {
        const r = await ask({ type: 'run', base: url, users: o.users, concurrency, prefix: `${name}-c${concurrency}-${i}-user` }, 'done');
        const b = await ask({ type: 'baseline', url: `http://127.0.0.1:${backendPort}`, requests: o.users, concurrency }, 'baseline-done');
        runs.push({
          concurrency,
          startToRoutable: summarize(r.startToRoutable),
          post: summarize(r.post),
          perSecond: (r.startToRoutable.length / r.wallMs) * 1000,
          failures: r.failures,
          baseline: { latency: summarize(b.samples), perSecond: (b.samples.length / b.wallMs) * 1000, failures: b.failures },
        });
        say(`${name}, ${concurrency} at a time: ${runs.at(-1)!.perSecond.toFixed(0)} sessions/s, POST → routable p99 ${ms(runs.at(-1)!.startToRoutable.p99)} ms`);
      }
      const rssMb = await new Promise<number>((resolve) => {
        proc.on('message', (m: { type: string; rssMb?: number }) => {
          if (m.type === 'rss') resolve(m.rssMb!);
        });
        proc.send({ type: 'rss' });
      });
      return { runs, rssMb };
    };
    allocator = fork(ALLOCATOR, [embedded.controlPlane.kubeconfigPath!, join(dir, 'user-store')], { execArgv: ['--import', 'tsx', ...benchAllocatorFlags()], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const measured = await measure('allocator', allocator);
    const controlPlaneRss = Math.round(process.memoryUsage().rss / 1048576);
    let floorRuns: SessionsRun[] | undefined;
    if (o.floor) {
      // Nothing of the allocator's left running beside the floor.
      await stopProcess(allocator);
      floor = fork(FLOOR, [embedded.controlPlane.kubeconfigPath!], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      floorRuns = (await measure('floor', floor)).runs;
    }
    return {
      users: o.users,
      warmup: o.warmup ?? 0,
      runs: measured.runs,
      ...(floorRuns ? { floor: floorRuns } : {}),
      rssMb: { allocator: measured.rssMb, controlPlane: controlPlaneRss },
    };
  } finally {
    client.kill();
    await stopProcess(allocator);
    await stopProcess(floor);
    await embedded?.stop();
    backend.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

export function sessionsReport(r: SessionsBenchResult): string {
  const lines = [
    `| server | concurrent users (${r.users} each run) | sessions/s | POST → 201 p50 / p99 ms | POST → routable p50 / p90 / p99 / max ms | bare loopback GET p50 / p99 ms (req/s) | p99 × bare | failures |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const rows = (server: string, runs: SessionsRun[]): void => {
    for (const x of runs) {
      const s = x.startToRoutable;
      const b = x.baseline;
      const fails = Object.entries(x.failures).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
      lines.push(
        `| ${server} | ${x.concurrency} | ${x.perSecond.toFixed(0)} | ${ms(x.post.p50)} / ${ms(x.post.p99)} | ${ms(s.p50)} / ${ms(s.p90)} / ${ms(s.p99)} / ${ms(s.max)} | ` +
          `${ms(b.latency.p50)} / ${ms(b.latency.p99)} (${b.perSecond.toFixed(0)}) | ${(s.p99 / b.latency.p99).toFixed(1)}× | ${fails}${b.failures ? `; bare: ${b.failures}` : ''} |`,
      );
    }
  };
  rows('allocator', r.runs);
  if (r.floor) rows('floor', r.floor);
  const at50 = r.runs.find((x) => x.concurrency === 50);
  lines.push('', `Before the runs, ${r.warmup} sessions unmeasured (warm-up, 50 at a time, users and instances of their own)${r.floor ? ', for each server' : ''}.`);
  if (r.floor) {
    lines.push('The floor: a stand-in making the same hops with no sdfleet logic (one GameServerAllocation through client-node, a node:http relay; test/bench/sessions-floor.ts), run after the allocator stopped.');
    for (const x of r.runs) {
      const f = r.floor.find((y) => y.concurrency === x.concurrency);
      if (f) lines.push(`At ${x.concurrency}: the allocator's p99 ${(x.startToRoutable.p99 / f.startToRoutable.p99).toFixed(2)}× the floor's, its sessions/s ${(x.perSecond / f.perSecond).toFixed(2)}× the floor's.`);
    }
  }
  lines.push(`RSS after the runs: allocator ${r.rssMb.allocator} MB, control plane (and bench) ${r.rssMb.controlPlane} MB.`);
  if (at50) lines.push(`Target p99 ≤ 15 ms (POST → routable, 50 concurrent): ${at50.startToRoutable.p99 <= 15 ? 'met' : 'NOT met'} (${ms(at50.startToRoutable.p99)} ms).`);
  const floor50 = r.floor?.find((x) => x.concurrency === 50);
  if (floor50) lines.push(`The floor at 50: p99 ${ms(floor50.startToRoutable.p99)} ms (${floor50.startToRoutable.p99 <= 15 ? 'within' : 'over'} 15 ms).`);
  return lines.join('\n');
}
