/**
 * Session traces of other shapes than the one recorded, so a policy is checked on
 * demand it was not tuned on: arrivals are a non-homogeneous Poisson process (drawn by
 * thinning) with a day-shaped rate, sessions log-normal. Seeded: the same options give
 * the same trace.
 *
 * Shapes (rates are per hour, local time of the office):
 * - office: a team of ~100, office hours 08:30–18:30 with a morning ramp and a lunch dip,
 *   a trickle at night, weekends at a tenth (the description of workday.csv, not a fit).
 * - burst: a class of 60 arriving within 3 minutes at 10:00 (plus `background` × office).
 * - zones: three offices at UTC+1, UTC+5:30 and UTC−5 sharing one fleet.
 * - nights: a small team by day, nobody at night or at weekends but a rare straggler.
 * - meetings: half an office, plus six groups of eight arriving within 5 minutes at
 *   random times of the working day.
 * - flat: a steady 12 an hour around the clock.
 */
import { seededRandom } from '../../../common/seeded-random.ts';
import type { Trace, TraceSession } from './trace.ts';

export const SHAPES = ['office', 'burst', 'zones', 'nights', 'meetings', 'flat'] as const;
export type ShapeName = (typeof SHAPES)[number];

export interface GenerateOptions {
  shape: ShapeName;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Whole days. Default 1. */
  days?: number;
  /** Weekday of day 0 (0 = Sunday). Default 1 (Monday). */
  startWeekday?: number;
  /** Multiplies every rate (a bigger or smaller team). Default 1. */
  scale?: number;
  /** burst: fraction of an office's traffic around the class. Default 0. */
  background?: number;
  /** burst: size of the class, and when it arrives (hours, local). Default 60 at 10. */
  classSize?: number;
  classAt?: number;
  /** burst: seconds over which the class arrives. Default 180. */
  classWithin?: number;
}

function normal(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** Log-normal seconds with the given median (minutes) and σ, clamped to 2 min–8 h. */
function lognormalSeconds(r: () => number, medianMin: number, sigma: number): number {
  return Math.min(8 * 3600, Math.max(120, medianMin * 60 * Math.exp(sigma * normal(r))));
}

/** Piecewise-linear rate from knots [hour, per hour]; a repeated hour is a step. */
type Knots = readonly (readonly [number, number])[];

function rateOf(knots: Knots, hour: number): number {
  for (let i = 1; i < knots.length; i++) {
    const [h1, r1] = knots[i]!;
    const [h0, r0] = knots[i - 1]!;
    if (hour < h1 || (hour === h1 && i === knots.length - 1)) return h1 === h0 ? r1 : r0 + ((r1 - r0) * (hour - h0)) / (h1 - h0);
  }
  return knots.at(-1)![1];
}

const OFFICE: Knots = [[0, 0.35], [8.5, 0.35], [8.5, 12], [9.5, 36], [12, 36], [12, 20], [13, 20], [13, 40], [16.5, 40], [18.5, 12], [18.5, 0.35], [24, 0.35]];
const NIGHTS: Knots = [[0, 0.03], [8, 0.03], [8, 4], [9, 10], [17, 10], [18, 2], [18, 0.03], [24, 0.03]];

interface Source {
  /** Arrivals per hour at `hour` of a day (0–24, UTC of the trace) of the given weekday. */
  rate(hour: number, weekday: number): number;
  medianMin: number;
  sigma: number;
}

function office(scale: number, offsetHours = 0): Source {
  return {
    rate: (hour, weekday) => {
      let local = hour + offsetHours;
      let wd = weekday;
      if (local >= 24) { local -= 24; wd = (wd + 1) % 7; }
      if (local < 0) { local += 24; wd = (wd + 6) % 7; }
      return rateOf(OFFICE, local) * scale * (wd === 0 || wd === 6 ? 0.1 : 1);
    },
    medianMin: 21,
    sigma: 0.8,
  };
}

function sourcesOf(o: GenerateOptions): Source[] {
  const s = o.scale ?? 1;
  switch (o.shape) {
    case 'office': return [office(s)];
    case 'burst': return (o.background ?? 0) > 0 ? [office(s * o.background!)] : [];
    case 'zones': return [office(0.4 * s, 1), office(0.3 * s, 5.5), office(0.4 * s, -5)];
    case 'nights': return [{ rate: (h, wd) => (wd === 0 || wd === 6 ? 0.03 : rateOf(NIGHTS, h)) * s, medianMin: 25, sigma: 0.7 }];
    case 'meetings': return [office(0.5 * s)];
    case 'flat': return [{ rate: () => 12 * s, medianMin: 21, sigma: 0.8 }];
  }
}

/**
 * A shape's expected arrivals per hour at second `s` of its trace: the rate the arrivals
 * are drawn from, without the draw. Only the smooth part: a burst's class and the
 * meetings' groups come at drawn times and are not in it.
 */
export function expectedRate(o: GenerateOptions): (s: number) => number {
  const sources = sourcesOf(o);
  const start = o.startWeekday ?? 1;
  return (s) => {
    const day = Math.floor(s / 86_400);
    const weekday = (((start + day) % 7) + 7) % 7;
    const hour = (s - day * 86_400) / 3600;
    return sources.reduce((a, src) => a + src.rate(hour, weekday), 0);
  };
}

/** Draws a trace. */
export function generateTrace(o: GenerateOptions): Trace {
  const r = seededRandom(o.seed ?? 1);
  const days = o.days ?? 1;
  const start = o.startWeekday ?? 1;
  const out: TraceSession[] = [];
  const user = (): string => `u${String(Math.floor(r() * 120)).padStart(4, '0')}`;
  for (const src of sourcesOf(o)) {
    // Thinning: candidates at the peak rate, each kept with probability rate / peak.
    let peak = 0;
    for (let h = 0; h <= 24; h += 0.25) for (let wd = 0; wd < 7; wd++) peak = Math.max(peak, src.rate(h, wd));
    if (peak <= 0) continue;
    for (let t = 0; ;) {
      t += (-Math.log(Math.max(r(), 1e-12)) / peak) * 3600;
      if (t >= days * 86_400) break;
      const day = Math.floor(t / 86_400);
      if (r() * peak <= src.rate((t - day * 86_400) / 3600, (start + day) % 7)) {
        out.push({ arrival: t, duration: lognormalSeconds(r, src.medianMin, src.sigma), user: user() });
      }
    }
  }
  for (let day = 0; day < days; day++) {
    const wd = (start + day) % 7;
    const base = day * 86_400;
    if (o.shape === 'burst' && wd !== 0 && wd !== 6) {
      const at = base + (o.classAt ?? 10) * 3600;
      for (let i = 0; i < (o.classSize ?? 60); i++) out.push({ arrival: at + r() * (o.classWithin ?? 180), duration: lognormalSeconds(r, 50, 0.3), user: `class${String(i).padStart(3, '0')}` });
    }
    if (o.shape === 'meetings' && wd !== 0 && wd !== 6) {
      for (let m = 0; m < 6; m++) {
        const at = base + (9 + r() * 8.5) * 3600;
        for (let i = 0; i < 8; i++) out.push({ arrival: at + r() * 300, duration: lognormalSeconds(r, 30, 0.5), user: user() });
      }
    }
  }
  out.sort((a, b) => a.arrival - b.arrival);
  return { name: `${o.shape}${days > 1 ? `×${days}d` : ''} (seed ${o.seed ?? 1})`, sessions: out, startWeekday: start };
}

/**
 * `gen:office`, `gen:burst,background=0.2,seed=3`, `gen:zones,days=5` → options; throws
 * naming what is wrong.
 */
export function parseGeneratorSpec(spec: string): GenerateOptions {
  const [head, ...rest] = spec.replace(/^gen:/, '').split(',');
  const shape = head?.trim() as ShapeName;
  if (!SHAPES.includes(shape)) throw new Error(`trace "${spec}": unknown shape "${head}"; shapes are ${SHAPES.join(', ')}`);
  const o: GenerateOptions = { shape };
  const numeric = ['seed', 'days', 'startWeekday', 'scale', 'background', 'classSize', 'classAt', 'classWithin'] as const;
  for (const kv of rest) {
    const [k, v] = kv.split('=').map((x) => x.trim());
    const n = Number(v);
    if (!(numeric as readonly string[]).includes(k ?? '') || v === undefined || v === '' || !Number.isFinite(n) || n < 0) {
      throw new Error(`trace "${spec}": "${kv}" is not one of ${numeric.map((x) => `${x}=<number ≥ 0>`).join(', ')}`);
    }
    (o as unknown as Record<string, number>)[k!] = n;
  }
  if (o.days !== undefined && (!Number.isInteger(o.days) || o.days < 1 || o.days > 366)) throw new Error(`trace "${spec}": days takes a whole number from 1 to 366`);
  return o;
}
