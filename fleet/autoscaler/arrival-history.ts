/**
 * One fleet's memory of its demand: when users asked for an instance (the recent hours,
 * deduplicated by session id) and the day profile learned from them. The webhook service
 * feeds it from the queue and the GameServers and stores it in a ConfigMap; the
 * simulator feeds it the trace. Both hand `history()` to the same decideReplicas.
 */
import { z } from 'zod';
import type { Clock } from './clock.ts';
import { lowerBound } from './rate.ts';
import { emptyProfile, learn, parseProfile, profileForStorage, SLOT_MINUTES, type DayProfile } from './profile.ts';
import type { History } from './policy.ts';

export interface ArrivalHistoryOptions {
  clock: Clock;
  /** Arrivals older than this are dropped (ms): the longest rate window and the hold must fit. */
  retentionMs: number;
  /** A quarter is learned this long after it ends, so late-seen arrivals still count. Default 2 min. */
  learnGraceMs?: number;
  /** When arrivals started being known (ms). */
  knownSince: number;
}

/** What is kept in the control plane. */
export interface StoredHistory {
  version: 1;
  /** Arrivals (ms) of the retention window. */
  arrivals: number[];
  knownSince: number;
  savedAt: number;
  profile: DayProfile;
}

export class ArrivalHistory {
  readonly #o: ArrivalHistoryOptions;
  #arrivals: number[] = [];
  /** Session id → arrival time, for deduplication (pruned with the arrivals). */
  #ids = new Map<string, number>();
  #knownSince: number;
  #profile: DayProfile;

  constructor(o: ArrivalHistoryOptions, stored?: StoredHistory) {
    this.#o = o;
    this.#knownSince = o.knownSince;
    this.#profile = emptyProfile(o.clock.timeZone, o.knownSince);
    if (stored) this.#restore(stored);
  }

  /**
   * Records that a user asked for an instance at `at` (ms). With an id, a second sighting
   * of the same session keeps the earlier time. Returns whether it was new.
   */
  record(at: number, id?: string): boolean {
    if (!Number.isFinite(at)) return false;
    if (id !== undefined) {
      const seen = this.#ids.get(id);
      if (seen !== undefined) {
        if (at >= seen) return false;
        // Seen first when allocated, now its queue entry shows it waited: keep the earlier time.
        this.#arrivals.splice(lowerBound(this.#arrivals, seen), 1);
      }
      this.#ids.set(id, at);
    }
    this.#arrivals.splice(lowerBound(this.#arrivals, at + 1e-9), 0, at);
    return true;
  }

  /** Learns the quarters that ended (past the grace) and forgets arrivals past the retention. */
  advance(now: number): void {
    const grace = this.#o.learnGraceMs ?? 120_000;
    this.#profile = learn(this.#profile, this.#o.clock, this.#arrivals, now - grace, this.#knownSince);
    const cut = now - this.#o.retentionMs;
    const drop = lowerBound(this.#arrivals, cut);
    if (drop > 0) this.#arrivals.splice(0, drop);
    if (this.#ids.size > 0) for (const [id, at] of this.#ids) if (at < cut) this.#ids.delete(id);
  }

  get arrivals(): readonly number[] {
    return this.#arrivals;
  }

  get knownSince(): number {
    return this.#knownSince;
  }

  get profile(): DayProfile {
    return this.#profile;
  }

  /** Replaces the profile (the simulator's learned history). */
  setProfile(p: DayProfile): void {
    this.#profile = p;
  }

  history(): History {
    return { profile: this.#profile };
  }

  snapshot(now: number): StoredHistory {
    return { version: 1, arrivals: [...this.#arrivals], knownSince: this.#knownSince, savedAt: now, profile: profileForStorage(this.#profile) };
  }

  #restore(s: StoredHistory): void {
    if (s.profile.timeZone === this.#o.clock.timeZone) this.#profile = s.profile;
    const cut = this.#o.knownSince - this.#o.retentionMs;
    for (const at of s.arrivals) if (at >= cut) this.record(at);
    // Between the save and now nothing was seen: arrivals are known from the stored start
    // only if the gap is short enough to call it continuous; otherwise from the restart.
    const gap = this.#o.knownSince - s.savedAt;
    if (gap >= 0 && gap <= SLOT_MINUTES * 60_000) this.#knownSince = Math.max(s.knownSince, cut);
  }
}

const storedSchema = z.object({
  version: z.literal(1),
  arrivals: z.array(z.number()).max(100_000),
  knownSince: z.number(),
  savedAt: z.number(),
  profile: z.unknown(),
});

/** A stored history, checked; throws saying what is wrong. */
export function parseStoredHistory(value: unknown): StoredHistory {
  const r = storedSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`stored autoscaler history: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return { ...r.data, arrivals: [...r.data.arrivals].sort((a, b) => a - b), profile: parseProfile(r.data.profile) };
}
