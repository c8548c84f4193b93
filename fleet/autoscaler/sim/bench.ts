/**
 * `sdfleet bench autoscaler`: the simulator over one or more traces, every policy asked
 * for, one table (or JSON) per trace, with the goal check: sdfleet's idle GPU-hours
 * against the cheapest Buffer size that keeps 99 % warm on the same trace.
 */
import { readFile } from 'node:fs/promises';
import { seededRandom } from '../../../common/seeded-random.ts';
import { parse as parseYaml } from 'yaml';
import { parsePolicyConfig, POLICY_DEFAULTS, type PolicyConfig } from '../config.ts';
import type { DayProfile } from '../profile.ts';
import { expectedRate, generateTrace, parseGeneratorSpec, type GenerateOptions } from './generate.ts';
import { bufferPolicy, DEFAULT_BUFFERS, learnFromTraces, policyFromSpec, profileFromRate } from './policies.ts';
import { simulate, type ColdStart, type SimResult } from './simulate.ts';
import { parseTraceCsv, type Trace } from './trace.ts';

export interface AutoscalerBenchOptions {
  /** Trace files (CSV) or generator specs (`gen:office,seed=3`). */
  traces: string[];
  /** `180`, `120-240` (uniform) or `lognormal:180:0.3` (median s, σ). */
  coldStart: string;
  /** Autoscaler sync interval, seconds. */
  syncSeconds: number;
  /** Policies; default buffer:0 … buffer:12 and sdfleet. */
  policies?: string[];
  /**
   * Past days the sdfleet policies learn their day profile from (files or generator
   * specs), or `rate:SHAPE[,scale=…]` alone: the profile of endlessly many days of a
   * generated shape (its expected rate, no noise), what a perfect history is worth.
   */
  history?: string[];
  /** YAML settings the sdfleet policies start from. */
  configFile?: string;
  /** Seed of the cold-start draws. Default 1. */
  seed?: number;
  /** Wall-clock time of the trace's start (ISO). Default 2024-01-01T00:00:00Z, a Monday. */
  start?: string;
  /** The warm target the goal check uses. Default 99. */
  warmGoalPct?: number;
}

/** One policy's line of the table (and of --json): the simulation's result without its raw counts. */
export type PolicyRow = Omit<SimResult, 'warm' | 'horizonHours'>;

export interface TraceRun {
  trace: string;
  sessions: number;
  horizonHours: number;
  policies: PolicyRow[];
  /** The cheapest Buffer size reaching the warm goal on this trace (searched up to 40), with its idle GPU-hours. */
  cheapestBuffer: { name: string; warmPct: number; idleGpuHours: number } | undefined;
  ms: number;
}

export interface AutoscalerBenchResult {
  coldStart: string;
  syncSeconds: number;
  history: string[];
  warmGoalPct: number;
  runs: TraceRun[];
}

export function parseColdStart(spec: string, seed: number): ColdStart {
  const r = seededRandom(seed);
  const s = spec.trim();
  const fixed = Number(s);
  if (s !== '' && Number.isFinite(fixed) && fixed >= 0) return () => fixed;
  const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(s);
  if (range && Number(range[1]) <= Number(range[2])) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    return () => lo + r() * (hi - lo);
  }
  const ln = /^lognormal:(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(s);
  if (ln) {
    const median = Number(ln[1]);
    const sigma = Number(ln[2]);
    return () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r()));
  }
  throw new Error(`--cold-start "${spec}": give seconds (180), a range (120-240) or lognormal:MEDIAN:SIGMA (lognormal:180:0.3)`);
}

export async function loadTrace(spec: string): Promise<Trace> {
  if (spec.startsWith('gen:')) return generateTrace(parseGeneratorSpec(spec));
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (err) {
    throw new Error(`trace ${spec}: ${(err as Error).message}; give a CSV file (arrival_s,session_s,user) or gen:<shape>`, { cause: err });
  }
  return parseTraceCsv(text, spec.split('/').pop() ?? spec);
}

async function loadHistory(specs: string[], base: PolicyConfig, startMs: number): Promise<DayProfile | undefined> {
  const rate = specs.filter((h) => h.startsWith('rate:'));
  if (rate.length === 0) return learnFromTraces(await Promise.all(specs.map(loadTrace)), base, startMs);
  if (specs.length > 1) throw new Error(`--history ${rate[0]}: a rate stands alone (it is the profile of endlessly many days); give it without other --history`);
  let shape: GenerateOptions;
  try {
    shape = parseGeneratorSpec(rate[0]!.slice('rate:'.length));
  } catch (err) {
    throw new Error(`--history ${rate[0]}: ${(err as Error).message.replace(/^trace "[^"]*": /, '')}`, { cause: err });
  }
  return profileFromRate(expectedRate(shape), base, startMs);
}

const row = (r: SimResult): PolicyRow => ({
  name: r.name, sessions: r.sessions, served: r.served, unserved: r.unserved, warmPct: r.warmPct,
  waitP50: r.waitP50, waitP95: r.waitP95, waitP99: r.waitP99, waitMax: r.waitMax,
  gpuHours: r.gpuHours, idleGpuHours: r.idleGpuHours, busyGpuHours: r.busyGpuHours, startingGpuHours: r.startingGpuHours,
  idleBy: r.idleBy, idleByHour: r.idleByHour,
  created: r.created, releaseShrinks: r.releaseShrinks, arrivalGrows: r.arrivalGrows, hoursAtZero: r.hoursAtZero, peakReplicas: r.peakReplicas,
});

export async function runAutoscalerBench(o: AutoscalerBenchOptions): Promise<AutoscalerBenchResult> {
  const startMs = Date.parse(o.start ?? '2024-01-01T00:00:00Z');
  if (!Number.isFinite(startMs)) throw new Error(`--start "${o.start}": give an ISO time, e.g. 2024-01-01T00:00:00Z`);
  const seed = o.seed ?? 1;
  parseColdStart(o.coldStart, seed); // fail before any work
  let base: PolicyConfig = POLICY_DEFAULTS;
  if (o.configFile) base = parsePolicyConfig(parseYaml(await readFile(o.configFile, 'utf8')) as unknown);
  const profile = await loadHistory(o.history ?? [], base, startMs);
  const specs = o.policies?.length ? o.policies : [...DEFAULT_BUFFERS.map((b) => `buffer:${b}`), 'sdfleet'];
  // Check every spec before running any.
  for (const s of specs) policyFromSpec(s, { base, startMs });
  const goal = o.warmGoalPct ?? 99;
  const runs: TraceRun[] = [];
  for (const spec of o.traces) {
    const t0 = performance.now();
    const trace = await loadTrace(spec);
    const sim = (policy: ReturnType<typeof bufferPolicy>): SimResult =>
      simulate({ trace, policy, coldStart: parseColdStart(o.coldStart, seed), syncSeconds: o.syncSeconds, startMs });
    const results = specs.map((s) => sim(policyFromSpec(s, { base, startMs, ...(profile ? { profile } : {}) })));
    // The comparison point of the goal: the smallest Buffer reaching it (outside the list too).
    let cheapest: TraceRun['cheapestBuffer'];
    for (let b = 1; b <= 40 && !cheapest; b++) {
      const known = results.find((r) => r.name === `buffer:${b}`) ?? sim(bufferPolicy(b));
      if (known.warmPct >= goal) cheapest = { name: `buffer:${b}`, warmPct: known.warmPct, idleGpuHours: known.idleGpuHours };
    }
    runs.push({
      trace: trace.name, sessions: trace.sessions.length, horizonHours: results[0]?.horizonHours ?? 0, policies: results.map(row),
      cheapestBuffer: cheapest, ms: performance.now() - t0,
    });
  }
  return { coldStart: o.coldStart, syncSeconds: o.syncSeconds, history: o.history ?? [], warmGoalPct: goal, runs };
}

const num = (v: number | null, digits = 0): string => (v === null ? '∞' : v.toFixed(digits));

/** Idle GPU-hours of hours outside 08:00–19:00 of the trace's clock. */
const nightIdle = (byHour: readonly number[]): number => byHour.reduce((a, x, h) => (h < 8 || h >= 19 ? a + x : a), 0);

const historyNote = (h: string[]): string =>
  h[0]?.startsWith('rate:') ? `; sdfleet's day profile is the expected rate of ${h[0].slice('rate:'.length)} (a perfect history)`
  : h.length ? `; sdfleet's day profile learned from ${h.join(', ')}` : '; no history (sdfleet starts with no day profile)';

/** Markdown: one table per trace, then the goal check and where the idle time went for each sdfleet policy. */
export function autoscalerReport(r: AutoscalerBenchResult): string {
  const out: string[] = [];
  for (const run of r.runs) {
    out.push(`Trace ${run.trace}: ${run.sessions} sessions over ${run.horizonHours.toFixed(1)} h; cold start ${r.coldStart} s, sync ${r.syncSeconds} s${historyNote(r.history)}; ${(run.ms / 1000).toFixed(1)} s`);
    out.push('');
    out.push('| policy | sessions | unserved | warm % | wait p50 s | wait p95 s | wait p99 s | wait max s | GPU-h | idle GPU-h | busy GPU-h | created | peak | h at zero |');
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const p of run.policies) {
      out.push(`| ${p.name} | ${p.sessions} | ${p.unserved} | ${p.warmPct.toFixed(1)} | ${num(p.waitP50)} | ${num(p.waitP95)} | ${num(p.waitP99)} | ${num(p.waitMax)} | ${p.gpuHours.toFixed(1)} | ${p.idleGpuHours.toFixed(1)} | ${p.busyGpuHours.toFixed(1)} | ${p.created} | ${p.peakReplicas} | ${p.hoursAtZero.toFixed(1)} |`);
    }
    out.push('');
    const c = run.cheapestBuffer;
    for (const p of run.policies.filter((x) => x.name.startsWith('sdfleet'))) {
      if (!c) {
        out.push(idleLine(p));
        out.push(`${p.name}: ${p.warmPct.toFixed(1)} % warm, ${p.idleGpuHours.toFixed(1)} idle GPU-h; no Buffer up to 40 reaches ${r.warmGoalPct} % warm here.`);
        continue;
      }
      const ratio = p.idleGpuHours / c.idleGpuHours;
      const met = p.warmPct >= r.warmGoalPct && ratio <= 0.5;
      out.push(idleLine(p));
      out.push(`${p.name}: ${p.warmPct.toFixed(2)} % warm at ${ratio.toFixed(2)}× the idle GPU-hours of ${c.name} (the cheapest Buffer with ≥ ${r.warmGoalPct} % warm: ${c.warmPct.toFixed(1)} %, ${c.idleGpuHours.toFixed(1)} idle GPU-h); goal ≥ ${r.warmGoalPct} % at ≤ 0.5×: ${met ? 'met' : 'not met'}.`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Where a policy's idle GPU-hours went, in one line. */
function idleLine(p: PolicyRow): string {
  const b = p.idleBy;
  const f = (x: number): string => x.toFixed(1);
  return `${p.name}'s ${f(p.idleGpuHours)} idle GPU-h: ${f(b.servedStarting)} starting and ${f(b.servedReady)} Ready for the instances users took, ` +
    `${f(b.droppedStarting + b.droppedReady)} on ones scaled away unused (${f(b.droppedReady)} of it Ready), ${f(b.leftWarm)} still warm at the end; ` +
    `${f(nightIdle(p.idleByHour))} of it outside 08:00–19:00` +
    (p.releaseShrinks > 0 ? `; ${p.releaseShrinks} session ends not refilled (release-time shrink)` : '') +
    (p.arrivalGrows > 0 ? `; ${p.arrivalGrows} arrivals grew the Fleet at once (grow on arrival)` : '') + '.';
}
