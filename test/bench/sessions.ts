/**
 * `sdfleet bench sessions`: POST /sessions → the instance routable through the proxy, for
 * many users, `concurrency` at a time, on one machine: the embedded control plane (real API,
 * controllers, persistence on; a FakeRunner that starts no process, every instance's
 * status pointing at one small backend that answers like a warm WebUI), the allocator (dev
 * sign-in, its proxy), and a load client in another process.
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

export interface SessionsBenchOptions {
  /** Users, each starting one session (and Ready instances, one each). Default 1,000. */
  users: number;
  /** Users starting at once. Default 50. */
  concurrency: number;
  progress?: (line: string) => void;
}

export interface SessionsBenchResult {
  users: number;
  concurrency: number;
  startToRoutable: Summary;
  post: Summary;
  perSecond: number;
  failures: Record<string, number>;
  /** RSS of the allocator and of the control plane process. */
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
        replicas: o.users,
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
    say(`waiting for ${o.users} Ready instances`);
    for (;;) {
      store = embedded.controlPlane.store.list(RESOURCES.gameServers).items;
      if (store.filter((g) => (g as unknown as GameServer).status?.state === 'Ready').length >= o.users) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    allocator = fork(ALLOCATOR, [embedded.controlPlane.kubeconfigPath!, join(dir, 'user-store')], { execArgv: ['--import', 'tsx', ...(process.env.SDFLEET_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SDFLEET_BENCH_PROFILE}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proc = allocator;
    const url = await new Promise<string>((resolve, reject) => {
      proc.on('message', (m: { type: string; url?: string }) => {
        if (m.type === 'ready') resolve(m.url!);
      });
      proc.once('exit', (code) => reject(new Error(`the allocator exited with ${code}`)));
    });
    const done = new Promise<Extract<FromClient, { type: 'done' }>>((resolve, reject) => {
      client.on('message', (m: FromClient) => {
        if (m.type === 'signed-in') say(`${m.users} users signed in; starting sessions, ${o.concurrency} at a time`);
        if (m.type === 'done') resolve(m);
      });
      client.once('exit', (code) => reject(new Error(`the load client exited with ${code}`)));
    });
    client.send({ type: 'run', base: url, users: o.users, concurrency: o.concurrency, prefix: 'user' } satisfies ToClient);
    const r = await done;
    const allocatorRss = await new Promise<number>((resolve) => {
      proc.on('message', (m: { type: string; rssMb?: number }) => {
        if (m.type === 'rss') resolve(m.rssMb!);
      });
      proc.send({ type: 'rss' });
    });
    return {
      users: o.users,
      concurrency: o.concurrency,
      startToRoutable: summarize(r.startToRoutable),
      post: summarize(r.post),
      perSecond: (r.startToRoutable.length / r.wallMs) * 1000,
      failures: r.failures,
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
  return [
    `| measured (${r.users} users, ${r.concurrency} at a time) | p50 ms | p90 ms | p99 ms | max ms |`,
    '| --- | --- | --- | --- | --- |',
    `| POST /sessions → 201 | ${ms(r.post.p50)} | ${ms(r.post.p90)} | ${ms(r.post.p99)} | ${ms(r.post.max)} |`,
    `| POST /sessions → first proxied 200 from the instance | ${ms(r.startToRoutable.p50)} | ${ms(r.startToRoutable.p90)} | ${ms(r.startToRoutable.p99)} | ${ms(r.startToRoutable.max)} |`,
    '',
    `Sessions started per second: ${r.perSecond.toFixed(0)}; failures: ${JSON.stringify(r.failures)}; RSS: allocator ${r.rssMb.allocator} MB, control plane ${r.rssMb.controlPlane} MB.`,
    `Target p99 ≤ 15 ms (POST → routable): ${r.startToRoutable.p99 <= 15 ? 'met' : 'NOT met'} (${ms(r.startToRoutable.p99)} ms).`,
  ].join('\n');
}
