/**
 * A discrete-event simulation of one Fleet under a session trace, with Agones'
 * semantics:
 * - every `syncSeconds` the FleetAutoscaler's policy sets the Fleet's replicas (the first
 *   sync at t = 0; what it asks for then is Ready at once, as in a fleet that was running);
 * - the Fleet creates or deletes GameServers at once to match: scale-down never touches
 *   Allocated ones and removes starting ones first (the newest first), then Ready ones
 *   (the newest first), as fleet-decision.ts;
 * - a new GameServer is Ready a cold start after its creation (a fixed value or drawn);
 * - a user who arrives takes a Ready GameServer at once, or queues (FIFO) and takes the
 *   next one to turn Ready; they hold it for `session_s`, then release it: it shuts
 *   down and the Fleet, still at its replicas, creates a replacement — unless the policy
 *   has a `release` step (release-time shrink, release.ts), which may lower the replicas
 *   by the freed slot first, as the releaser's PATCH of the Fleet's scale would.
 * GPU time is counted from creation to shutdown; idle = starting + Ready unallocated,
 * also split by what became of each GameServer (IdleBreakdown) and by hour of the day.
 */
import type { Demand, ReviewInput } from '../policy.ts';
import type { Trace } from './trace.ts';

/** A policy under simulation: told of every arrival, asked for replicas at every sync. */
export interface SimPolicy {
  readonly name: string;
  onArrival?(atMs: number, id: string): void;
  decide(review: ReviewInput, demand: Demand): number;
  /**
   * Asked when a session ends, with the Fleet as it is after the release and its current
   * replicas: the replicas the releaser writes before the Fleet refills, or undefined to
   * leave them. Only a lower value is applied.
   */
  release?(review: ReviewInput, demand: Demand, specReplicas: number): number | undefined;
  /**
   * Asked when a user arrives (after they took an instance or queued), with the Fleet as
   * it is then and its current replicas: the replicas the allocator writes at once, or
   * undefined to leave them to the next sync. Only a higher value is applied.
   */
  arrival?(review: ReviewInput, demand: Demand, specReplicas: number): number | undefined;
}

export type ColdStart = () => number;

export interface SimOptions {
  trace: Trace;
  policy: SimPolicy;
  /** Seconds from creation to Ready, drawn per GameServer. */
  coldStart: ColdStart;
  /** Autoscaler sync interval, seconds. Default 30. */
  syncSeconds?: number;
  /** Wall-clock time of t = 0 (ms); the policy sees times from here. */
  startMs: number;
  /**
   * GPU time is counted up to here (seconds) or until the last session ends, whichever is
   * later. Default: the whole days that hold every arrival.
   */
  horizonSeconds?: number;
  /** A wait up to this counts as warm. Default 2 s. */
  warmSeconds?: number;
  /** Called when a user gets an instance, with the wait in seconds. */
  onServed?: (session: number, waitSeconds: number) => void;
  /** Called after each sync (timelines, debugging). */
  onSync?: (s: { t: number; replicas: number; ready: number; starting: number; allocated: number; queued: number }) => void;
}

/**
 * Where the idle GPU-hours went, by what became of each GameServer: the ones that served
 * a session (their cold start, then their wait in the buffer), the ones scaled away
 * without serving anyone (while starting: e.g. the Fleet's refill after a release,
 * removed at the next sync; or once Ready), and the ones still warm at the end.
 */
export interface IdleBreakdown {
  servedStarting: number;
  servedReady: number;
  droppedStarting: number;
  droppedReady: number;
  leftWarm: number;
}

export interface SimResult {
  name: string;
  /** Arrivals in the trace. */
  sessions: number;
  served: number;
  /** Still waiting when the simulation ended (reported, not lost). */
  unserved: number;
  warm: number;
  warmPct: number;
  /** Seconds; null when more than that share was never served. */
  waitP50: number | null;
  waitP95: number | null;
  waitP99: number | null;
  waitMax: number | null;
  gpuHours: number;
  idleGpuHours: number;
  busyGpuHours: number;
  startingGpuHours: number;
  /** idleGpuHours split by what became of each GameServer. */
  idleBy: IdleBreakdown;
  /** idleGpuHours by hour of the day (t = 0 is 00:00; 24 entries, days added up). */
  idleByHour: number[];
  /** GameServers created (each a cold start). */
  created: number;
  /** Sessions whose end lowered the replicas (the policy's release step), so the Fleet did not refill. */
  releaseShrinks: number;
  /** Arrivals after which the replicas were raised at once (the policy's arrival step), not at the next sync. */
  arrivalGrows: number;
  /** Hours with no GameServer at all (scaled to zero). */
  hoursAtZero: number;
  peakReplicas: number;
  /** The trace's span (whole days holding every arrival, or horizonSeconds). */
  horizonHours: number;
}

type GsState = 'starting' | 'ready' | 'allocated';

interface Gs {
  id: number;
  state: GsState;
  createdAt: number;
  /** When it turned Ready (or was taken straight from starting by a queued user). */
  readyAt?: number;
  gone: boolean;
}

// Event kinds, in the order they run at the same instant.
const END = 0;
const READY = 1;
const ARRIVAL = 2;
const SYNC = 3;

interface Ev {
  t: number;
  kind: number;
  seq: number;
  ref: number;
}

/** A binary min-heap of events by (time, kind, seq). */
class EventQueue {
  #h: Ev[] = [];
  #seq = 0;

  push(t: number, kind: number, ref: number): void {
    const e = { t, kind, seq: this.#seq++, ref };
    const h = this.#h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): Ev | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  get size(): number {
    return this.#h.length;
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && (a.kind < b.kind || (a.kind === b.kind && a.seq < b.seq)));
}

/** Nearest-rank percentile of ascending values (Infinity for the unserved). */
function pct(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return Number.isFinite(v) ? v : null;
}

export function simulate(o: SimOptions): SimResult {
  const sync = o.syncSeconds ?? 30;
  const warmLimit = o.warmSeconds ?? 2;
  const sessions = o.trace.sessions;
  const lastArrival = sessions.at(-1)?.arrival ?? 0;
  const horizon = o.horizonSeconds ?? Math.max(1, Math.ceil((lastArrival + 1) / 86_400)) * 86_400;
  // Beyond the horizon the run goes on only to let queued users be served and sessions end.
  const hardStop = horizon + 2 * 86_400;

  const q = new EventQueue();
  const gss: Gs[] = [];
  const starting = new Set<number>();
  const ready: number[] = []; // ids, oldest Ready first
  let allocated = 0;
  const queue: number[] = []; // session indexes, FIFO
  let queueHead = 0;
  const waits = new Array<number>(sessions.length).fill(Infinity);
  const coldSamples: number[] = [];
  let replicas = 0;
  let created = 0;
  let releaseShrinks = 0;
  let arrivalGrows = 0;
  let peak = 0;
  let first = true;

  let lastT = 0;
  let idleArea = 0;
  let busyArea = 0;
  let startingArea = 0;
  let zeroTime = 0;
  const byHour = new Array<number>(24).fill(0);
  const by: IdleBreakdown = { servedStarting: 0, servedReady: 0, droppedStarting: 0, droppedReady: 0, leftWarm: 0 };
  // A GameServer's idle time, booked when its fate is known (taken, removed, or the run ends).
  const book = (gs: Gs, t: number, fate: 'served' | 'dropped' | 'left'): void => {
    const start = Math.min(t, gs.readyAt ?? t) - gs.createdAt;
    const wait = t - Math.min(t, gs.readyAt ?? t);
    if (fate === 'served') { by.servedStarting += start; by.servedReady += wait; }
    else if (fate === 'dropped') { by.droppedStarting += start; by.droppedReady += wait; }
    else by.leftWarm += start + wait;
  };
  const advance = (t: number): void => {
    const until = Math.min(t, hardStop);
    if (until > lastT) {
      const dt = until - lastT;
      const idle = starting.size + ready.length;
      if (idle > 0) {
        for (let a = lastT; a < until;) {
          const b = Math.min(until, (Math.floor(a / 3600) + 1) * 3600);
          byHour[Math.floor(a / 3600) % 24]! += (b - a) * idle;
          a = b;
        }
      }
      startingArea += dt * starting.size;
      idleArea += dt * idle;
      busyArea += dt * allocated;
      if (starting.size + ready.length + allocated === 0) zeroTime += dt;
      lastT = until;
    }
  };

  const live = (): number => starting.size + ready.length + allocated;
  const create = (t: number): void => {
    const gs: Gs = { id: gss.length, state: 'starting', createdAt: t, gone: false };
    gss.push(gs);
    created++;
    if (first) {
      gs.state = 'ready';
      gs.readyAt = t;
      ready.push(gs.id);
      return;
    }
    starting.add(gs.id);
    q.push(t + Math.max(0, o.coldStart()), READY, gs.id);
  };
  const reconcile = (t: number): void => {
    while (live() < replicas) create(t);
    if (live() > replicas) {
      // Starting first, newest first; then Ready, newest first; never Allocated.
      const byNewest = [...starting].sort((a, b) => gss[b]!.createdAt - gss[a]!.createdAt || b - a);
      for (const id of byNewest) {
        if (live() <= replicas) break;
        starting.delete(id);
        gss[id]!.gone = true;
        book(gss[id]!, t, 'dropped');
      }
      while (live() > replicas && ready.length > 0) {
        let newest = 0;
        for (let i = 1; i < ready.length; i++) if (gss[ready[i]!]!.createdAt >= gss[ready[newest]!]!.createdAt) newest = i;
        gss[ready[newest]!]!.gone = true;
        book(gss[ready[newest]!]!, t, 'dropped');
        ready.splice(newest, 1);
      }
    }
    peak = Math.max(peak, live());
  };
  const allocate = (t: number, gsId: number, session: number): void => {
    gss[gsId]!.state = 'allocated';
    gss[gsId]!.readyAt ??= t;
    book(gss[gsId]!, t, 'served');
    allocated++;
    waits[session] = t - sessions[session]!.arrival;
    o.onServed?.(session, waits[session]);
    q.push(t + sessions[session]!.duration, END, gsId);
  };

  // What the policy is shown: the Fleet's status and the demand, at a sync or a release.
  const review = (): ReviewInput => ({ status: { replicas: live(), readyReplicas: ready.length, reservedReplicas: 0, allocatedReplicas: allocated } });
  const demandAt = (t: number): Demand => ({
    now: o.startMs + t * 1000,
    queued: queue.length - queueHead,
    ...(coldSamples.length > 0 ? { coldStartMs: median(coldSamples) * 1000 } : {}),
    syncMs: sync * 1000,
  });

  for (let i = 0; i < sessions.length; i++) q.push(sessions[i]!.arrival, ARRIVAL, i);
  q.push(0, SYNC, 0);

  for (let e = q.pop(); e && e.t <= hardStop; e = q.pop()) {
    advance(e.t);
    const t = e.t;
    switch (e.kind) {
      case END: {
        gss[e.ref]!.gone = true;
        allocated--;
        if (o.policy.release) {
          const r = o.policy.release(review(), demandAt(t), replicas);
          if (r !== undefined && r < replicas) {
            replicas = Math.max(0, Math.floor(r));
            releaseShrinks++;
          }
        }
        reconcile(t);
        break;
      }
      case READY: {
        const gs = gss[e.ref]!;
        if (gs.gone || gs.state !== 'starting') break;
        starting.delete(gs.id);
        gs.readyAt = t;
        coldSamples.push(t - gs.createdAt);
        if (queueHead < queue.length) {
          allocate(t, gs.id, queue[queueHead++]!);
        } else {
          gs.state = 'ready';
          ready.push(gs.id);
        }
        break;
      }
      case ARRIVAL: {
        o.policy.onArrival?.(o.startMs + t * 1000, `s${e.ref}`);
        if (queueHead === queue.length && ready.length > 0) allocate(t, ready.shift()!, e.ref);
        else queue.push(e.ref);
        if (o.policy.arrival) {
          const r = o.policy.arrival(review(), demandAt(t), replicas);
          if (r !== undefined && r > replicas) {
            replicas = Math.floor(r);
            arrivalGrows++;
            reconcile(t);
          }
        }
        break;
      }
      case SYNC: {
        replicas = Math.max(0, Math.floor(o.policy.decide(review(), demandAt(t))));
        reconcile(t);
        first = false;
        o.onSync?.({ t, replicas, ready: ready.length, starting: starting.size, allocated, queued: queue.length - queueHead });
        const done = t >= horizon && queueHead === queue.length && allocated === 0;
        if (!done) q.push(t + sync, SYNC, 0);
        break;
      }
    }
    if (coldSamples.length > 201) coldSamples.splice(0, coldSamples.length - 201);
  }
  const end = Math.max(horizon, Math.min(lastT, hardStop));
  advance(end);
  for (const id of [...starting, ...ready]) book(gss[id]!, lastT, 'left');

  const sorted = [...waits].sort((a, b) => a - b);
  const served = waits.filter(Number.isFinite).length;
  const warm = waits.filter((w) => w <= warmLimit).length;
  const h = (x: number): number => x / 3600;
  return {
    name: o.policy.name,
    sessions: sessions.length,
    served,
    unserved: sessions.length - served,
    warm,
    warmPct: sessions.length ? (100 * warm) / sessions.length : 100,
    waitP50: pct(sorted, 50),
    waitP95: pct(sorted, 95),
    waitP99: pct(sorted, 99),
    waitMax: pct(sorted, 100),
    gpuHours: h(idleArea + busyArea),
    idleGpuHours: h(idleArea),
    busyGpuHours: h(busyArea),
    startingGpuHours: h(startingArea),
    idleBy: { servedStarting: h(by.servedStarting), servedReady: h(by.servedReady), droppedStarting: h(by.droppedStarting), droppedReady: h(by.droppedReady), leftWarm: h(by.leftWarm) },
    idleByHour: byHour.map(h),
    created,
    releaseShrinks,
    arrivalGrows,
    hoursAtZero: h(zeroTime),
    peakReplicas: peak,
    horizonHours: h(horizon),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
