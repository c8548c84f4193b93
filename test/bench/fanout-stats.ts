/**
 * Pure helpers of `sdfleet bench fanout`: clock offsets between processes, the limits
 * 10,000 sockets run into, splitting clients over processes, and turning arrival times
 * into delivery latencies.
 */
import { summarize, type Summary } from './stats.ts';

/**
 * Milliseconds on this machine's wall clock with sub-millisecond precision
 * (`performance.timeOrigin + performance.now()`): comparable between processes once each
 * one's offset is known (see `clockOffset`).
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Ping {
  /** Here, when the ping left. */
  sentAt: number;
  /** There, when it was answered. */
  remoteAt: number;
  /** Here, when the answer came back. */
  receivedAt: number;
}

/**
 * How far another process's clock is ahead of this one's (remote − local, ms), from the
 * ping with the shortest round trip (Cristian's method): its error is at most half that
 * round trip. Both clocks are `preciseNow()`; timeOrigin is read once per process from the
 * wall clock, so two processes can differ by a fraction of a millisecond, or by more if
 * the wall clock was stepped between their starts.
 */
export function clockOffset(pings: readonly Ping[]): { offsetMs: number; rttMs: number } {
  if (pings.length === 0) throw new Error('clockOffset needs at least one ping answered');
  let best = pings[0]!;
  for (const p of pings) if (p.receivedAt - p.sentAt < best.receivedAt - best.sentAt) best = p;
  return { offsetMs: best.remoteAt - (best.sentAt + best.receivedAt) / 2, rttMs: best.receivedAt - best.sentAt };
}

/** The soft "Max open files" of /proc/<pid>/limits, or undefined where not found or unlimited. */
export function openFilesLimit(limitsText: string): number | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  const n = Number(soft);
  return soft !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** How many ports the kernel hands out for outgoing connections (ip_local_port_range), or undefined. */
export function ephemeralPorts(rangeText: string): number | undefined {
  const [lo, hi] = rangeText.trim().split(/\s+/).map(Number);
  return lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) && hi >= lo ? hi - lo + 1 : undefined;
}

/** Descriptors a process needs besides its sockets (stdio, IPC, informers, files, the event loop). */
export const FD_MARGIN = 512;

/**
 * What stops `clients` sockets from being opened on this machine, as a message saying
 * what to do, or undefined when nothing does. The server (allocator or bare) holds one
 * descriptor per client (a client process only its share, so fewer); loopback
 * connections to one server port each take an ephemeral port.
 */
export function socketLimitProblem(o: { clients: number; openFiles: number | undefined; ports: number | undefined }): string | undefined {
  const server = o.clients + FD_MARGIN;
  if (o.openFiles !== undefined && o.openFiles < server) {
    return `${o.clients} socket.io clients need about ${server} open files in the server process, and the limit is ${o.openFiles}: ` +
      `raise it in this shell with \`ulimit -n ${server}\` (up to the hard limit, \`ulimit -Hn\`), or pass --clients ${Math.max(1, o.openFiles - FD_MARGIN)} or fewer.`;
  }
  if (o.ports !== undefined && o.clients > o.ports - 1000) {
    return `${o.clients} loopback connections to one port need as many ephemeral ports, and net.ipv4.ip_local_port_range holds ${o.ports} ` +
      `(some may be in TIME_WAIT from earlier runs): widen it (sysctl -w net.ipv4.ip_local_port_range="1024 65000") or pass --clients ${Math.max(1, o.ports - 1000)} or fewer.`;
  }
  return undefined;
}

/** [from, to) ranges of `n` items over `parts` (the first ones one longer when it does not divide). */
export function splitRange(n: number, parts: number): [number, number][] {
  const p = Math.max(1, Math.min(parts, n));
  const out: [number, number][] = [];
  let from = 0;
  for (let i = 0; i < p; i++) {
    const size = Math.floor(n / p) + (i < n % p ? 1 : 0);
    out.push([from, from + size]);
    from += size;
  }
  return out;
}

/** One update as the client processes saw it: each process's arrival times in its own clock (null: not received). */
export interface UpdateArrivals {
  /** When the change was made, in the bench's clock. */
  changedAt: number;
  /** Per client process, in the order of `offsets`: one entry per client socket. */
  arrivals: (number | null)[][];
}

export interface FanoutSummary {
  /** Change → arrival over every client × update delivered, ms. */
  delivery: Summary;
  /** Per update: change → first and → last client, ms. */
  first: Summary;
  last: Summary;
  /** Deliveries expected and missing (client × update). */
  expected: number;
  missedDeliveries: number;
  /** Clients that missed at least one update. */
  clientsMissing: number;
}

/**
 * Latencies from arrival times: each process's times are moved into the bench's clock
 * by its offset (remote − local), then the change time is subtracted.
 */
export function fanoutSummary(updates: readonly UpdateArrivals[], offsets: readonly number[]): FanoutSummary {
  const all: number[] = [];
  const firsts: number[] = [];
  const lasts: number[] = [];
  const missingByClient = new Map<string, number>();
  let expected = 0;
  let missed = 0;
  for (const u of updates) {
    let first = Infinity;
    let last = -Infinity;
    u.arrivals.forEach((times, p) => {
      const offset = offsets[p];
      if (offset === undefined) throw new Error(`no clock offset for client process ${p}`);
      times.forEach((t, i) => {
        expected++;
        if (t === null) {
          missed++;
          missingByClient.set(`${p}:${i}`, (missingByClient.get(`${p}:${i}`) ?? 0) + 1);
          return;
        }
        const ms = t - offset - u.changedAt;
        all.push(ms);
        first = Math.min(first, ms);
        last = Math.max(last, ms);
      });
    });
    if (Number.isFinite(first)) {
      firsts.push(first);
      lasts.push(last);
    }
  }
  return { delivery: summarize(all), first: summarize(firsts), last: summarize(lasts), expected, missedDeliveries: missed, clientsMissing: missingByClient.size };
}

export interface BroadcastTimes {
  start: Summary;
  writes: Summary;
}

/** Per update, the first broadcast made after its change and before the next one (times in the server's clock; `offset` = server − bench). */
export function broadcastTimes(updates: readonly { changedAt: number }[], broadcasts: readonly { start: number; end: number }[], offset: number): BroadcastTimes {
  const start: number[] = [];
  const writes: number[] = [];
  updates.forEach((u, i) => {
    const next = updates[i + 1]?.changedAt ?? Infinity;
    const b = broadcasts.find((x) => x.start - offset >= u.changedAt && x.start - offset < next);
    if (!b) return;
    start.push(b.start - offset - u.changedAt);
    writes.push(b.end - b.start);
  });
  return { start: summarize(start), writes: summarize(writes) };
}
