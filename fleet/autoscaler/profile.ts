/**
 * The learned day profile: how many arrivals a fleet usually sees in each quarter hour
 * of a weekday and of a weekend day, in the policy's time zone. Learned from the arrival
 * log as quarters end (a running mean over the first days, then an exponential average,
 * so a changed habit shows within a week or two), kept in the control plane with the
 * rest of the history. The policy reads it a lead time ahead: the morning ramp is warm
 * before the first arrival of the day instead of after a dozen.
 */
import { z } from 'zod';
import type { Clock } from './clock.ts';
import { countBetween } from './rate.ts';

export const SLOT_MINUTES = 15;
const SLOT_MS = SLOT_MINUTES * 60_000;
const SLOTS = (24 * 60) / SLOT_MINUTES;

export type DayClass = 'weekday' | 'weekend';

export interface ClassProfile {
  /** Expected arrivals in each slot of the day (SLOTS of them). */
  mean: number[];
  /** How many days each slot has been observed. */
  days: number[];
}

export interface DayProfile {
  version: 1;
  timeZone: string;
  slotMinutes: number;
  weekday: ClassProfile;
  weekend: ClassProfile;
  /** Slots that end at or before this instant (ms) have been learned. */
  learnedUntil: number;
}

/** Weight of the newest day once the running mean has had this many: 1/8 ≈ a week and a half's memory. */
const MIN_WEIGHT = 1 / 8;

export function emptyProfile(timeZone: string, learnedUntil: number): DayProfile {
  const cls = (): ClassProfile => ({ mean: new Array<number>(SLOTS).fill(0), days: new Array<number>(SLOTS).fill(0) });
  return { version: 1, timeZone, slotMinutes: SLOT_MINUTES, weekday: cls(), weekend: cls(), learnedUntil };
}

export function dayClassOf(weekday: number): DayClass {
  return weekday === 0 || weekday === 6 ? 'weekend' : 'weekday';
}

/** The slot starting at or after `t` (slots start at local quarter hours). */
function nextSlotStart(clock: Clock, t: number): number {
  const { minute } = clock.local(t);
  const into = (minute % SLOT_MINUTES) * 60_000;
  return into === 0 ? t : t - into + SLOT_MS;
}

/**
 * Folds every whole slot between `profile.learnedUntil` and `now` into the profile,
 * counting `arrivals` (ascending ms). Slots before `knownSince` (arrivals not known
 * there: the service was down) are skipped, not counted as empty. Returns a new profile.
 */
export function learn(profile: DayProfile, clock: Clock, arrivals: readonly number[], now: number, knownSince: number): DayProfile {
  const p: DayProfile = structuredClone(profile);
  let t = nextSlotStart(clock, Math.max(p.learnedUntil, knownSince));
  // Years of downtime are not worth stepping through: nothing was known then anyway.
  if (now - t > 30 * 86_400_000) t = nextSlotStart(clock, now - 30 * 86_400_000);
  for (; t + SLOT_MS <= now; t += SLOT_MS) {
    const { weekday, minute } = clock.local(t);
    const slot = Math.min(SLOTS - 1, Math.floor(minute / SLOT_MINUTES));
    const cls = p[dayClassOf(weekday)];
    const n = countBetween(arrivals, t, t + SLOT_MS);
    const days = cls.days[slot]!;
    const w = Math.max(MIN_WEIGHT, 1 / (days + 1));
    cls.mean[slot] = cls.mean[slot]! * (1 - w) + n * w;
    cls.days[slot] = days + 1;
    p.learnedUntil = t + SLOT_MS;
  }
  if (p.learnedUntil < t) p.learnedUntil = t;
  return p;
}

/** Arrivals' worth of evidence a smoothed slot should rest on: quiet hours are averaged wider. */
const EVIDENCE = 10;
/** Widest smoothing: three hours either side. */
const MAX_HALF_WIDTH = 12;

/**
 * A slot's mean, smoothed over its neighbours (triangular weights), the window widened
 * until it holds EVIDENCE arrivals (counting each day observed, up to the averaging
 * memory): busy hours keep their shape (the morning ramp stays sharp), quiet ones are
 * read over hours, so a lone arrival at 04:10 last Tuesday does not make 04:10 a busy time.
 */
function smoothedSlot(cls: ClassProfile, k: number): number | undefined {
  const at = (i: number): number => (((i % SLOTS) + SLOTS) % SLOTS);
  if (cls.days[at(k)] === 0) return undefined;
  const memory = 1 / MIN_WEIGHT;
  for (let w = 0; w <= MAX_HALF_WIDTH; w++) {
    let sum = 0;
    let weight = 0;
    let evidence = 0;
    for (let j = k - w; j <= k + w; j++) {
      const d = cls.days[at(j)]!;
      if (d === 0) continue;
      const wt = w + 1 - Math.abs(j - k);
      sum += wt * cls.mean[at(j)]!;
      weight += wt;
      evidence += cls.mean[at(j)]! * Math.min(d, memory);
    }
    if (evidence >= EVIDENCE || w === MAX_HALF_WIDTH) return weight > 0 ? sum / weight : undefined;
  }
  return undefined;
}

/**
 * Expected arrivals per hour around `t`: smoothed slot means (smoothedSlot) interpolated
 * between slot centres. Undefined when the day class has not been observed at that hour.
 */
export function profileRate(profile: DayProfile, clock: Clock, t: number): number | undefined {
  const { weekday, minute } = clock.local(t);
  const cls = profile[dayClassOf(weekday)];
  const pos = minute / SLOT_MINUTES - 0.5; // in slot units from the first slot's centre
  const i0 = Math.floor(pos);
  const f = pos - i0;
  const a = smoothedSlot(cls, i0);
  const b = smoothedSlot(cls, i0 + 1);
  if (a === undefined && b === undefined) return undefined;
  const perSlot = (a ?? b!) * (1 - f) + (b ?? a!) * f;
  return perSlot * (60 / SLOT_MINUTES);
}

/** The smoothed rate (per hour) of each slot of a day of this class; observed slots only. */
export function dayRates(profile: DayProfile, dayClass: DayClass): number[] {
  const cls = profile[dayClass];
  const out: number[] = [];
  for (let k = 0; k < SLOTS; k++) {
    const v = smoothedSlot(cls, k);
    if (v !== undefined) out.push(v * (60 / SLOT_MINUTES));
  }
  return out;
}

/** Expected arrivals in [from, to) per the profile (slot by slot), for today's-versus-usual. */
export function profileExpected(profile: DayProfile, clock: Clock, from: number, to: number): number | undefined {
  let sum = 0;
  let known = false;
  for (let t = from; t < to; t += SLOT_MS) {
    const r = profileRate(profile, clock, Math.min(t + SLOT_MS / 2, to));
    if (r === undefined) continue;
    known = true;
    sum += (r * (Math.min(to, t + SLOT_MS) - t)) / 3_600_000;
  }
  return known ? sum : undefined;
}

const classSchema = z.object({ mean: z.array(z.number().min(0)).length(SLOTS), days: z.array(z.number().int().min(0)).length(SLOTS) });
const profileSchema = z.object({
  version: z.literal(1),
  timeZone: z.string().min(1),
  slotMinutes: z.literal(SLOT_MINUTES),
  weekday: classSchema,
  weekend: classSchema,
  learnedUntil: z.number(),
});

/** A stored profile, checked; throws saying which field is wrong. */
export function parseProfile(value: unknown): DayProfile {
  const r = profileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`stored day profile: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return r.data as DayProfile;
}

/** Compact for storage: means to 3 decimals. */
export function profileForStorage(p: DayProfile): DayProfile {
  const round = (c: ClassProfile): ClassProfile => ({ mean: c.mean.map((x) => Math.round(x * 1000) / 1000), days: c.days });
  return { ...p, weekday: round(p.weekday), weekend: round(p.weekend) };
}
