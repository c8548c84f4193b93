/**
 * The demand-aware FleetAutoscaler policy: how many GameServers the Fleet should have,
 * decided from the FleetAutoscaleReview, the demand, the learned history and the
 * settings, without I/O. The webhook and the simulator run this same function.
 *
 *   replicas = allocated + reserved + queued (that fit under max) + warm
 *
 * warm = the instances worth keeping for the arrivals expected within a lead time (the
 * cold start, plus half a sync unless the allocator grows the Fleet on arrival), from the recent arrival rate and the day profile (buffer-math.ts), held
 * for the scale-down delay, capped by the idle cap, floored by minWarm and the schedule;
 * then min/max and the schedule's minReplicas. Never below allocated + the queued users
 * that can be served. When the queue or the arrivals are unknown it does what Agones'
 * Buffer policy would (fallbackBuffer above allocated) and says why.
 */
import { applyBuffer } from '../control-plane/controllers/autoscaler-decision.ts';
import { costForTarget, poissonTail, warmBufferFor, warmBufferForRisk } from './buffer-math.ts';
import type { CompiledPolicy } from './config.ts';
import { dayClassOf, dayRates, profileExpected, profileRate, type DayProfile } from './profile.ts';
import { countBetween, estimateRate, type RateEstimate } from './rate.ts';
import { scheduleFloor } from './schedule.ts';

/** The FleetAutoscaleReview's view of the Fleet (request.status). */
export interface ReviewStatus {
  replicas?: number;
  readyReplicas?: number;
  reservedReplicas?: number;
  allocatedReplicas?: number;
}

export interface ReviewInput {
  status: ReviewStatus;
}

/** What users want, as read from the allocators' queue and the GameServers. */
export interface Demand {
  /** Now, ms since the epoch. */
  now: number;
  /** Users waiting for this fleet across every allocator replica; undefined when unknown. */
  queued?: number;
  /** When users asked for an instance of this fleet (ms, ascending); undefined when unknown. */
  arrivals?: readonly number[];
  /** Arrivals are known from here on (the log's start): longer windows are shortened. */
  arrivalsSince?: number;
  /** Median creation → Ready of the fleet's GameServers, ms; undefined when none was measured. */
  coldStartMs?: number;
  /** Time between the FleetAutoscaler's reviews, ms; undefined when not measured. */
  syncMs?: number;
  /** Why a signal is missing, said in the reason. */
  problems?: string[];
}

export interface History {
  /** The learned day profile, when there is one. */
  profile?: DayProfile;
}

export type DecisionCode = 'demand' | 'queue' | 'hold' | 'min-warm' | 'schedule' | 'min' | 'max' | 'zero' | 'idle' | 'fallback';

export interface Signals {
  replicas: number;
  ready: number;
  allocated: number;
  reserved: number;
  queued: number | undefined;
  /** Queued users that fit under maxReplicas. */
  servableQueued: number;
  /** Expected arrivals per hour used: the larger of recent and profile. */
  ratePerHour: number;
  recentPerHour: number;
  /** Profile's rate a lead ahead, after today's correction; undefined without a profile. */
  profilePerHour: number | undefined;
  /** Today's arrivals over what the profile expected (the last 2 h), ≤ 1. */
  profileFactor: number;
  coldStartSeconds: number;
  coldStartMeasured: boolean;
  leadSeconds: number;
  /** Warm instances the demand asks for now, and after the hold, caps and floors. */
  warmNow: number;
  warm: number;
  rules: string[];
  windows: { minutes: number; count: number; perHour: number }[];
  /**
   * How rates became warm instances: a cost per cold start (set, or derived from the warm
   * target over the day profile or, before there is one, over the busiest recent hour), or
   * a risk per arrival (nothing logged yet).
   */
  sizing: { kind: 'cost'; coldStartCost: number; derived: 'profile' | 'recent' | false; busiestPerHour?: number } | { kind: 'risk'; risk: number };
}

export interface Decision {
  replicas: number;
  /** replicas differs from the Fleet's current count: the webhook's `scale`. */
  scale: boolean;
  /** min or max held the result back. */
  limited: boolean;
  /** What set the number. */
  code: DecisionCode;
  /** One line for logs, metrics and the admin page. */
  reason: string;
  signals: Signals | undefined;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
const fmt = (x: number): string => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2));

interface WarmAt {
  warm: number;
  ratePerHour: number;
  rate: RateEstimate;
  profilePerHour: number | undefined;
  profileFactor: number;
}

/** Today's-versus-usual factor: (seen + k) / (expected + k), so a few arrivals barely move it. */
const FACTOR_PSEUDO = 4;
const FACTOR_MIN = 0.05;
const FACTOR_MAX = 3;
/**
 * A recent window beats the profile when this unlikely under it (Poisson tail). The test
 * runs at every sync on each short window (some 8,000 times a day), so at 1 % it fired
 * by chance dozens of times a day and bought idle GPUs for noise; a real crowd (a class,
 * a meeting) is far below 0.1 % within a minute or two.
 */
const SURGE_P = 0.001;

/**
 * The warm instances the demand alone asks for at time `t` (arrivals before `t` only).
 *
 * With a day profile the expected rate is the profile's, a lead ahead (the larger of now
 * and then: a ramp is started before it comes, a fall is not followed before it does),
 * scaled by how today compares with usual over the last two hours; the recent windows
 * take over when they show a surge the profile cannot explain. Without one it is the
 * chained recent rate (rate.ts).
 */
function warmAt(t: number, arrivals: readonly number[], since: number | undefined, leadMs: number, profile: DayProfile | undefined, p: CompiledPolicy, sizing: Sizing): WarmAt {
  const c = p.config;
  const rate = estimateRate(arrivals, t, { windowsMinutes: c.rateWindowsMinutes, priorStrength: c.rateEvidence, ...(since !== undefined ? { knownSince: since } : {}) });
  let profilePerHour: number | undefined;
  let profileFactor = 1;
  let ratePerHour = rate.perHour;
  if (profile) {
    const samples = [t, t + leadMs / 2, t + leadMs].map((x) => profileRate(profile, p.clock, x)).filter((x): x is number => x !== undefined);
    if (samples.length > 0) {
      const from = Math.max(t - 2 * 3_600_000, since ?? -Infinity);
      const expected = from < t ? profileExpected(profile, p.clock, from, t) : undefined;
      if (expected !== undefined) {
        profileFactor = Math.min(FACTOR_MAX, Math.max(FACTOR_MIN, (countBetween(arrivals, from, t + 1) + FACTOR_PSEUDO) / (expected + FACTOR_PSEUDO)));
      }
      profilePerHour = Math.max(...samples) * profileFactor;
      ratePerHour = profilePerHour;
      // A surge: a short window holds more arrivals than the profile makes plausible.
      for (const w of rate.windows) {
        if (w.minutes > 60) continue;
        const mean = (profilePerHour * Math.min(w.minutes * 60_000, t - (since ?? -Infinity))) / 3_600_000;
        if (w.count > 0 && poissonTail(w.count, mean) < SURGE_P) ratePerHour = Math.max(ratePerHour, rate.perHour);
      }
    }
  }
  const leadHours = leadMs / 3_600_000;
  const warm = sizing.kind === 'risk' ? warmBufferForRisk(ratePerHour, leadHours, sizing.risk) : warmBufferFor(ratePerHour, leadHours, sizing.cost);
  return { warm, ratePerHour, rate, profilePerHour, profileFactor };
}

/** How rates become warm instances: at a cost per cold start, or at a risk per arrival. */
type Sizing = { kind: 'cost'; cost: number; derived: 'profile' | 'recent' | false; busiestPerHour?: number } | { kind: 'risk'; risk: number };

/** Most arrivals within any hour of the log up to `t` (a sliding window). */
export function busiestHour(arrivals: readonly number[], t: number): number {
  let best = 0;
  let from = 0;
  for (let i = 0; i < arrivals.length && arrivals[i]! <= t; i++) {
    while (arrivals[from]! <= arrivals[i]! - 3_600_000) from++;
    best = Math.max(best, i - from + 1);
  }
  return best;
}

/**
 * A set coldStartCost; else the cost at which a usual day of today's kind (the profile)
 * reaches warmTarget. Before a profile is learned: the cost at which the busiest hour of
 * the recent log keeps each arrival's risk of a cold start within 1 − warmTarget, so
 * quieter moments (a lone arrival at night) get the buffer that cost buys, not a second
 * instance for a 1 % chance; with no arrivals logged, the risk itself.
 */
function sizingOf(c: CompiledPolicy['config'], profile: DayProfile | undefined, clock: CompiledPolicy['clock'], now: number, leadMs: number, arrivals: readonly number[]): Sizing {
  if (c.coldStartCost !== undefined) return { kind: 'cost', cost: c.coldStartCost, derived: false };
  const leadHours = leadMs / 3_600_000;
  if (profile) {
    const rates = dayRates(profile, dayClassOf(clock.local(now).weekday));
    const cost = rates.length >= 48 ? costForTarget(rates, leadHours, c.warmTarget) : undefined;
    if (cost !== undefined) return { kind: 'cost', cost, derived: 'profile' };
  }
  const busiest = busiestHour(arrivals, now);
  const cost = busiest > 0 ? costForTarget([busiest], leadHours, c.warmTarget) : undefined;
  if (cost !== undefined) return { kind: 'cost', cost, derived: 'recent', busiestPerHour: busiest };
  return { kind: 'risk', risk: 1 - c.warmTarget };
}

export function decideReplicas(review: ReviewInput, demand: Demand, history: History, policy: CompiledPolicy): Decision {
  const c = policy.config;
  const st = review.status ?? {};
  const allocated = count(st.allocatedReplicas);
  const reserved = count(st.reservedReplicas) ?? 0;
  const current = count(st.replicas);
  const problems = [...(demand.problems ?? [])];

  if (allocated === undefined || current === undefined) {
    // Without the Fleet's own counts nothing can be sized: leave it as it is, within min/max.
    const keep = Math.min(c.maxReplicas, Math.max(c.minReplicas, current ?? c.minReplicas));
    return {
      replicas: keep, scale: keep !== current, limited: false, code: 'fallback', signals: undefined,
      reason: `fallback: the review has no usable replicas/allocatedReplicas (${JSON.stringify(st)}): keeping ${keep}`,
    };
  }

  const queued = count(demand.queued);
  const arrivals = Array.isArray(demand.arrivals) && demand.arrivals.every((x) => Number.isFinite(x)) ? demand.arrivals : undefined;
  if (demand.queued !== undefined && queued === undefined) problems.push(`queue length ${JSON.stringify(demand.queued)} is not a count`);
  if (queued === undefined || arrivals === undefined || !Number.isFinite(demand.now)) {
    if (queued === undefined && problems.length === 0) problems.push('the queue length is unknown');
    if (arrivals === undefined && problems.length === 0) problems.push('the arrivals are unknown');
    if (!Number.isFinite(demand.now)) problems.push('the time is unknown');
    const b = applyBuffer({ allocatedReplicas: allocated }, { bufferSize: c.fallbackBuffer, minReplicas: c.minReplicas, maxReplicas: c.maxReplicas });
    // Whoever is known to wait still gets an instance.
    const floor = allocated + reserved + Math.min(queued ?? 0, Math.max(0, c.maxReplicas - allocated - reserved));
    const replicas = Math.max(b.replicas, floor);
    return {
      replicas, scale: replicas !== current, limited: b.limited, code: 'fallback', signals: undefined,
      reason: `fallback to Buffer ${c.fallbackBuffer} (${allocated} allocated${queued ? ` + ${queued} queued` : ''} → ${replicas}): ${problems.join('; ')}`,
    };
  }

  const notes: string[] = [];
  const measured = typeof demand.coldStartMs === 'number' && Number.isFinite(demand.coldStartMs) && demand.coldStartMs > 0;
  const coldMs = measured ? demand.coldStartMs! : c.coldStartSeconds * 1000;
  if (!measured) notes.push(`cold start assumed ${c.coldStartSeconds} s (none measured yet)`);
  const syncMs = typeof demand.syncMs === 'number' && demand.syncMs >= 1000 && demand.syncMs <= 3_600_000 ? demand.syncMs : c.syncSeconds * 1000;
  // A taken instance is replaced at once when the allocator grows the Fleet on arrival;
  // else at the next sync, on average half an interval later.
  const leadMs = coldMs + (c.growOnArrival ? 0 : syncMs / 2);
  const profile = c.useProfile && history.profile && history.profile.timeZone === policy.clock.timeZone ? history.profile : undefined;
  if (c.useProfile && !history.profile) notes.push('no day profile learned yet');
  if (c.useProfile && history.profile && history.profile.timeZone !== policy.clock.timeZone) notes.push(`day profile ignored: learned in ${history.profile.timeZone}, the policy is in ${policy.clock.timeZone}`);

  const sizing = sizingOf(c, profile, policy.clock, demand.now, leadMs, arrivals);
  const now = warmAt(demand.now, arrivals, demand.arrivalsSince, leadMs, profile, policy, sizing);
  // Hold: the largest buffer the demand asked for within the scale-down delay.
  let held = now.warm;
  for (let k = 1; k * syncMs <= c.scaleDownDelaySeconds * 1000; k++) {
    const t = demand.now - k * syncMs;
    if (demand.arrivalsSince !== undefined && t < demand.arrivalsSince) break;
    held = Math.max(held, warmAt(t, arrivals, demand.arrivalsSince, leadMs, profile, policy, sizing).warm);
  }
  const sched = scheduleFloor(policy.rules, demand.now, leadMs);
  const cap = Math.min(c.maxWarm, sched.maxWarm);
  const floorWarm = Math.max(c.minWarm, sched.minWarm, c.scaleToZero ? 0 : 1);
  let warm = Math.min(held, cap);
  warm = Math.max(warm, floorWarm);

  const used = allocated + reserved;
  const servable = Math.min(queued, Math.max(0, c.maxReplicas - used));
  let replicas = used + servable + warm;
  let code: DecisionCode;
  if (warm > held) code = sched.minWarm >= floorWarm && sched.minWarm > 0 ? 'schedule' : 'min-warm';
  else if (warm > 0 && warm > now.warm && warm <= held) code = 'hold';
  else if (warm > 0) code = 'demand';
  else if (servable > 0) code = 'queue';
  else code = used > 0 ? 'idle' : 'zero';
  const minReplicas = Math.max(c.minReplicas, sched.minReplicas);
  let limited = false;
  if (replicas < minReplicas) {
    replicas = minReplicas;
    code = sched.minReplicas > c.minReplicas ? 'schedule' : 'min';
    limited = code === 'min';
  }
  if (replicas > c.maxReplicas) {
    replicas = Math.max(c.maxReplicas, used + servable);
    code = 'max';
    limited = true;
  }

  const signals: Signals = {
    replicas: current, ready: count(st.readyReplicas) ?? 0, allocated, reserved, queued, servableQueued: servable,
    ratePerHour: now.ratePerHour, recentPerHour: now.rate.perHour, profilePerHour: now.profilePerHour, profileFactor: now.profileFactor,
    coldStartSeconds: coldMs / 1000, coldStartMeasured: measured, leadSeconds: leadMs / 1000, warmNow: now.warm, warm,
    rules: sched.rules, windows: now.rate.windows.map((w) => ({ minutes: w.minutes, count: w.count, perHour: w.estimate })),
    sizing: sizing.kind === 'cost' ? { kind: 'cost', coldStartCost: sizing.cost, derived: sizing.derived, ...(sizing.busiestPerHour !== undefined ? { busiestPerHour: sizing.busiestPerHour } : {}) } : { kind: 'risk', risk: sizing.risk },
  };
  if (code === 'demand' || code === 'hold') {
    notes.unshift(sizing.kind === 'risk' ? `sized for at most ${fmt(sizing.risk * 100)}% cold per arrival (no day profile yet)`
      : sizing.derived === 'profile' ? `sized at ${fmt(sizing.cost)} GPU-h per cold start avoided, for ${fmt(c.warmTarget * 100)}% warm on a usual day`
      : sizing.derived === 'recent' ? `sized at ${fmt(sizing.cost)} GPU-h per cold start avoided, for ${fmt(c.warmTarget * 100)}% warm in the busiest recent hour (${sizing.busiestPerHour} arrivals; no day profile yet)`
      : `sized at ${fmt(sizing.cost)} GPU-h per cold start avoided`);
  }
  return { replicas, scale: replicas !== current, limited, code, reason: reasonOf(code, signals, replicas, c.maxReplicas, minReplicas, cap, notes), signals };
}

function reasonOf(code: DecisionCode, s: Signals, replicas: number, max: number, min: number, cap: number, notes: string[]): string {
  const parts = [`${s.allocated} allocated`];
  if (s.reserved) parts.push(`${s.reserved} reserved`);
  if (s.queued) parts.push(s.servableQueued < s.queued ? `${s.servableQueued} of ${s.queued} queued` : `${s.queued} queued`);
  // The profile's rate is used unless a surge put the recent one above it.
  const source = s.profilePerHour !== undefined && s.ratePerHour <= s.profilePerHour ? 'day profile' : 'recent arrivals';
  const expect = `${fmt(s.ratePerHour)} arrivals/h expected (${source}) over a ${Math.round(s.leadSeconds)} s lead`;
  const why: Record<DecisionCode, string> = {
    demand: `${s.warm} warm for ${expect}`,
    hold: `${s.warm} warm held for the scale-down delay (the demand now asks for ${s.warmNow}: ${expect})`,
    'min-warm': `${s.warm} warm (the minWarm floor; the demand asks for ${s.warmNow})`,
    schedule: `${s.warm} warm by schedule (${s.rules.join(', ')})`,
    min: `${s.warm} warm, raised to minReplicas ${min}`,
    max: `${s.warm} warm, held to maxReplicas ${max}`,
    queue: `no warm ones (${expect})`,
    idle: `no warm ones (${expect})`,
    zero: `nobody expected (${expect}): scaled to zero`,
    fallback: '',
  };
  let head = `${parts.join(' + ')} + ${why[code]}`;
  if (code === 'schedule' && s.warm === 0) head = `${parts.join(' + ')}, raised to ${replicas} by schedule (${s.rules.join(', ')})`;
  if (code === 'zero') head = why.zero;
  if (cap < s.warmNow && code !== 'zero') notes.push(`idle cap ${cap}`);
  return `${head} → ${replicas}${notes.length ? `; ${notes.join('; ')}` : ''}`;
}
