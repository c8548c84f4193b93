/**
 * Schedule rules: "Mon–Fri 08:00–18:00 at least 4", "Tue 10:00–10:15 at least 60 for the
 * class". A rule holds the fleet up from a lead time before its window opens, so what it
 * asks for is Ready when the window opens, not starting.
 */
import { Clock, parseDays, parseTimeOfDay, type Weekday } from './clock.ts';

/** A rule as written in the policy (YAML or JSON). */
export interface ScheduleRuleSpec {
  /** For logs and the reason. Default `days from–to`. */
  name?: string;
  /** Days the window starts on: `Mon-Fri`, `Sat,Sun`, `*`. */
  days: string;
  /** Local time the window opens, HH:MM. */
  from: string;
  /** Local time it closes, HH:MM; at or before `from`, the next day. */
  to: string;
  /** At least this many GameServers in all (allocated ones count): a known crowd. */
  minReplicas?: number;
  /** At least this many warm (Ready or starting, not allocated) ones: a floor under the buffer. */
  minWarm?: number;
  /** At most this many warm ones kept for arrivals that may come: an idle cap for these hours (e.g. nights). */
  maxWarm?: number;
  /** IANA zone of from/to. Default: the policy's timeZone. */
  timeZone?: string;
}

export interface ScheduleRule {
  name: string;
  days: Set<Weekday>;
  from: number;
  to: number;
  minReplicas: number;
  minWarm: number;
  /** Infinity when the rule sets none. */
  maxWarm: number;
  clock: Clock;
}

export function compileRules(specs: readonly ScheduleRuleSpec[], defaultClock: Clock): ScheduleRule[] {
  const clocks = new Map<string, Clock>([[defaultClock.timeZone, defaultClock]]);
  return specs.map((s, i) => {
    const where = `schedule[${i}]${s.name ? ` (${s.name})` : ''}`;
    try {
      const zone = s.timeZone ?? defaultClock.timeZone;
      let clock = clocks.get(zone);
      if (!clock) clocks.set(zone, (clock = new Clock(zone)));
      const minReplicas = s.minReplicas ?? 0;
      const minWarm = s.minWarm ?? 0;
      const maxWarm = s.maxWarm ?? Infinity;
      for (const v of [minReplicas, minWarm, maxWarm]) if (v !== Infinity && (!Number.isInteger(v) || v < 0)) throw new Error('minReplicas, minWarm and maxWarm are whole numbers ≥ 0');
      if (minReplicas === 0 && minWarm === 0 && maxWarm === Infinity) throw new Error('a rule needs minReplicas, minWarm or maxWarm');
      if (minWarm > maxWarm) throw new Error(`minWarm (${minWarm}) is above maxWarm (${maxWarm})`);
      return { name: s.name ?? `${s.days} ${s.from}–${s.to}`, days: parseDays(s.days), from: parseTimeOfDay(s.from), to: parseTimeOfDay(s.to), minReplicas, minWarm, maxWarm, clock };
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** Whether the rule's window covers the instant `t`. */
export function ruleActiveAt(r: ScheduleRule, t: number): boolean {
  const { weekday, minute } = r.clock.local(t);
  const yesterday = ((weekday + 6) % 7) as Weekday;
  if (r.from < r.to) return r.days.has(weekday) && minute >= r.from && minute < r.to;
  // Through midnight (or all day when from = to).
  return (r.days.has(weekday) && minute >= r.from) || (r.days.has(yesterday) && minute < r.to);
}

export interface ScheduleFloor {
  minReplicas: number;
  minWarm: number;
  /** The lowest idle cap of the open rules; Infinity when none sets one. */
  maxWarm: number;
  /** Names of the rules that set it. */
  rules: string[];
}

/**
 * The floors (and caps) of the rules whose window is open at any time in [now, now +
 * leadMs] (checked each minute of the lead and at its end): what must be started now
 * to be Ready by then. A cap (maxWarm) applies only while its window is open at `now`:
 * it must not shed instances ahead of time.
 */
export function scheduleFloor(rules: readonly ScheduleRule[], now: number, leadMs: number): ScheduleFloor {
  const out: ScheduleFloor = { minReplicas: 0, minWarm: 0, maxWarm: Infinity, rules: [] };
  for (const r of rules) {
    let on = false;
    for (let t = now; t < now + leadMs && !on; t += 60_000) on = ruleActiveAt(r, t);
    on ||= ruleActiveAt(r, now + leadMs);
    if (!on) continue;
    if (r.maxWarm !== Infinity && ruleActiveAt(r, now)) out.maxWarm = Math.min(out.maxWarm, r.maxWarm);
    if (r.minReplicas === 0 && r.minWarm === 0) {
      if (ruleActiveAt(r, now)) out.rules.push(r.name);
      continue;
    }
    out.minReplicas = Math.max(out.minReplicas, r.minReplicas);
    out.minWarm = Math.max(out.minWarm, r.minWarm);
    out.rules.push(r.name);
  }
  return out;
}
