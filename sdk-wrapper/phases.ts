import { performance } from 'node:perf_hooks';

/** The start-up phases, in order: the rows of the phase table. */
export const PHASES = ['boot', 'sdk', 'lib-disk', 'webui-start', 'warmup', 'ready'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseSummary {
  /** Milliseconds per phase that ran. */
  phases: Partial<Record<Phase, number>>;
  /** Wrapper process start → Ready acknowledged. */
  totalMs: number;
  /** GameServer creation → Ready: the cold start the autoscaler plans with. Absent when unknown. */
  createdToReadyMs?: number;
  readyAt: string;
}

/**
 * Times the phases of a start-up. `boot` is the Node process start up to the wrapper's
 * first line of work (runtime and module load), read from process.uptime().
 */
export class PhaseClock {
  #durations = new Map<Phase, number>();
  #t0: number;

  constructor() {
    const bootMs = process.uptime() * 1000;
    this.#t0 = performance.now() - bootMs;
    this.#durations.set('boot', Math.round(bootMs));
  }

  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.#durations.set(phase, Math.round(performance.now() - start));
    }
  }

  summary(createdAtMs?: number): PhaseSummary {
    const now = Date.now();
    return {
      phases: Object.fromEntries(PHASES.filter((p) => this.#durations.has(p)).map((p) => [p, this.#durations.get(p)!])),
      totalMs: Math.round(performance.now() - this.#t0),
      ...(createdAtMs ? { createdToReadyMs: Math.max(0, now - createdAtMs) } : {}),
      readyAt: new Date(now).toISOString(),
    };
  }
}

/** The phase table as text, for the log and the terminal. */
export function phaseTable(s: PhaseSummary): string {
  const rows: [string, string][] = PHASES.filter((p) => s.phases[p] !== undefined).map((p) => [p, fmt(s.phases[p]!)]);
  rows.push(['total', fmt(s.totalMs)]);
  if (s.createdToReadyMs !== undefined) rows.push(['created→ready', fmt(s.createdToReadyMs)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v.padStart(9)}`).join('\n');
}

function fmt(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}
