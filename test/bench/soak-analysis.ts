/**
 * The pure part of `sdfleet bench soak`: the windows a run is judged on, and the verdicts
 * from its samples — RSS growth per process (median of the last window over the median
 * of the first), descriptors and TCP sockets when quiet at the end against when quiet at
 * the start, instance processes back to what they were, nothing of the bench left.
 */

/** One process as /proc shows it. */
export interface ProcSample {
  rssMb: number;
  /** Open file descriptors (/proc/<pid>/fd). */
  fds: number;
  /** Of those, TCP sockets (any state). */
  tcp: number;
  /** The TCP sockets by peer and state (e.g. "to the control plane ESTABLISHED"), where asked for. */
  tcpKinds?: Record<string, number>;
}

export type SoakPhase = 'warmup' | 'pause' | 'measure' | 'drain';

export interface SoakSample {
  /** Seconds of churn so far: users running (the pause for the quiet start does not count). */
  t: number;
  phase: SoakPhase;
  allocator: ProcSample;
  controlPlane: ProcSample;
  /** Live processes under the control plane: the instances' wrappers and WebUIs. */
  instanceProcesses: number;
  /** GameServers by state, as the control plane lists them. */
  gameServers: Record<string, number>;
  /** Sessions given back so far, and failed user steps so far. */
  sessions: number;
  errors: number;
}

/** The fleet at rest, no user connected: what the ends of a run are compared on. */
export interface QuietSample {
  allocator: ProcSample;
  controlPlane: ProcSample;
  instanceProcesses: number;
}

/** Seconds of churn, [from, to]. */
export type Window = [number, number];

export interface SoakWindows {
  /** Users churning, not measured. */
  warmupSec: number;
  /** RSS baseline: right after the warm-up. The quiet start is taken after it, in a pause. */
  baseline: Window;
  /** RSS at the end: the last 10 % of the run. */
  end: Window;
}

export const SOAK_TARGETS = {
  /** RSS growth, per process, at most (0.10: 10 %). */
  rssGrowth: 0.1,
  /**
   * Descriptors more at the quiet end than at the quiet start, at most, per process. At rest
   * (the settle past the servers' 65 s keep-alive) the counts come back exactly; the slack is
   * for a request of the fleet's own (a lease renewal) caught in flight.
   */
  fdSlack: 4,
  /** TCP sockets more, at most, per process. */
  tcpSlack: 2,
} as const;

/**
 * The warm-up and the two RSS windows of a run of `totalSec` seconds of churn: the warm-up
 * is 20 % of the run up to 6 minutes, past the 5 minutes the control plane keeps watch
 * history for (the store's historyMaxAgeMs: until then it fills, by design); the baseline
 * the next 10 % up to 1 minute (minutes 6–7 of a 30-minute run), the end window the last 10 %.
 */
export function soakWindows(totalSec: number): SoakWindows {
  const tenth = totalSec / 10;
  const warmupSec = Math.min(360, 2 * tenth);
  return { warmupSec, baseline: [warmupSec, warmupSec + Math.min(60, tenth)], end: [totalSec - tenth, totalSec] };
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface GrowthVerdict {
  baselineMb: number;
  endMb: number;
  /** end / baseline − 1 (0.05: 5 %); NaN when a window holds no sample. */
  growth: number;
  samples: { baseline: number; end: number };
  met: boolean;
}

/** RSS growth of one process over the measured samples inside the two windows. */
export function rssGrowth(samples: readonly SoakSample[], which: 'allocator' | 'controlPlane', w: SoakWindows, limit: number = SOAK_TARGETS.rssGrowth): GrowthVerdict {
  const within = (win: Window): number[] => samples.filter((s) => s.phase === 'measure' && s.t >= win[0] && s.t <= win[1]).map((s) => s[which].rssMb);
  const base = within(w.baseline);
  const end = within(w.end);
  const baselineMb = median(base);
  const endMb = median(end);
  const growth = endMb / baselineMb - 1;
  return { baselineMb, endMb, growth, samples: { baseline: base.length, end: end.length }, met: Number.isFinite(growth) && growth <= limit };
}

export interface CountVerdict {
  start: number;
  end: number;
  /** end − start. */
  growth: number;
  slack: number;
  met: boolean;
}

export function countGrowth(start: number, end: number, slack: number): CountVerdict {
  const growth = end - start;
  return { start, end, growth, slack, met: Number.isFinite(growth) && growth <= slack };
}

/**
 * The median of each count over a few quiet samples taken in a row (one stray connection
 * does not decide); the TCP sockets by kind of the last one.
 */
export function quietOf(samples: readonly QuietSample[]): QuietSample {
  const proc = (which: 'allocator' | 'controlPlane'): ProcSample => {
    const kinds = samples.at(-1)?.[which].tcpKinds;
    return {
      rssMb: median(samples.map((s) => s[which].rssMb)),
      fds: median(samples.map((s) => s[which].fds)),
      tcp: median(samples.map((s) => s[which].tcp)),
      ...(kinds ? { tcpKinds: kinds } : {}),
    };
  };
  return { allocator: proc('allocator'), controlPlane: proc('controlPlane'), instanceProcesses: median(samples.map((s) => s.instanceProcesses)) };
}

export interface ProcessVerdict {
  rss: GrowthVerdict;
  fds: CountVerdict;
  tcp: CountVerdict;
}

export interface SoakVerdict {
  allocator: ProcessVerdict;
  controlPlane: ProcessVerdict;
  /** Instance processes at the quiet end against the quiet start: the same number. */
  instances: CountVerdict;
  /** Processes of the bench still alive after it stopped everything (described). */
  leftovers: string[];
  met: boolean;
}

export function soakVerdict(o: {
  samples: readonly SoakSample[];
  windows: SoakWindows;
  quietStart: QuietSample;
  quietEnd: QuietSample;
  leftovers: readonly string[];
  targets?: { rssGrowth: number; fdSlack: number; tcpSlack: number };
}): SoakVerdict {
  const t = o.targets ?? SOAK_TARGETS;
  const proc = (which: 'allocator' | 'controlPlane'): ProcessVerdict => ({
    rss: rssGrowth(o.samples, which, o.windows, t.rssGrowth),
    fds: countGrowth(o.quietStart[which].fds, o.quietEnd[which].fds, t.fdSlack),
    tcp: countGrowth(o.quietStart[which].tcp, o.quietEnd[which].tcp, t.tcpSlack),
  });
  const allocator = proc('allocator');
  const controlPlane = proc('controlPlane');
  const instances = countGrowth(o.quietStart.instanceProcesses, o.quietEnd.instanceProcesses, 0);
  const ok = (p: ProcessVerdict): boolean => p.rss.met && p.fds.met && p.tcp.met;
  return {
    allocator, controlPlane, instances, leftovers: [...o.leftovers],
    met: ok(allocator) && ok(controlPlane) && instances.met && o.leftovers.length === 0,
  };
}

/** The first sample at or after each multiple of `everySec`, for the report's table, and always the last. */
export function everyNth<T extends { t: number }>(samples: readonly T[], everySec: number): T[] {
  const out: T[] = [];
  let next = -Infinity;
  for (const s of samples) {
    if (s.t >= next) {
      out.push(s);
      next = (Math.floor(s.t / everySec) + 1) * everySec;
    }
  }
  const last = samples.at(-1);
  if (last && out.at(-1) !== last) out.push(last);
  return out;
}

/** The ports a run's TCP sockets are told apart by. */
export interface SoakPorts {
  allocator: number;
  controlPlane: number;
  /** The instances' host ports, [min, max]. */
  instances: [number, number];
}

/**
 * What a TCP socket of a process is, for the report: listening; inbound to its API port
 * (`own`) or to another port it listens on (`listening`: e.g. the control plane's SDK
 * servers); to the control plane, an instance, the allocator; other. With its state when
 * not ESTABLISHED (a pile of CLOSE_WAIT is the usual sign of a leak).
 */
export function tcpKind(s: { localPort: number; remotePort: number; state: string }, own: number, listening: ReadonlySet<number>, ports: SoakPorts): string {
  if (s.state === 'LISTEN') return 'listening';
  const kind = s.localPort === own ? 'inbound'
    : listening.has(s.localPort) ? 'inbound (other ports)'
    : s.remotePort === ports.controlPlane ? 'to the control plane'
    : s.remotePort >= ports.instances[0] && s.remotePort <= ports.instances[1] ? 'to instances'
    : s.remotePort === ports.allocator ? 'to the allocator'
    : 'other';
  return s.state === 'ESTABLISHED' ? kind : `${kind} ${s.state}`;
}
