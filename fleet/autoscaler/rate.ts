/**
 * The recent arrival rate, from arrival times alone, over several windows.
 *
 * A short window alone is noise (one arrival in five minutes reads as 12 an hour), a long
 * one alone lags (it still reads the afternoon's rate at night). So the windows are
 * chained from the longest to the shortest, each a Gamma–Poisson update of the one
 * before: a window's estimate is (arrivals + α) / (its length + α / longer estimate),
 * the longer window's rate counting as α arrivals' worth of evidence. A surge moves the
 * short windows within minutes; a lone arrival hardly does; a lull brings the estimate
 * down as fast as the evidence allows.
 */

export interface RateOptions {
  /** Windows in minutes, any order; they are chained longest to shortest. */
  windowsMinutes: readonly number[];
  /** α: how many arrivals' worth of evidence a longer window's rate counts for in a shorter one. */
  priorStrength: number;
  /** Arrivals are known from this time on (ms); windows reaching further back are shortened. */
  knownSince?: number;
}

export interface WindowRate {
  minutes: number;
  /** Arrivals within the window (only the known part of it). */
  count: number;
  /** count / length, per hour. */
  raw: number;
  /** After the chain: per hour. */
  estimate: number;
}

export interface RateEstimate {
  /** Arrivals per hour now: the shortest window's chained estimate. */
  perHour: number;
  /** Longest first. Windows with no known part are left out. */
  windows: WindowRate[];
}

/** A rate floor for the chain (per hour): a prior of zero would refuse all evidence. */
const FLOOR_PER_HOUR = 0.05;

/** Index of the first element ≥ t in an ascending array. */
export function lowerBound(xs: readonly number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Arrivals in [from, to) of an ascending array. */
export function countBetween(xs: readonly number[], from: number, to: number): number {
  return Math.max(0, lowerBound(xs, to) - lowerBound(xs, from));
}

/** `arrivals` ascending, in ms; only those before `now` count. */
export function estimateRate(arrivals: readonly number[], now: number, o: RateOptions): RateEstimate {
  const windows = [...o.windowsMinutes].filter((w) => w > 0).sort((a, b) => b - a);
  const out: WindowRate[] = [];
  let prior: number | undefined;
  const end = now + 1; // an arrival at `now` has happened
  // Just after arrivals became known (a restart), two in the first seconds are not
  // thousands an hour: a window's known part counts as at least the shortest window.
  const shortestHours = (windows.at(-1) ?? 0) / 60;
  for (const minutes of windows) {
    const from = Math.max(now - minutes * 60_000, o.knownSince ?? -Infinity);
    const known = (now - from) / 3_600_000;
    if (!(known > 0)) continue;
    const hours = Math.max(known, Math.min(shortestHours, minutes / 60));
    const count = countBetween(arrivals, from, end);
    const raw = count / hours;
    // Nobody in the longer window and nobody here: nothing, not the floor.
    const estimate = prior === undefined ? raw
      : prior === 0 && count === 0 ? 0
      : (count + o.priorStrength) / (hours + o.priorStrength / Math.max(prior, FLOOR_PER_HOUR));
    out.push({ minutes, count, raw, estimate });
    prior = estimate;
  }
  return { perHour: prior ?? 0, windows: out };
}
