/**
 * When will the k-th waiting user get an instance? From what is already on its way
 * (instances starting), what frees up (sessions due to end, each followed by a cold start
 * of its replacement), and, beyond those, the autoscaler's next sync plus a cold start.
 * Pure, so the numbers a queued user sees can be checked.
 */
export interface EtaInput {
  now: number;
  /** Creation times of the profile's instances not Ready yet. */
  startingCreatedAt: number[];
  /** When each live session of the profile ends at the latest (idle limit or max length). */
  sessionEndsAt: number[];
  /** Creation → Ready, as measured (the median of the phase annotations). */
  coldStartMs: number;
  /** The autoscaler's sync interval: the longest before more instances are asked for. */
  scaleUpDelayMs: number;
}

/** Milliseconds until positions 1..n are served, in order (non-decreasing). */
export function etas(n: number, i: EtaInput): number[] {
  const supply = smallest(n, [
    ...i.startingCreatedAt.map((c) => Math.max(i.now + 1000, c + i.coldStartMs)),
    ...i.sessionEndsAt.map((e) => Math.max(i.now, e) + i.coldStartMs),
  ]);
  const fallback = i.now + i.scaleUpDelayMs + i.coldStartMs;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const at = Math.min(supply[k] ?? Infinity, fallback);
    out.push(Math.max(0, at - i.now));
  }
  for (let k = 1; k < out.length; k++) out[k] = Math.max(out[k]!, out[k - 1]!);
  return out;
}

/**
 * The `k` smallest of `xs`, ascending. A queue of a few against 10,000 sessions: one pass
 * keeping the best `k` in order, not a sort of all 10,000 on every queue change.
 */
export function smallest(k: number, xs: readonly number[]): number[] {
  if (k <= 0) return [];
  if (k * 8 >= xs.length) return [...xs].sort((a, b) => a - b).slice(0, k);
  const best: number[] = [];
  for (const x of xs) {
    if (best.length === k) {
      if (x >= best[k - 1]!) continue;
      best.pop();
    }
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (best[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, x);
  }
  return best;
}

/** The median of the numbers, or `fallback` when there are none. */
export function median(xs: number[], fallback: number): number {
  if (xs.length === 0) return fallback;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}
