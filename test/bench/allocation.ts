/**
 * `sdfleet bench allocation`: GameServerAllocations per second and their latency, against
 * a Fleet of Ready GameServers on the embedded control plane (the real API, store with
 * persistence on, controllers; a FakeRunner that starts no process), with a load client
 * in another process over keep-alive HTTP. Beside it, in the same run and with the same
 * client: a bare loopback HTTP server answering a JSON body of the same size.
 *
 * The Ready pool is refilled between rounds: when a round has sent as many requests as
 * there were Ready GameServers, the client lets the last answers come in, every Allocated
 * GameServer is set back to RequestReady (what SDK.Ready() does at the end of a session)
 * and the controller makes it Ready; that time is not measured.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { startEmbedded, type Embedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { FakeRunner } from '../../fleet/control-plane/runner/fake-runner.ts';
import type { KubeObject, ObjectStore } from '../../fleet/control-plane/store/types.ts';
import type { AllocationBenchOptions } from './allocation-options.ts';
import type { FromClient, PhaseResult, PhaseSpec, ToClient } from './allocation-client.ts';
import { Meter, startProfile, type ServerMeter } from './allocation-meter.ts';
import { ms } from './stats.ts';

export { allocationReport } from './allocation-report.ts';

export { ALLOCATION_BENCH_DEFAULTS, type AllocationBenchOptions } from './allocation-options.ts';

export interface RunResult {
  target: 'control plane' | 'baseline';
  mode: 'closed' | 'open';
  concurrency: number;
  rate?: number;
  /** Allocated answers per measured second. */
  perSecond: number;
  client: PhaseResult;
  server: ServerMeter;
}

export interface AllocationBenchResult {
  gameServers: number;
  /** An SDK server per GameServer (see AllocationBenchOptions.sdkServers). */
  sdkServers: boolean;
  /** Fleet created → all Ready. */
  setupSeconds: number;
  /** RSS of the server process with the Fleet Ready, before any allocation, MB. */
  rssReadyMb: number;
  /** RSS of the server process at the end, MB. */
  rssEndMb: number;
  /** Highest RSS of the server process over the whole run (getrusage), MB. */
  rssMaxMb: number;
  /** Bytes of an Allocated answer (the baseline answers with the same). */
  answerBytes: number;
  runs: RunResult[];
}

const FLEET = 'sd-webui';
const ALLOCATE_PATH = '/apis/allocation.agones.dev/v1/namespaces/default/gameserverallocations';
const GS = RESOURCES.gameServers;

/** The Fleet: as k8s/local/fleet.yaml, but with health checks off (no process pings). */
function benchFleet(replicas: number): KubeObject {
  return {
    apiVersion: 'agones.dev/v1',
    kind: 'Fleet',
    metadata: { name: FLEET, namespace: 'default' },
    spec: {
      replicas,
      scheduling: 'Packed',
      strategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: { 'sdfleet.dev/profile': 'default' } },
        spec: {
          ports: [{ name: 'webui', portPolicy: 'Dynamic', containerPort: 7860, protocol: 'TCP' }],
          health: { disabled: true },
          template: { spec: { terminationGracePeriodSeconds: 30, containers: [{ name: 'webui', image: 'sdfleet/webui:local', command: ['sdfleet', 'wrapper'] }] } },
        },
      },
    },
  };
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

function stateCounts(store: ObjectStore): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of store.list(GS, { namespace: 'default' }).items) {
    const s = (o as unknown as GameServer).status?.state ?? '';
    out.set(s, (out.get(s) ?? 0) + 1);
  }
  return out;
}

async function until(what: string, timeoutMs: number, pred: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A bare HTTP server answering every POST with `answer` (201), as the API server would. */
async function startBaseline(answer: string): Promise<{ url: string; stop(): Promise<void> }> {
  const body = Buffer.from(answer);
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // As the API server does: the body decoded (a GET of /healthz has none).
      try {
        if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-cache, private' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The load client, forked; runs one phase at a time. */
class LoadClient {
  readonly #child: ChildProcess;
  #exited: Promise<void>;

  constructor() {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    this.#child = fork(fileURLToPath(new URL('./allocation-client.ts', import.meta.url)), [], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  /** Runs a phase; `refill` is called when the pool needs refilling and returns the next quota. */
  run(spec: PhaseSpec, refill: () => Promise<number | null>): Promise<PhaseResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the load client exited (code ${code}) in the middle of a run`));
      const onMessage = (m: FromClient): void => {
        if (m.type === 'refill') {
          refill().then(
            (quota) => this.#send({ type: 'refilled', quota }),
            (err: unknown) => {
              done();
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
          return;
        }
        done();
        if (m.type === 'result') resolve(m.result);
        else reject(new Error(`the load client failed: ${m.message}`));
      };
      const done = (): void => {
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#send({ type: 'run', spec });
    });
  }

  #send(m: ToClient): void {
    this.#child.send(m);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.connected) this.#send({ type: 'exit' });
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(t);
  }
}

export async function runAllocationBench(o: AllocationBenchOptions): Promise<AllocationBenchResult> {
  const say = o.progress ?? (() => undefined);
  const root = await mkdtemp(join(tmpdir(), 'sdfleet-bench-alloc-'));
  let embedded: Embedded | undefined;
  let client: LoadClient | undefined;
  let baseline: Awaited<ReturnType<typeof startBaseline>> | undefined;
  // Ctrl-C: no temp dir left behind (the load client is a child: it goes with the parent's IPC).
  const onSignal = (signal: NodeJS.Signals): void => {
    rmSync(root, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // ---- the server: the embedded control plane, persistence on, a runner without processes
    const holder: { store?: ObjectStore } = {};
    const runner = new FakeRunner((spec) => {
      // What the wrapper does once warm: SDK.Ready() (under a control plane: RequestReady).
      holder.store?.mutate(GS, spec.namespace, spec.name, (c) => {
        (c as unknown as GameServer).status = { ...(c as unknown as GameServer).status, state: 'RequestReady' };
        return c;
      });
    });
    embedded = await startEmbedded({
      dataDir: join(root, 'data'),
      port: 0,
      runner,
      portRange: { min: 20_000, max: Math.min(65_535, 20_000 + Math.max(1000, 2 * o.gameServers)) },
      logger: silentLogger(),
      ...(o.sdkServers ? { sdkServers: true } : {}),
    });
    const store = embedded.controlPlane.store;
    holder.store = store;
    const apiUrl = embedded.controlPlane.api.url;
    const t0 = performance.now();
    store.create(RESOURCES.fleets, benchFleet(o.gameServers));
    say(`waiting for ${o.gameServers} Ready GameServers…`);
    await until(`${o.gameServers} Ready GameServers`, 60_000 + o.gameServers * 20, () => (stateCounts(store).get('Ready') ?? 0) === o.gameServers);
    await embedded.controllers.idle();
    await store.compact();
    const setupSeconds = (performance.now() - t0) / 1000;
    const rssReadyMb = mb(process.memoryUsage.rss());
    say(`${o.gameServers} Ready in ${setupSeconds.toFixed(1)} s; RSS ${rssReadyMb} MB`);

    /** Every Allocated GameServer back to Ready, as SDK.Ready() at the end of a session. */
    const refill = async (): Promise<number> => {
      for (const gs of store.list(GS, { namespace: 'default' }).items) {
        if ((gs as unknown as GameServer).status?.state !== 'Allocated') continue;
        store.mutate(GS, 'default', gs.metadata.name!, (c) => {
          const g = c as unknown as GameServer;
          if (g.status?.state !== 'Allocated') return undefined;
          g.status = { ...g.status, state: 'RequestReady' };
          return c;
        });
      }
      await until('the pool to be Ready again', 60_000, () => (stateCounts(store).get('Ready') ?? 0) === o.gameServers);
      await embedded!.controllers.idle();
      // The refill's writes folded into the object files now, not by the idle compaction in the next run.
      await store.compact();
      return o.gameServers;
    };

    // One allocation by hand: its answer is what the baseline sends back.
    const sample = await fetch(apiUrl + ALLOCATE_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': FLEET } }], metadata: { labels: { 'sdfleet.dev/user': 'u-00000000' }, annotations: { 'sdfleet.dev/user-id': 'user0@example.com', 'sdfleet.dev/session': 's-0-0', 'sdfleet.dev/allocated-at': new Date().toISOString() } } } }),
    });
    const answer = await sample.text();
    if (sample.status !== 201 || !answer.includes('"state":"Allocated"')) throw new Error(`the first allocation did not succeed: HTTP ${sample.status}: ${answer.slice(0, 300)}`);
    await refill();

    if (o.baseline) baseline = await startBaseline(answer);
    client = new LoadClient();
    let id = 0;
    const spec = (url: string, mode: 'closed' | 'open', concurrency: number, over: Partial<PhaseSpec> = {}): PhaseSpec => ({
      id: ++id,
      url,
      path: ALLOCATE_PATH,
      mode,
      concurrency,
      rate: o.rate,
      durationMs: o.durationSec * 1000,
      count: o.count,
      quota: null,
      fleet: FLEET,
      client: o.client,
      ...over,
    });

    const runs: RunResult[] = [];
    const measure = async (target: RunResult['target'], s: PhaseSpec): Promise<RunResult> => {
      const profile = target === 'control plane' && o.cpuProfileDir ? await startProfile() : undefined;
      const meter = new Meter();
      meter.resume();
      const r = await client!.run(s, async () => {
        meter.pause();
        const quota = await refill();
        meter.resume();
        return quota;
      });
      const server = meter.result(r.allocated + r.unallocated + r.errors, r.cpuMs);
      if (profile) {
        const file = join(o.cpuProfileDir!, `allocation-${s.mode}-${s.concurrency}.cpuprofile`);
        await profile.stop(file);
        say(`CPU profile of the server: ${file}`);
      }
      const run: RunResult = { target, mode: s.mode, concurrency: s.concurrency, ...(s.mode === 'open' ? { rate: s.rate } : {}), perSecond: r.allocated / (r.elapsedMs / 1000), client: r, server };
      say(`${target}, ${s.mode === 'open' ? `open loop at ${s.rate}/s over ${s.concurrency} connections` : `${s.concurrency} clients`}: ${run.perSecond.toFixed(0)}/s, p50 ${ms(r.latency.p50)} ms, p99 ${ms(r.latency.p99)} ms${r.unallocated ? `, ${r.unallocated} UnAllocated` : ''}${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}`);
      return run;
    };
    const cp = async (mode: 'closed' | 'open', concurrency: number, over: Partial<PhaseSpec> = {}): Promise<RunResult> => {
      await refill();
      return measure('control plane', spec(apiUrl, mode, concurrency, { quota: o.gameServers, ...over }));
    };

    // ---- warm-up (not reported)
    const warmC = Math.max(...o.concurrency, o.rateConcurrency);
    if (o.warmup > 0) {
      say(`warm-up: ${o.warmup} requests to each server`);
      if (baseline) await client.run(spec(baseline.url, 'closed', warmC, { count: o.warmup, durationMs: 60_000 }), async () => null);
      await refill();
      await client.run(spec(apiUrl, 'closed', warmC, { count: o.warmup, durationMs: 60_000, quota: o.gameServers }), refill);
    }

    // ---- closed loop, per number of clients; then the open loop at a fixed rate
    for (const c of o.concurrency) {
      if (baseline) runs.push(await measure('baseline', spec(baseline.url, 'closed', c)));
      runs.push(await cp('closed', c));
    }
    if (o.rate > 0) {
      if (baseline) runs.push(await measure('baseline', spec(baseline.url, 'open', o.rateConcurrency)));
      runs.push(await cp('open', o.rateConcurrency));
    }
    await refill();
    return {
      gameServers: o.gameServers,
      sdkServers: o.sdkServers ?? false,
      setupSeconds,
      rssReadyMb,
      rssEndMb: mb(process.memoryUsage.rss()),
      rssMaxMb: Math.round(process.resourceUsage().maxRSS / 1024),
      answerBytes: Buffer.byteLength(answer),
      runs,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client?.stop();
    await baseline?.stop();
    await embedded?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
