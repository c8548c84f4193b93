/**
 * The policies the simulator compares: Agones' Buffer (the control plane's own
 * applyBuffer) and sdfleet's (decideReplicas over an ArrivalHistory, as the webhook
 * service runs it).
 */
import { applyBuffer } from '../../control-plane/controllers/autoscaler-decision.ts';
import { ArrivalHistory } from '../arrival-history.ts';
import { compilePolicy, parseKeyValues, parsePolicyConfig, POLICY_DEFAULTS, retentionMsFor, type PolicyConfig } from '../config.ts';
import { decideReplicas, type Decision } from '../policy.ts';
import { growOnArrival } from '../grow.ts';
import { shrinkOnRelease } from '../release.ts';
import { dayClassOf, emptyProfile, learn, SLOT_MINUTES, type DayProfile } from '../profile.ts';
import type { SimPolicy } from './simulate.ts';
import type { Trace } from './trace.ts';

/** Buffer sizes in the default comparison. */
export const DEFAULT_BUFFERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

export function bufferPolicy(size: number, maxReplicas = 10_000): SimPolicy {
  return {
    name: `buffer:${size}`,
    decide: (review) => applyBuffer(review.status, { bufferSize: size, minReplicas: 0, maxReplicas }).replicas,
  };
}

export interface SdfleetSimOptions {
  name?: string;
  config: PolicyConfig;
  /** A profile learned before the run (from history traces). */
  profile?: DayProfile;
  startMs: number;
  /** Every decision (the reasons), for a timeline. */
  onDecision?: (d: Decision, now: number) => void;
}

export function sdfleetPolicy(o: SdfleetSimOptions): SimPolicy {
  const compiled = compilePolicy(o.config);
  const history = new ArrivalHistory({ clock: compiled.clock, retentionMs: retentionMsFor(o.config), knownSince: o.startMs - retentionMsFor(o.config) });
  if (o.profile) history.setProfile(o.profile);
  // The webhook's decision at a sync, at an arrival and at a release alike.
  const decideNow = (review: Parameters<SimPolicy['decide']>[0], demand: Parameters<SimPolicy['decide']>[1]): Decision => {
    history.advance(demand.now);
    return decideReplicas(review, { ...demand, arrivals: history.arrivals, arrivalsSince: history.knownSince }, history.history(), compiled);
  };
  return {
    name: o.name ?? 'sdfleet',
    onArrival: (at, id) => void history.record(at, id),
    decide: (review, demand) => {
      const d = decideNow(review, demand);
      o.onDecision?.(d, demand.now);
      return d.replicas;
    },
    ...(o.config.growOnArrival ? {
      arrival: (review, demand, specReplicas) => growOnArrival({ specReplicas, decision: decideNow(review, demand) }).replicas,
    } : {}),
    ...(o.config.shrinkOnRelease ? {
      release: (review, demand, specReplicas) =>
        shrinkOnRelease({ specReplicas, liveAfter: review.status.replicas ?? 0, decision: decideNow(review, demand) }).replicas,
    } : {}),
  };
}

const DAY_MS = 86_400_000;

/**
 * The day profile a fleet would have learned from `traces` as past days, the last trace
 * given ending where the simulation begins. A trace whose weekdays are known (generated)
 * keeps its calendar: its days fall on the weekdays they were drawn for, weekends on
 * weekends. A recorded trace's days are each laid on a day of the start's kind
 * (weekdays before a weekday start). Days in between are unknown, not empty.
 */
export function learnFromTraces(traces: Trace[], config: PolicyConfig, startMs: number): DayProfile | undefined {
  if (traces.length === 0) return undefined;
  const { clock } = compilePolicy(config);
  const weekdayOf = (t: number): number => clock.local(t).weekday;
  const weekend = (t: number): boolean => [0, 6].includes(weekdayOf(t));
  // Where each day of each trace goes (ms of its start), placed from the last trace back.
  const placed: { trace: Trace; day: number; at: number }[] = [];
  let cursor = startMs;
  for (const t of [...traces].reverse()) {
    const days = Math.max(1, Math.ceil(t.sessions.reduce((m, s) => Math.max(m, s.arrival), 0) / 86_400));
    if (t.startWeekday !== undefined) {
      const lastWeekday = (t.startWeekday + days - 1) % 7;
      let last = cursor - DAY_MS;
      while (weekdayOf(last) !== lastWeekday) last -= DAY_MS;
      for (let d = days - 1; d >= 0; d--) placed.push({ trace: t, day: d, at: last - (days - 1 - d) * DAY_MS });
      cursor = last - (days - 1) * DAY_MS;
      continue;
    }
    for (let d = days - 1; d >= 0; d--) {
      do cursor -= DAY_MS;
      while (weekend(cursor) !== weekend(startMs));
      placed.push({ trace: t, day: d, at: cursor });
    }
  }
  placed.sort((a, b) => a.at - b.at);
  const arrivals: number[] = [];
  for (const { trace, day, at } of placed) {
    for (const s of trace.sessions) if (s.arrival >= day * 86_400 && s.arrival < (day + 1) * 86_400) arrivals.push(at + s.arrival * 1000 - day * DAY_MS);
  }
  arrivals.sort((a, b) => a - b);
  // Day by day, so the days no trace covers count as unknown, not as empty.
  let profile = emptyProfile(clock.timeZone, placed[0]!.at);
  for (const { at } of placed) profile = learn({ ...profile, learnedUntil: at }, clock, arrivals, at + DAY_MS, at);
  return profile;
}

/** Days a profile made from a rate counts as seen: more than any averaging memory. */
const ENDLESS_DAYS = 1000;

/**
 * The day profile a fleet would have learned from endlessly many days drawn at `rate`
 * (per hour at second s of the trace; the generator's expectedRate): each slot holds its
 * expected arrivals, with no day-to-day noise. A bench diagnostic (`--history rate:SHAPE`):
 * what a perfect history is worth. The trace's second 0 is `startMs`; a week is laid on
 * the policy's clock, so a time zone or a weekend that straddles days falls where it would.
 */
export function profileFromRate(rate: (s: number) => number, config: PolicyConfig, startMs: number): DayProfile {
  const { clock } = compilePolicy(config);
  const profile = emptyProfile(clock.timeZone, startMs);
  const minutes = { weekday: new Array<number>(profile.weekday.mean.length).fill(0), weekend: new Array<number>(profile.weekend.mean.length).fill(0) };
  const sums = { weekday: [...minutes.weekday], weekend: [...minutes.weekend] };
  for (let m = 0; m < 7 * 24 * 60; m++) {
    const s = m * 60 + 30;
    const { weekday, minute } = clock.local(startMs + s * 1000);
    const cls = dayClassOf(weekday);
    const slot = Math.floor(minute / SLOT_MINUTES);
    sums[cls][slot]! += rate(s) / 60;
    minutes[cls][slot]!++;
  }
  for (const cls of ['weekday', 'weekend'] as const) {
    minutes[cls].forEach((n, slot) => {
      if (n === 0) return;
      profile[cls].mean[slot] = (sums[cls][slot]! * SLOT_MINUTES) / n;
      profile[cls].days[slot] = ENDLESS_DAYS;
    });
  }
  return profile;
}

/**
 * `buffer:6`, `sdfleet`, `sdfleet:coldStartCost=4,maxWarm=2` → a policy. `base` is the
 * sdfleet settings the variants start from.
 */
export function policyFromSpec(spec: string, o: { base?: PolicyConfig; profile?: DayProfile; startMs: number }): SimPolicy {
  const s = spec.trim();
  const buffer = /^buffer:(\d+)$/.exec(s);
  if (buffer) return bufferPolicy(Number(buffer[1]));
  const m = /^sdfleet(?::(.*))?$/.exec(s);
  if (!m) throw new Error(`policy "${spec}": expected buffer:N or sdfleet[:key=value,…]`);
  const config = parsePolicyConfig(m[1] ? parseKeyValues(m[1]) : {}, o.base ?? POLICY_DEFAULTS);
  return sdfleetPolicy({ name: s, config, ...(o.profile ? { profile: o.profile } : {}), startMs: o.startMs });
}
