/**
 * The demand-aware policy's settings: each field's meaning and default where it is
 * declared, a checked parse from YAML/JSON (the `sdfleet-autoscaler` ConfigMap, a file,
 * the simulator's `--policy sdfleet:key=value,…`), and the compiled form the policy runs.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Clock } from './clock.ts';
import { compileRules, type ScheduleRule, type ScheduleRuleSpec } from './schedule.ts';

export interface PolicyConfig {
  /** Fewest GameServers in the Fleet. Default 0. */
  minReplicas: number;
  /** Most GameServers in the Fleet (queued users beyond it wait). Default 100. */
  maxReplicas: number;
  /** Scale to zero allowed; false keeps one warm instance whatever the demand. Default true. */
  scaleToZero: boolean;
  /** Warm (Ready or starting, not allocated) instances always kept. Default 0. */
  minWarm: number;
  /**
   * The idle cap: most warm instances kept for arrivals that may come (users already
   * queued are not capped). Default 20.
   */
  maxWarm: number;
  /**
   * Share of arrivals that should find a warm instance: the dial between warm arrivals
   * and idle GPUs. With a day profile it sets the cost below so a usual day reaches it
   * at the least idle time; before one is learned each moment's buffer keeps the chance
   * of a cold start under 1 − warmTarget. Default 0.99.
   */
  warmTarget: number;
  /**
   * Idle GPU-hours one avoided cold start is worth (buffer-math.ts). Unset (the default):
   * derived from warmTarget and the day profile. Set, it is used as it is.
   */
  coldStartCost?: number;
  /** Creation → Ready assumed until the fleet has measured one, in seconds. Default 180. */
  coldStartSeconds: number;
  /** The FleetAutoscaler's sync interval assumed until measured between reviews, in seconds. Default 30. */
  syncSeconds: number;
  /** Arrival-rate windows in minutes, chained longest to shortest (rate.ts). Default 240, 60, 15, 5. */
  rateWindowsMinutes: number[];
  /** How many arrivals' worth of evidence a longer window counts for in a shorter one. Default 2. */
  rateEvidence: number;
  /** Use the learned day profile (when there is one). Default true. */
  useProfile: boolean;
  /**
   * Scale-down delay in seconds: the warm buffer is the largest the demand asked for in
   * this long, so an instance started for a burst is not thrown away a minute later.
   * Scale-up is immediate. Default 120.
   */
  scaleDownDelaySeconds: number;
  /** IANA time zone of the schedule and of the learned profile. Default UTC. */
  timeZone: string;
  /** Rules: at least (or at most) so many in given hours (schedule.ts). */
  schedule: ScheduleRuleSpec[];
  /** Warm instances above the allocated ones when the demand signals are missing: Agones' Buffer policy. Default 2. */
  fallbackBuffer: number;
  /**
   * Release-time shrink (release.ts): when a session ends, the allocator asks this policy
   * about the Fleet as it is after the release and, when it would not keep the freed
   * slot, lowers the Fleet's replicas by that one before the Fleet starts a replacement
   * the next sync would delete. Default true.
   */
  shrinkOnRelease: boolean;
  /**
   * Grow on arrival (grow.ts): when a user arrives (takes an instance or joins the queue),
   * the allocator asks this policy at once and raises the Fleet's replicas when it wants
   * more, instead of waiting for the next sync. A taken instance is then replaced a cold
   * start after it was taken, not a cold start plus half a sync, and the buffer is sized
   * for that shorter lead. Default true.
   */
  growOnArrival: boolean;
}

export const POLICY_DEFAULTS: Readonly<PolicyConfig> = Object.freeze({
  minReplicas: 0,
  maxReplicas: 100,
  scaleToZero: true,
  minWarm: 0,
  maxWarm: 20,
  warmTarget: 0.99,
  coldStartSeconds: 180,
  syncSeconds: 30,
  rateWindowsMinutes: [240, 60, 15, 5],
  rateEvidence: 2,
  useProfile: true,
  scaleDownDelaySeconds: 120,
  timeZone: 'UTC',
  schedule: [],
  fallbackBuffer: 2,
  shrinkOnRelease: true,
  growOnArrival: true,
});

const whole = z.number().int().min(0);
const ruleSchema = z.object({
  name: z.string().max(80).optional(),
  days: z.string().min(1),
  from: z.string(),
  to: z.string(),
  minReplicas: whole.optional(),
  minWarm: whole.optional(),
  maxWarm: whole.optional(),
  timeZone: z.string().optional(),
}).strict();

const configSchema = z.object({
  minReplicas: whole,
  maxReplicas: whole,
  scaleToZero: z.boolean(),
  minWarm: whole,
  maxWarm: whole,
  warmTarget: z.number().gt(0).lt(1),
  coldStartCost: z.number().positive(),
  coldStartSeconds: z.number().positive().max(7200),
  syncSeconds: z.number().positive().max(3600),
  rateWindowsMinutes: z.array(z.number().positive().max(7 * 24 * 60)).min(1).max(8),
  rateEvidence: z.number().positive(),
  useProfile: z.boolean(),
  scaleDownDelaySeconds: z.number().min(0).max(86_400),
  timeZone: z.string().min(1),
  schedule: z.array(ruleSchema).max(100),
  fallbackBuffer: whole,
  shrinkOnRelease: z.boolean(),
  growOnArrival: z.boolean(),
}).partial().strict();

/** Settings as written, defaults filled in; throws naming the field and what it takes. */
export function parsePolicyConfig(value: unknown, base: Readonly<PolicyConfig> = POLICY_DEFAULTS): PolicyConfig {
  const r = configSchema.safeParse(value ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`autoscaler policy: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const c: PolicyConfig = { ...base, ...(r.data as Partial<PolicyConfig>) };
  if (c.minReplicas > c.maxReplicas) throw new Error(`autoscaler policy: minReplicas (${c.minReplicas}) is above maxReplicas (${c.maxReplicas})`);
  if (c.minWarm > c.maxWarm) throw new Error(`autoscaler policy: minWarm (${c.minWarm}) is above maxWarm (${c.maxWarm})`);
  return c;
}

/** Arrivals the policy looks back on (ms): the longest window, the hold, and today's-versus-usual (2 h) with a quarter to spare. */
export function retentionMsFor(c: Readonly<PolicyConfig>): number {
  return (Math.max(...c.rateWindowsMinutes) * 60 + c.scaleDownDelaySeconds + 2 * 3600 + 900) * 1000;
}

/** What the policy runs: the settings with the time zone and rules compiled. */
export interface CompiledPolicy {
  config: Readonly<PolicyConfig>;
  clock: Clock;
  rules: ScheduleRule[];
}

/** Throws on a bad time zone or rule, naming it. */
export function compilePolicy(config: Readonly<PolicyConfig>): CompiledPolicy {
  const clock = new Clock(config.timeZone);
  return { config, clock, rules: compileRules(config.schedule, clock) };
}

/** `key=value,key=value` (the simulator's --policy sdfleet:…) → a partial config; lists as `a/b/c`. */
export function parseKeyValues(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}": expected key=value`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const num = Number(raw);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw.includes('/') ? raw.split('/').map(Number) : raw !== '' && Number.isFinite(num) ? num : raw;
  }
  return out;
}

/**
 * The settings of `fleet` from the policy ConfigMap's text (YAML: settings at the top,
 * per-fleet overrides under `fleets: {<name>: {…}}`) over `base`. A text that does not
 * parse leaves `base` in force, with the problem said.
 */
export function policyForFleet(text: string | undefined, fleet: string, base: Readonly<PolicyConfig>): { config: PolicyConfig; problem?: string } {
  if (text === undefined || text.trim() === '') return { config: { ...base } };
  try {
    const doc = parseYaml(text) as unknown;
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error('autoscaler policy: expected a mapping of settings');
    const { fleets, ...top } = (doc ?? {}) as Record<string, unknown>;
    if (fleets !== undefined && (typeof fleets !== 'object' || fleets === null || Array.isArray(fleets))) throw new Error('autoscaler policy: fleets: expected a mapping of fleet name → settings');
    const shared = parsePolicyConfig(top, base);
    const own = (fleets as Record<string, unknown> | undefined)?.[fleet];
    return { config: own === undefined ? shared : parsePolicyConfig(own, shared) };
  } catch (err) {
    return { config: { ...base }, problem: `${(err as Error).message} (the ConfigMap's settings are ignored until fixed)` };
  }
}
