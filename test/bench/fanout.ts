/**
 * `sdfleet bench fanout`: the allocator with N sessions and N socket.io clients, on one
 * machine. The embedded control plane (real API, controllers, persistence on; a FakeRunner
 * that starts no process) with a Fleet of N GameServers; the allocator in its own process
 * (dev sign-in); N users, each with a session, then one socket.io client per user, connected
 * as that user, spread over one or two client processes.
 *
 * Measured: the allocator's RSS at rest (N sessions, then N sessions + N clients); then K
 * fleet updates that every client receives — a user joining or leaving the wait queue (a
 * queue Lease created or deleted in the control plane), after which the allocator
 * broadcasts the new counts as `fleet` to every socket — each timed from the change in the
 * control plane to the `fleet` event's arrival at each client. The N users hold sessions,
 * so a queue change must send them no `state`: those are counted. The waiting user is
 * connected too (from this process): when their own `state` (place in the queue, then
 * none) arrives is timed as well. Beside it in the same run: a bare socket.io server in
 * another process broadcasting the same payload to the same clients.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../common/log.ts';
import { ANNOTATION_USER_ID, LABEL_USER } from '../../fleet/agones/metadata.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { startEmbedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { FakeRunner } from '../../fleet/control-plane/runner/fake-runner.ts';
import { ANNOTATION_QUEUED_AT, LABEL_QUEUE, queueLeaseName } from '../../allocator/queue/queue.ts';
import { FLEET_GAP_MS, SOCKET_PATH } from '../../allocator/realtime/socket.ts';
import { userKey } from '../../allocator/identity/index.ts';
import { io as ioClient } from 'socket.io-client';
import { devSignIn } from './bench-http.ts';
import { benchAllocatorFlags } from './allocator-flags.ts';
import type { FromFanoutAllocator, ToFanoutAllocator } from './fanout-allocator.ts';
import type { FromFanoutBare, ToFanoutBare } from './fanout-bare.ts';
import type { FromFanoutClient, ToFanoutClient } from './fanout-client.ts';
import {
  broadcastTimes, clockOffset, ephemeralPorts, fanoutSummary, openFilesLimit, preciseNow, socketLimitProblem, splitRange,
  type BroadcastTimes, type FanoutSummary, type Ping, type UpdateArrivals,
} from './fanout-stats.ts';
import { ms, summarize, type Summary } from './stats.ts';

export interface FanoutBenchOptions {
  /** Users, each with a session and one socket.io client. Default 10,000. */
  clients: number;
  /** Fleet updates measured. Default 20. */
  updates: number;
  /** Processes the clients are spread over. Default 2. */
  clientProcesses: number;
  /** An update not at every client after this is counted as missed where it did not arrive. Default 10 s. */
  updateTimeoutMs: number;
  /** The whole run gives up after this. Default 300 s. */
  maxSeconds: number;
  /** Run the bare socket.io baseline. Default true. */
  baseline: boolean;
  /**
   * The clients: `lean` (default), a minimal socket.io protocol client that names each
   * event without decoding it (fanout-lean-socket.ts); `socket.io`, socket.io-client.
   */
  client?: 'lean' | 'socket.io';
  progress?: (line: string) => void;
}

export interface FanoutRun {
  /** Change → `fleet` arrival (sdfleet: the Lease written in the control plane; bare: the broadcast asked for). */
  fanout: FanoutSummary;
  /** Clients connected, of those asked for. */
  connected: number;
  /** Server RSS with every client connected and quiet, MB. */
  rssMb: number;
  heapMb: number;
  /** Most `fleet` events beyond one a client got for one update (should be 0). */
  extraEvents: number;
  /** `state` events the clients (each holding a session) got during the updates, all together (should be 0). */
  stateEvents: number;
}

export interface FanoutBenchResult {
  clients: number;
  updates: number;
  clientProcesses: number;
  /** Which client the sockets were held with. */
  client: 'lean' | 'socket.io';
  setup: { readySeconds: number; sessionsSeconds: number; sessionsStarted: number; sessionFailures: Record<string, number>; connectSeconds: number; connectFailures: Record<string, number> };
  /** The allocator with N sessions before any client connected, MB. */
  allocatorRssSessionsMb: number;
  sdfleet: FanoutRun;
  /** Change in the control plane → the allocator's queue informer saw it, per update, ms. */
  toInformer: Summary;
  /** Change → the waiting user's own `state` at their socket (in the bench's process), per update, ms; and updates it missed. */
  queuedState: { latency: Summary; missed: number };
  /** The allocator's event-loop delay during the updates, ms. */
  allocatorLoopDelay: { p50: number; p99: number; max: number };
  /** Per update, where the server's side of the time goes: change → the server starts writing `fleet`, and its writes to every socket, ms. */
  broadcast: BroadcastTimes;
  bare?: FanoutRun;
  bareBroadcast?: BroadcastTimes;
  /** Clock offsets (ms) and the round trips they were measured with: their error is half that. */
  clocks: { offsetMs: number; rttMs: number }[];
  payloadBytes: number;
  controlPlaneRssMb: number;
  seconds: number;
}

const CLIENT = fileURLToPath(new URL('./fanout-client.ts', import.meta.url));
const ALLOCATOR = fileURLToPath(new URL('./fanout-allocator.ts', import.meta.url));
const BARE = fileURLToPath(new URL('./fanout-bare.ts', import.meta.url));
const CHILD = { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as ('ignore' | 'inherit' | 'ipc')[] };
const mb = (n: number): number => Math.round(n / 1048576);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/** Gives up the whole run once its time is over, naming what it was waiting for. */
class Bound {
  readonly #end: number;
  readonly #seconds: number;
  constructor(seconds: number) {
    this.#seconds = seconds;
    this.#end = performance.now() + seconds * 1000;
  }

  async race<T>(p: Promise<T>, what: string): Promise<T> {
    let t: NodeJS.Timeout | undefined;
    const over = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`the bench ran past its ${this.#seconds} s bound (--max-seconds) while waiting for ${what}; try fewer --clients`)), Math.max(0, this.#end - performance.now()));
    });
    try {
      return await Promise.race([p, over]);
    } finally {
      clearTimeout(t);
    }
  }
}

/** A child process spoken to by IPC: `ask` sends and resolves with the first answer of a type. */
class Child<In extends { type: string }, Out extends { type: string }> {
  readonly proc: ChildProcess;
  readonly #name: string;
  #waiting: { type: string; resolve: (m: Out) => void; reject: (e: Error) => void }[] = [];
  #exited: Error | undefined;

  constructor(file: string, args: string[], name: string, execArgv: string[] = []) {
    this.#name = name;
    this.proc = fork(file, args, { ...CHILD, execArgv: [...CHILD.execArgv, ...execArgv] });
    this.proc.on('message', (m: Out) => {
      const i = this.#waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(m);
    });
    this.proc.once('exit', (code, signal) => {
      this.#exited = new Error(`the ${name} exited (${signal ?? code}) during the bench: see its output above`);
      for (const w of this.#waiting.splice(0)) w.reject(this.#exited);
    });
  }

  next<T extends Out['type']>(type: T): Promise<Extract<Out, { type: T }>> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => this.#waiting.push({ type, resolve: resolve as (m: Out) => void, reject }));
  }

  ask<T extends Out['type']>(m: In, type: T): Promise<Extract<Out, { type: T }>> {
    const p = this.next(type);
    this.send(m);
    return p;
  }

  send(m: In): void {
    if (!this.#exited && this.proc.connected) this.proc.send(m);
  }

  async clock(rounds = 20): Promise<{ offsetMs: number; rttMs: number }> {
    const pings: Ping[] = [];
    for (let id = 0; id < rounds; id++) {
      const sentAt = preciseNow();
      const pong = await this.ask({ type: 'ping', id } as unknown as In, 'pong' as Out['type']) as unknown as { at: number };
      pings.push({ sentAt, remoteAt: pong.at, receivedAt: preciseNow() });
    }
    return clockOffset(pings);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  toString(): string {
    return this.#name;
  }
}

type ClientProc = Child<ToFanoutClient, FromFanoutClient>;

function merge(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** K updates: arm every client, make the change, collect arrivals (what did not arrive in time is missed). */
async function measure(o: FanoutBenchOptions, bound: Bound, clients: ClientProc[], change: (k: number) => void, label: string): Promise<{ updates: UpdateArrivals[]; extra: number; states: number }> {
  const updates: UpdateArrivals[] = [];
  let extra = 0;
  let states = 0;
  for (let k = 0; k < o.updates; k++) {
    await bound.race(Promise.all(clients.map((c) => c.ask({ type: 'arm', k }, 'armed'))), `${label}: clients armed`);
    const answers = clients.map((c) => c.next('arrivals'));
    const changedAt = preciseNow();
    change(k);
    const timeout = setTimeout(() => clients.forEach((c) => c.send({ type: 'collect', k })), o.updateTimeoutMs);
    const got = await bound.race(Promise.all(answers), `${label}: update ${k + 1}`).finally(() => clearTimeout(timeout));
    updates.push({ changedAt, arrivals: got.map((a) => a.arrivals) });
    extra = Math.max(extra, ...got.map((a) => a.extra));
    states += got.reduce((a, x) => a + x.states, 0);
    // Quiet between updates: a stray event has time to arrive, and the next change comes
    // after the allocator's shortest gap between two `fleet` broadcasts (the update alone is measured, not the gap).
    await sleep(Math.max(300, changedAt + FLEET_GAP_MS + 50 - preciseNow()));
  }
  return { updates, extra, states };
}

async function connectAll(bound: Bound, clients: ClientProc[], url: string, cookies: boolean, lean: boolean, what: string): Promise<{ connected: number; failures: Record<string, number>; sample: unknown }> {
  const r = await bound.race(Promise.all(clients.map((c) => c.ask({ type: 'connect', url, path: SOCKET_PATH, cookies, concurrency: 100, lean }, 'connected'))), what);
  return { connected: r.reduce((a, x) => a + x.connected, 0), failures: r.reduce((a, x) => merge(a, x.failures), {}), sample: r.find((x) => x.sample !== null)?.sample ?? null };
}

export async function runFanoutBench(o: FanoutBenchOptions): Promise<FanoutBenchResult> {
  const say = o.progress ?? (() => undefined);
  const readOr = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const problem = socketLimitProblem({
    clients: o.clients,
    openFiles: openFilesLimit(readOr('/proc/self/limits')), ports: ephemeralPorts(readOr('/proc/sys/net/ipv4/ip_local_port_range')),
  });
  if (problem) throw new Error(problem);
  const t0 = performance.now();
  const bound = new Bound(o.maxSeconds);
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-fanout-'));
  let embedded: Awaited<ReturnType<typeof startEmbedded>> | undefined;
  let allocator: Child<ToFanoutAllocator, FromFanoutAllocator> | undefined;
  let bare: Child<ToFanoutBare, FromFanoutBare> | undefined;
  let waiterSocket: ReturnType<typeof ioClient> | undefined;
  const ranges = splitRange(o.clients, o.clientProcesses);
  const clients: ClientProc[] = ranges.map((_, i) => new Child<ToFanoutClient, FromFanoutClient>(CLIENT, [], `client process ${i + 1}`));
  try {
    await mkdir(join(dir, 'user-store'), { recursive: true });
    const runner = new FakeRunner((spec) => {
      embedded!.controlPlane.store.mutate(RESOURCES.gameServers, spec.namespace, spec.name, (c) => {
        (c as unknown as GameServer).status = { ...(c as unknown as GameServer).status, state: 'RequestReady' };
        return c;
      });
    });
    embedded = await startEmbedded({ dataDir: dir, port: 0, runner, logger: silentLogger() });
    const store = embedded.controlPlane.store;
    store.create(RESOURCES.fleets, {
      apiVersion: 'agones.dev/v1', kind: 'Fleet', metadata: { name: 'sd-webui', namespace: 'default' },
      spec: {
        replicas: o.clients,
        template: {
          spec: {
            // No instance is reached: the bench measures the allocator's sockets, not its proxy.
            ports: [{ name: 'webui', portPolicy: 'Static', containerPort: 9, hostPort: 9, protocol: 'TCP' }],
            health: { disabled: true },
            template: { spec: { containers: [{ name: 'webui', image: 'bench', command: ['none'] }] } },
          },
        },
      },
    });
    say(`waiting for ${o.clients} Ready GameServers`);
    const ready = (): number => store.list(RESOURCES.gameServers).items.filter((g) => (g as unknown as GameServer).status?.state === 'Ready').length;
    await bound.race((async () => {
      while (ready() < o.clients) await sleep(250);
    })(), `${o.clients} Ready GameServers`);
    const readySeconds = (performance.now() - t0) / 1000;

    allocator = new Child<ToFanoutAllocator, FromFanoutAllocator>(ALLOCATOR, [embedded.controlPlane.kubeconfigPath!, join(dir, 'user-store')], 'allocator',
      // As `bench sessions`: a CPU profile of the allocator, or other flags, on request.
      benchAllocatorFlags());
    const { url } = await bound.race(allocator.next('ready'), 'the allocator to start');
    say(`${o.clients} Ready in ${readySeconds.toFixed(1)} s; allocator at ${url}; signing ${o.clients} users in and starting their sessions`);

    const t1 = performance.now();
    const started = await bound.race(Promise.all(clients.map((c, i) => c.ask({ type: 'sessions', base: url, prefix: 'user', from: ranges[i]![0], to: ranges[i]![1], concurrency: 25 }, 'sessions-done'))), 'the sessions to start');
    const sessionsSeconds = (performance.now() - t1) / 1000;
    const sessionsStarted = started.reduce((a, s) => a + s.started, 0);
    const sessionFailures = started.reduce((a, s) => merge(a, s.failures), {});
    // The allocator learns of each session from its informer as well: wait until it holds them all.
    await bound.race((async () => {
      while ((await allocator.ask({ type: 'sessions' }, 'sessions')).live < sessionsStarted) await sleep(250);
    })(), 'the allocator to list every session');
    await sleep(2000);
    const atRest = await allocator.ask({ type: 'rss' }, 'rss');
    say(`${sessionsStarted} sessions in ${sessionsSeconds.toFixed(1)} s (${JSON.stringify(sessionFailures)} failed); allocator RSS ${atRest.rssMb} MB; connecting ${o.clients} socket.io clients over ${clients.length} processes`);

    const t2 = performance.now();
    const conn = await connectAll(bound, clients, url, true, o.client !== 'socket.io', `${o.clients} socket.io clients to connect to the allocator`);
    const connectSeconds = (performance.now() - t2) / 1000;
    // The user who joins and leaves the queue, connected as a browser would be.
    const waiterName = 'fanout-waiter';
    const waiter = userKey(waiterName);
    const agent = new http.Agent({ keepAlive: true });
    const { cookie } = await bound.race(devSignIn(agent, url, waiterName), 'the waiting user to sign in');
    agent.destroy();
    const waiterStates: number[] = [];
    waiterSocket = ioClient(url, { path: SOCKET_PATH, transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { origin: new URL(url).origin, cookie } });
    waiterSocket.on('state', () => void waiterStates.push(preciseNow()));
    const ws = waiterSocket;
    await bound.race(new Promise<void>((resolve, reject) => {
      ws.once('connect', () => resolve());
      ws.once('connect_error', (err) => reject(new Error(`the waiting user's socket was refused: ${err.message}`)));
    }), 'the waiting user to connect');
    await sleep(3000);
    const rest = await allocator.ask({ type: 'rss' }, 'rss');
    say(`${conn.connected} connected in ${connectSeconds.toFixed(1)} s (${JSON.stringify(conn.failures)} failed); allocator RSS ${rest.rssMb} MB, heap ${rest.heapMb} MB; ${o.updates} updates`);

    const clocks = await bound.race(Promise.all([...clients.map((c) => c.clock()), allocator.clock()]), 'clock offsets');
    const offsets = clocks.slice(0, clients.length).map((c) => c.offsetMs);
    await allocator.ask({ type: 'changes' }, 'changes');
    allocator.send({ type: 'loop-reset' });
    const toInformer: number[] = [];
    const sd = await measure(o, bound, clients, (k) => {
      // A user joins the queue (even updates) or leaves it (odd): the count of those waiting changes, for every socket.
      if (k % 2 === 0) {
        const now = new Date().toISOString();
        store.create(RESOURCES.leases, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: queueLeaseName(waiter), namespace: 'default', labels: { [LABEL_QUEUE]: 'default', [LABEL_USER]: waiter }, annotations: { [ANNOTATION_USER_ID]: waiterName, [ANNOTATION_QUEUED_AT]: now } },
          spec: { holderIdentity: 'bench', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now },
        });
      } else {
        store.delete(RESOURCES.leases, 'default', queueLeaseName(waiter));
      }
    }, 'sdfleet');
    const { at: seen, broadcasts, framedSockets, emittedSockets } = await allocator.ask({ type: 'changes' }, 'changes');
    const { type: _, ...loop } = await allocator.ask({ type: 'loop' }, 'loop');
    const allocatorOffset = clocks.at(-1)!.offsetMs;
    // The first change the informer saw after each update was made.
    for (const u of sd.updates) {
      const at = seen.find((t) => t - allocatorOffset >= u.changedAt);
      if (at !== undefined) toInformer.push(at - allocatorOffset - u.changedAt);
    }
    // The waiting user's first `state` after each change, before the next one.
    const queuedState: number[] = [];
    sd.updates.forEach((u, i) => {
      const next = sd.updates[i + 1]?.changedAt ?? Infinity;
      const at = waiterStates.find((t) => t >= u.changedAt && t < next);
      if (at !== undefined) queuedState.push(at - u.changedAt);
    });
    waiterSocket.close();
    const broadcast = broadcastTimes(sd.updates, broadcasts, allocatorOffset);
    const sdfleet: FanoutRun = { fanout: fanoutSummary(sd.updates, offsets), connected: conn.connected, rssMb: rest.rssMb, heapMb: rest.heapMb, extraEvents: sd.extra, stateEvents: sd.states };
    say(`sdfleet: p50 ${ms(sdfleet.fanout.delivery.p50)} ms, p99 ${ms(sdfleet.fanout.delivery.p99)} ms, ${sdfleet.fanout.missedDeliveries} missed; ${sd.states} \`state\` events to users holding a session; \`fleet\` as a ready-made frame to ${framedSockets} sockets, through socket.io's emit to ${emittedSockets}`);
    await bound.race(Promise.all(clients.map((c) => c.ask({ type: 'close' }, 'closed'))), 'the clients to disconnect');
    await allocator.stop();

    let bareRun: FanoutRun | undefined;
    let bareBroadcast: BroadcastTimes | undefined;
    if (o.baseline) {
      bare = new Child<ToFanoutBare, FromFanoutBare>(BARE, [], 'bare socket.io server');
      const b = bare;
      const { url: bareUrl } = await bound.race(b.next('ready'), 'the bare socket.io server to start');
      const bc = await connectAll(bound, clients, bareUrl, false, o.client !== 'socket.io', `${o.clients} socket.io clients to connect to the bare server`);
      await sleep(3000);
      const bareRest = await b.ask({ type: 'rss' }, 'rss');
      say(`baseline: ${bc.connected} connected; bare server RSS ${bareRest.rssMb} MB; ${o.updates} broadcasts`);
      const bareClocks = await bound.race(Promise.all(clients.map((c) => c.clock())), 'clock offsets');
      const bareOffset = (await bound.race(b.clock(), 'the bare server\'s clock offset')).offsetMs;
      await b.ask({ type: 'broadcasts' }, 'broadcasts');
      const bu = await measure(o, bound, clients, () => b.send({ type: 'broadcast', payload: conn.sample }), 'bare');
      bareBroadcast = broadcastTimes(bu.updates, (await b.ask({ type: 'broadcasts' }, 'broadcasts')).broadcasts, bareOffset);
      bareRun = { fanout: fanoutSummary(bu.updates, bareClocks.map((c) => c.offsetMs)), connected: bc.connected, rssMb: bareRest.rssMb, heapMb: bareRest.heapMb, extraEvents: bu.extra, stateEvents: bu.states };
      clocks.push(...bareClocks);
      await bound.race(Promise.all(clients.map((c) => c.ask({ type: 'close' }, 'closed'))), 'the clients to disconnect');
    }
    return {
      clients: o.clients, updates: o.updates, clientProcesses: clients.length, client: o.client ?? 'lean',
      setup: { readySeconds, sessionsSeconds, sessionsStarted, sessionFailures, connectSeconds, connectFailures: conn.failures },
      allocatorRssSessionsMb: atRest.rssMb,
      sdfleet,
      toInformer: summarize(toInformer),
      queuedState: { latency: summarize(queuedState), missed: sd.updates.length - queuedState.length },
      allocatorLoopDelay: loop,
      broadcast,
      ...(bareRun ? { bare: bareRun } : {}),
      ...(bareBroadcast ? { bareBroadcast } : {}),
      clocks,
      payloadBytes: Buffer.byteLength(JSON.stringify(conn.sample)),
      controlPlaneRssMb: mb(process.memoryUsage.rss()),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    waiterSocket?.close();
    await Promise.all([...clients.map((c) => c.stop()), allocator?.stop(), bare?.stop()]);
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const FANOUT_TARGETS = { rssMb: 1024, p99Ms: 200 } as const;

export function fanoutReport(r: FanoutBenchResult): string {
  const row = (name: string, s: Summary): string => `| ${name} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} |`;
  const run = (name: string, x: FanoutRun): string[] => [
    row(`${name}: change → \`fleet\` at each client (${x.fanout.delivery.n} deliveries)`, x.fanout.delivery),
    row(`${name}: change → first client (per update)`, x.fanout.first),
    row(`${name}: change → last client (per update)`, x.fanout.last),
  ];
  const s = r.sdfleet;
  const ratio = (a: number, b: number | undefined): string => (b && Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : '—');
  const missed = (x: FanoutRun): string => `${x.fanout.missedDeliveries} of ${x.fanout.expected} deliveries missed (${x.fanout.clientsMissing} clients missed at least one update)`;
  const rssMet = s.rssMb <= FANOUT_TARGETS.rssMb;
  const p99Met = s.fanout.delivery.p99 <= FANOUT_TARGETS.p99Ms && s.fanout.missedDeliveries === 0;
  const maxRtt = Math.max(...r.clocks.map((c) => c.rttMs));
  return [
    `| measured (${r.clients} clients, ${r.updates} updates) | p50 ms | p95 ms | p99 ms | max ms |`,
    '| --- | --- | --- | --- | --- |',
    row('sdfleet: change in the control plane → the allocator\'s queue informer', r.toInformer),
    ...run('sdfleet', s),
    row(`sdfleet: change → the allocator starts writing \`fleet\` (${r.broadcast.start.n} of ${r.updates})`, r.broadcast.start),
    row('sdfleet: the allocator writing `fleet` to every socket', r.broadcast.writes),
    row(`sdfleet: change → the waiting user's own \`state\` (${r.queuedState.latency.n} of ${r.updates})`, r.queuedState.latency),
    ...(r.bare ? run('bare socket.io broadcast', r.bare) : []),
    ...(r.bareBroadcast ? [row('bare socket.io: change → it starts writing (the bench\'s message to it)', r.bareBroadcast.start), row('bare socket.io: writing `fleet` to every socket', r.bareBroadcast.writes)] : []),
    ...(r.bare ? [`| ratio sdfleet / bare, change → each client | ${ratio(s.fanout.delivery.p50, r.bare.fanout.delivery.p50)} | ${ratio(s.fanout.delivery.p95, r.bare.fanout.delivery.p95)} | ${ratio(s.fanout.delivery.p99, r.bare.fanout.delivery.p99)} | ${ratio(s.fanout.delivery.max, r.bare.fanout.delivery.max)} |`] : []),
    '',
    `The allocator's event loop during the updates: delay p50 ${ms(r.allocatorLoopDelay.p50)} ms, p99 ${ms(r.allocatorLoopDelay.p99)} ms, max ${ms(r.allocatorLoopDelay.max)} ms.`,
    `sdfleet: ${s.connected} of ${r.clients} clients connected; ${missed(s)}; at most ${s.extraEvents} extra \`fleet\` events per client and update; ` +
      `${s.stateEvents} \`state\` events to the clients (all holding a session) during the updates; the waiting user missed ${r.queuedState.missed} of ${r.updates} \`state\` updates.` +
      (r.bare ? ` Bare: ${r.bare.connected} connected; ${missed(r.bare)}.` : ''),
    `RSS: allocator ${r.allocatorRssSessionsMb} MB with ${r.setup.sessionsStarted} sessions, ${s.rssMb} MB (heap ${s.heapMb} MB) with the clients connected too` +
      `${r.bare ? `; bare socket.io server with the same clients ${r.bare.rssMb} MB` : ''}; control plane (and bench) ${r.controlPlaneRssMb} MB. \`fleet\` payload ${r.payloadBytes} bytes.`,
    `Setup: ${r.setup.readySeconds.toFixed(0)} s to ${r.clients} Ready GameServers, ${r.setup.sessionsSeconds.toFixed(0)} s to ${r.setup.sessionsStarted} sessions` +
      ` (failures ${JSON.stringify(r.setup.sessionFailures)}), ${r.setup.connectSeconds.toFixed(1)} s to connect the clients (failures ${JSON.stringify(r.setup.connectFailures)});` +
      ` ${r.clientProcesses} client processes holding ${r.client === 'lean' ? 'lean protocol clients (events named, not decoded)' : 'socket.io-client sockets'}; clock offsets within ±${(maxRtt / 2).toFixed(2)} ms; ${r.seconds.toFixed(0)} s in all.`,
    `Targets at ${r.clients}: allocator RSS ≤ ${FANOUT_TARGETS.rssMb} MB: ${rssMet ? 'met' : 'NOT met'} (${s.rssMb} MB); fan-out p99 ≤ ${FANOUT_TARGETS.p99Ms} ms with none missed: ${p99Met ? 'met' : 'NOT met'} (${ms(s.fanout.delivery.p99)} ms, ${s.fanout.missedDeliveries} missed).`,
  ].join('\n');
}
