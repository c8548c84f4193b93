import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, parsePolicyConfig } from './config.ts';
import { busiestHour, decideReplicas, type Decision, type Demand, type History, type ReviewStatus } from './policy.ts';
import { emptyProfile, learn, type DayProfile } from './profile.ts';
import { Clock } from './clock.ts';

const H = 3_600_000;
const MIN = 60_000;
/** Monday 2024-01-08 00:00 UTC. */
const MONDAY = Date.UTC(2024, 0, 8);
const at = (day: number, hour: number, minute = 0): number => MONDAY + day * 24 * H + hour * H + minute * MIN;

/** `n` arrivals spread evenly over [from, to). */
function spread(n: number, from: number, to: number): number[] {
  return Array.from({ length: n }, (_, i) => from + ((i + 0.5) * (to - from)) / n);
}

/** Five weekdays of an office: 30/h 09:00–17:00, nothing else (the days before MONDAY + 7). */
function officeProfile(): DayProfile {
  const clock = new Clock('UTC');
  const arrivals: number[] = [];
  for (let d = 0; d < 5; d++) arrivals.push(...spread(240, at(d, 9), at(d, 17)));
  return learn(emptyProfile('UTC', MONDAY), clock, arrivals, at(5, 0), MONDAY);
}

interface Case {
  name: string;
  status: ReviewStatus;
  demand: Omit<Demand, 'now'> & { now?: number };
  history?: History;
  config?: Record<string, unknown>;
  want: (d: Decision) => void;
}

const NOW = at(7, 11); // the next Monday, 11:00

const cases: Case[] = [
  {
    name: 'nobody, ever: scaled to zero',
    status: { replicas: 2, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: [] },
    want: (d) => {
      assert.equal(d.replicas, 0);
      assert.equal(d.code, 'zero');
      assert.equal(d.scale, true);
      assert.match(d.reason, /scaled to zero/);
    },
  },
  {
    name: 'queue surge: every queued user gets an instance, plus warm ones for the rate',
    status: { replicas: 5, readyReplicas: 0, allocatedReplicas: 5 },
    demand: { queued: 12, arrivals: [...spread(5, NOW - 2 * H, NOW - 30 * MIN), ...spread(12, NOW - 3 * MIN, NOW)] },
    want: (d) => {
      assert.ok(d.replicas >= 5 + 12 + 1, `at least allocated + queued + 1 warm, got ${d.replicas}`);
      assert.equal(d.code, 'demand');
      assert.match(d.reason, /5 allocated \+ 12 queued \+ \d+ warm/);
      assert.ok(d.signals!.recentPerHour > 60, `the 5-minute window shows the surge: ${d.signals!.recentPerHour}/h`);
    },
  },
  {
    name: 'queued users beyond maxReplicas wait; the rest are served',
    status: { replicas: 8, allocatedReplicas: 8 },
    demand: { queued: 5, arrivals: spread(13, NOW - 10 * MIN, NOW) },
    config: { maxReplicas: 10 },
    want: (d) => {
      assert.equal(d.replicas, 10);
      assert.equal(d.code, 'max');
      assert.equal(d.limited, true);
      assert.equal(d.signals!.servableQueued, 2);
      assert.match(d.reason, /2 of 5 queued/);
    },
  },
  {
    name: 'allocated above max: never below allocated',
    status: { replicas: 12, allocatedReplicas: 12 },
    demand: { queued: 3, arrivals: spread(10, NOW - H, NOW) },
    config: { maxReplicas: 10 },
    want: (d) => assert.equal(d.replicas, 12),
  },
  {
    name: 'lull: an hour after a busy morning ended the buffer is smaller than during it',
    status: { replicas: 10, allocatedReplicas: 4 },
    demand: { queued: 0, arrivals: spread(90, NOW - 4 * H, NOW - H) },
    want: (d) => {
      const busy = decide({ replicas: 10, allocatedReplicas: 4 }, { queued: 0, arrivals: spread(90, NOW - 3 * H - 1, NOW), now: NOW });
      assert.ok(d.signals!.warm < busy.signals!.warm, `lull ${d.signals!.warm} < busy ${busy.signals!.warm}`);
      assert.ok(d.signals!.recentPerHour < busy.signals!.recentPerHour);
    },
  },
  {
    name: 'night with a learned profile: nobody expected, scaled to zero',
    status: { replicas: 3, allocatedReplicas: 0 },
    demand: { now: at(7, 3), queued: 0, arrivals: [] },
    history: { profile: officeProfile() },
    want: (d) => {
      assert.equal(d.replicas, 0);
      assert.equal(d.code, 'zero');
    },
  },
  {
    name: 'before the morning ramp the profile starts instances a lead ahead',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { now: at(7, 8, 57), queued: 0, arrivals: [] },
    history: { profile: officeProfile() },
    want: (d) => {
      assert.ok(d.replicas >= 3, `warm ahead of 09:00, got ${d.replicas}`);
      assert.equal(d.code, 'demand');
      assert.match(d.reason, /day profile/);
      assert.match(d.reason, /for 99% warm on a usual day/);
    },
  },
  {
    name: 'a quieter day than usual (a holiday) scales the profile down',
    status: { replicas: 6, allocatedReplicas: 0 },
    demand: { now: at(7, 12), queued: 0, arrivals: [] },
    history: { profile: officeProfile() },
    want: (d) => {
      assert.ok(d.signals!.profileFactor <= 0.1, `factor ${d.signals!.profileFactor}`);
      assert.ok(d.replicas <= 1, `no arrivals all morning: at most one warm, got ${d.replicas}`);
    },
  },
  {
    name: 'schedule window: minReplicas a lead before the window opens',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { now: at(7, 8, 57), queued: 0, arrivals: [] },
    config: { schedule: [{ name: 'class', days: 'Mon-Fri', from: '09:00', to: '10:00', minReplicas: 10 }] },
    want: (d) => {
      assert.equal(d.replicas, 10);
      assert.equal(d.code, 'schedule');
      assert.match(d.reason, /by schedule \(class\)/);
    },
  },
  {
    name: 'schedule window: not yet, more than a lead before',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { now: at(7, 8, 50), queued: 0, arrivals: [] },
    config: { schedule: [{ name: 'class', days: 'Mon-Fri', from: '09:00', to: '10:00', minReplicas: 10 }] },
    want: (d) => assert.equal(d.replicas, 0),
  },
  {
    name: 'schedule window: not on Saturday',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { now: at(5, 9, 30), queued: 0, arrivals: [] },
    config: { schedule: [{ days: 'Mon-Fri', from: '09:00', to: '10:00', minReplicas: 10 }] },
    want: (d) => assert.equal(d.replicas, 0),
  },
  {
    name: 'schedule minWarm: warm on top of the allocated ones',
    status: { replicas: 4, allocatedReplicas: 4 },
    demand: { queued: 0, arrivals: [] },
    config: { schedule: [{ days: '*', from: '00:00', to: '24:00', minWarm: 3 }] },
    want: (d) => {
      assert.equal(d.replicas, 7);
      assert.equal(d.code, 'schedule');
    },
  },
  {
    name: 'idle cap at night: no warm ones however busy, queued users still served',
    status: { replicas: 2, allocatedReplicas: 2 },
    demand: { now: at(7, 22), queued: 2, arrivals: spread(30, at(7, 21), at(7, 22)) },
    config: { schedule: [{ days: '*', from: '20:00', to: '07:00', maxWarm: 0 }] },
    want: (d) => {
      assert.equal(d.replicas, 4);
      assert.equal(d.signals!.warm, 0);
      assert.ok(d.signals!.warmNow > 0, 'the demand alone would keep some');
      assert.match(d.reason, /idle cap 0/);
    },
  },
  {
    name: 'cooldown: a burst ten minutes ago still holds its warm ones within the delay',
    status: { replicas: 20, allocatedReplicas: 10 },
    demand: { queued: 0, arrivals: [...spread(20, NOW - 4 * H, NOW - 20 * MIN), ...spread(15, NOW - 13 * MIN, NOW - 9 * MIN)] },
    config: { scaleDownDelaySeconds: 600 },
    want: (d) => {
      assert.equal(d.code, 'hold');
      assert.ok(d.signals!.warm > d.signals!.warmNow);
      assert.match(d.reason, /held for the scale-down delay/);
      const noHold = decide({ replicas: 20, allocatedReplicas: 10 }, { queued: 0, arrivals: [...spread(20, NOW - 4 * H, NOW - 20 * MIN), ...spread(15, NOW - 13 * MIN, NOW - 9 * MIN)], now: NOW }, {}, { scaleDownDelaySeconds: 0 });
      assert.ok(noHold.replicas < d.replicas, `without the delay it scales down: ${noHold.replicas} < ${d.replicas}`);
    },
  },
  {
    name: 'scale-up is not delayed',
    status: { replicas: 2, allocatedReplicas: 2 },
    demand: { queued: 0, arrivals: spread(20, NOW - 10 * MIN, NOW) },
    config: { scaleDownDelaySeconds: 3600 },
    want: (d) => assert.ok(d.replicas > 2 + 3, `scaled up at once, got ${d.replicas}`),
  },
  {
    name: 'scaleToZero false keeps one warm when nobody comes',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: [] },
    config: { scaleToZero: false },
    want: (d) => {
      assert.equal(d.replicas, 1);
      assert.equal(d.code, 'min-warm');
    },
  },
  {
    name: 'minReplicas holds the fleet up',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: [] },
    config: { minReplicas: 3 },
    want: (d) => {
      assert.equal(d.replicas, 3);
      assert.equal(d.code, 'min');
      assert.equal(d.limited, true);
    },
  },
  {
    name: 'a measured cold start is used; none measured is said',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: spread(10, NOW - H, NOW), coldStartMs: 600_000 },
    want: (d) => {
      assert.equal(d.signals!.coldStartMeasured, true);
      assert.equal(d.signals!.leadSeconds, 600, 'the cold start alone: the allocator grows the Fleet on arrival (the default)');
      assert.doesNotMatch(d.reason, /assumed/);
      const assumed = decide({ replicas: 0, allocatedReplicas: 0 }, { queued: 0, arrivals: spread(10, NOW - H, NOW), now: NOW });
      assert.match(assumed.reason, /cold start assumed 180 s/);
      assert.ok(d.signals!.warm > assumed.signals!.warm, 'a longer lead asks for more warm ones');
    },
  },
  {
    name: 'grow on arrival off: a taken instance waits for the next sync, so the lead adds half a sync and more are kept warm',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: spread(40, NOW - H, NOW), coldStartMs: 180_000, syncMs: 120_000 },
    config: { growOnArrival: false },
    want: (d) => {
      assert.equal(d.signals!.leadSeconds, 240);
      const growing = decide({ replicas: 0, allocatedReplicas: 0 }, { queued: 0, arrivals: spread(40, NOW - H, NOW), coldStartMs: 180_000, syncMs: 120_000, now: NOW });
      assert.equal(growing.signals!.leadSeconds, 180);
      assert.ok(d.signals!.warm > growing.signals!.warm, `a longer lead asks for more warm ones (${d.signals!.warm} vs ${growing.signals!.warm})`);
    },
  },
  {
    name: 'bad input: queue unknown → Buffer-like fallback, and why',
    status: { replicas: 3, allocatedReplicas: 3 },
    demand: { arrivals: [], problems: ['the queue and GameServer informers have not listed yet'] },
    want: (d) => {
      assert.equal(d.replicas, 5);
      assert.equal(d.code, 'fallback');
      assert.match(d.reason, /fallback to Buffer 2 .*informers have not listed yet/);
    },
  },
  {
    name: 'bad input: a negative queue length → fallback',
    status: { replicas: 3, allocatedReplicas: 3 },
    demand: { queued: -1, arrivals: [] },
    want: (d) => {
      assert.equal(d.code, 'fallback');
      assert.match(d.reason, /queue length -1 is not a count/);
    },
  },
  {
    name: 'bad input: arrivals unknown → fallback, but queued users still count',
    status: { replicas: 3, allocatedReplicas: 3 },
    demand: { queued: 4 },
    want: (d) => {
      assert.equal(d.replicas, 7);
      assert.equal(d.code, 'fallback');
      assert.match(d.reason, /arrivals are unknown/);
    },
  },
  {
    name: 'bad input: arrivals with NaN → fallback',
    status: { replicas: 3, allocatedReplicas: 1 },
    demand: { queued: 0, arrivals: [NOW, Number.NaN] },
    config: { fallbackBuffer: 4, maxReplicas: 4 },
    want: (d) => {
      assert.equal(d.code, 'fallback');
      assert.equal(d.replicas, 4);
      assert.equal(d.limited, true);
    },
  },
  {
    name: 'bad input: the review has no allocated count → keep the fleet as it is',
    status: { replicas: 6, allocatedReplicas: Number.NaN },
    demand: { queued: 0, arrivals: [] },
    want: (d) => {
      assert.equal(d.replicas, 6);
      assert.equal(d.scale, false);
      assert.equal(d.code, 'fallback');
    },
  },
  {
    name: 'night, no profile yet: a lone arrival keeps one warm, not a second for a 1 % chance',
    status: { replicas: 1, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: [NOW - 40 * MIN] },
    want: (d) => {
      assert.equal(d.signals!.warm, 1);
      assert.equal(d.signals!.sizing.kind, 'cost');
      assert.match(d.reason, /busiest recent hour \(1 arrivals; no day profile yet\)/);
    },
  },
  {
    name: 'no profile yet: the busy hour sets the cost, a quiet evening after it gets what that cost buys',
    status: { replicas: 3, allocatedReplicas: 0 },
    // 40 in the hour from 15:00, then three stragglers.
    demand: { queued: 0, arrivals: [...spread(40, NOW - 4 * H, NOW - 3 * H), NOW - 2 * H, NOW - 70 * MIN, NOW - 50 * MIN] },
    want: (d) => {
      const s = d.signals!.sizing;
      assert.ok(s.kind === 'cost' && s.derived === 'recent' && s.busiestPerHour === 40, JSON.stringify(s));
      assert.ok(d.signals!.warm <= 1, `a quiet hour after a busy one: ${d.signals!.warm} warm`);
      const busy = decide({ replicas: 3, allocatedReplicas: 0 }, { now: NOW, queued: 0, arrivals: spread(40, NOW - H, NOW) });
      assert.ok(busy.signals!.warm >= 5, `the busy hour itself: ${busy.signals!.warm} warm`);
    },
  },
  {
    name: 'nothing logged and no profile: the warm target is each arrival\'s risk',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: [] },
    want: (d) => {
      const s = d.signals!.sizing;
      assert.ok(s.kind === 'risk' && Math.abs(s.risk - 0.01) < 1e-12, JSON.stringify(s));
    },
  },
  {
    name: 'cooldown over: past the scale-down delay the burst no longer holds instances',
    status: { replicas: 20, allocatedReplicas: 10 },
    demand: { queued: 0, arrivals: [...spread(20, NOW - 4 * H, NOW - 20 * MIN), ...spread(15, NOW - 13 * MIN, NOW - 9 * MIN)] },
    config: { scaleDownDelaySeconds: 120 },
    want: (d) => {
      assert.notEqual(d.code, 'hold');
      assert.equal(d.signals!.warm, d.signals!.warmNow);
      assert.ok(d.replicas < 20, `scaled down to ${d.replicas}`);
    },
  },
  {
    name: 'a lone busy minute under a learned profile is not a surge; a crowd is',
    status: { replicas: 10, allocatedReplicas: 5 },
    history: { profile: officeProfile() },
    // 30/h usual: 3 in five minutes is within chance, 12 in two minutes is not.
    demand: { queued: 0, arrivals: [...spread(57, NOW - 2 * H, NOW - 5 * MIN), ...spread(3, NOW - 5 * MIN, NOW)] },
    want: (d) => {
      assert.match(d.reason, /\(day profile\)/);
      const crowd = decide({ replicas: 10, allocatedReplicas: 5 }, { now: NOW, queued: 0, arrivals: [...spread(57, NOW - 2 * H, NOW - 5 * MIN), ...spread(12, NOW - 2 * MIN, NOW)] }, { profile: officeProfile() });
      assert.match(crowd.reason, /\(recent arrivals\)/);
      assert.ok(crowd.signals!.warm > d.signals!.warm, `${crowd.signals!.warm} > ${d.signals!.warm}`);
    },
  },
  {
    name: 'a set coldStartCost is used as it is',
    status: { replicas: 0, allocatedReplicas: 0 },
    demand: { queued: 0, arrivals: spread(30, NOW - H, NOW) },
    config: { coldStartCost: 0.01 },
    want: (d) => {
      assert.equal(d.signals!.warm, 0, 'a cold start worth almost nothing buys no warm ones');
      assert.deepEqual(d.signals!.sizing, { kind: 'cost', coldStartCost: 0.01, derived: false });
    },
  },
];

function decide(status: ReviewStatus, demand: Demand, history: History = {}, config: Record<string, unknown> = {}): Decision {
  return decideReplicas({ status }, demand, history, compilePolicy(parsePolicyConfig(config)));
}

describe('decideReplicas', () => {
  for (const c of cases) {
    it(c.name, () => c.want(decide(c.status, { now: NOW, ...c.demand } as Demand, c.history, c.config)));
  }

  it('never below allocated + reserved + the queued users that fit, never above max unless allocated is', () => {
    let seed = 7;
    const r = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const allocated = Math.floor(r() * 30);
      const reserved = Math.floor(r() * 3);
      const queued = Math.floor(r() * 40);
      const max = 1 + Math.floor(r() * 50);
      const arrivals = spread(Math.floor(r() * 200), NOW - 4 * H, NOW);
      const d = decide({ replicas: Math.floor(r() * 60), allocatedReplicas: allocated, reservedReplicas: reserved }, { now: NOW, queued, arrivals }, {}, { maxReplicas: max, minReplicas: 0 });
      const floor = allocated + reserved + Math.min(queued, Math.max(0, max - allocated - reserved));
      assert.ok(d.replicas >= floor, `case ${i}: ${d.replicas} < ${floor} (${d.reason})`);
      assert.ok(d.replicas <= Math.max(max, allocated + reserved), `case ${i}: ${d.replicas} above max ${max}`);
    }
  });

  it('busiestHour: most arrivals within any hour up to now', () => {
    assert.equal(busiestHour([], NOW), 0);
    assert.equal(busiestHour([NOW - 5 * H, NOW - 4.5 * H, NOW - 4.2 * H, NOW - H], NOW), 3);
    assert.equal(busiestHour([NOW - 2 * H, NOW - H, NOW + MIN], NOW), 1, 'an hour apart exactly is not within one; the future does not count');
    assert.equal(busiestHour(spread(30, NOW - H, NOW), NOW), 30);
  });
});
