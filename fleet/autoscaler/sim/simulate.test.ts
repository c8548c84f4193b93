import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLICY_DEFAULTS, parsePolicyConfig } from '../config.ts';
import { expectedRate, generateTrace } from './generate.ts';
import { bufferPolicy, learnFromTraces, policyFromSpec, profileFromRate, sdfleetPolicy } from './policies.ts';
import { growOnArrival } from '../grow.ts';
import { shrinkOnRelease } from '../release.ts';
import { simulate, type SimPolicy } from './simulate.ts';
import type { Trace } from './trace.ts';

const START = Date.UTC(2024, 0, 1);
const fixed = (s: number) => () => s;

describe('simulator', () => {
  it('a tiny trace, computed by hand (Buffer 1, cold start 100 s, sync 30 s)', () => {
    const trace: Trace = { name: 'tiny', sessions: [
      { arrival: 10, duration: 1000, user: 'a' },
      { arrival: 20, duration: 55, user: 'b' },
      { arrival: 500, duration: 105, user: 'c' },
    ] };
    const waits: number[] = [];
    const r = simulate({ trace, policy: bufferPolicy(1), coldStart: fixed(100), syncSeconds: 30, startMs: START, onServed: (i, w) => (waits[i] = w) });
    // t=0 one Ready; a takes it at 10; b queues at 20; the sync at 30 starts one (Ready 130: b waits 110);
    // each later take or end is refilled by the next sync or the Fleet, excess starting ones go first.
    assert.deepEqual(waits, [0, 110, 0]);
    assert.equal(r.warm, 2);
    assert.equal(r.served, 3);
    assert.equal(r.waitMax, 110);
    assert.equal(r.created, 7);
    assert.equal(Math.round(r.busyGpuHours * 3600), 1000 + 55 + 105);
    // Idle, GameServer by GameServer: #0 Ready 0–10; #1 starting 30–130; #2 starting 150–250,
    // Ready 250–500; #3 the Fleet's refill after b (185–210, removed by the sync); #4 starting
    // 510–610, then Ready to the end of the day; #5 the refill after c (605–630); #6 after a (1010–1020).
    assert.equal(Math.round(r.idleGpuHours * 3600), 10 + 100 + 100 + 250 + 25 + 100 + 85_790 + 25 + 10);
    assert.equal(Math.round(r.startingGpuHours * 3600), 100 + 100 + 25 + 100 + 25 + 10);
    // By fate: #1 and #2 started for the users who took them, #0 and #2 waited Ready for
    // them; the refills #3, #5, #6 were removed while starting; #4 is still warm at the end.
    const s = (x: number): number => Math.round(x * 3600);
    assert.deepEqual(Object.fromEntries(Object.entries(r.idleBy).map(([k, v]) => [k, s(v)])), {
      servedStarting: 100 + 100, servedReady: 10 + 250, droppedStarting: 25 + 25 + 10, droppedReady: 0, leftWarm: 100 + 85_790,
    });
    assert.equal(r.idleByHour.length, 24);
    assert.equal(s(r.idleByHour[23]!), 3600, 'only #4, Ready all hour');
    assert.equal(s(r.idleByHour.reduce((a, b) => a + b, 0)), s(r.idleGpuHours));
    assert.equal(r.horizonHours, 24);
  });

  it('Buffer: more warm and more idle as the size grows; every session kept', () => {
    const trace = generateTrace({ shape: 'office', seed: 5 });
    const total = trace.sessions.reduce((s, x) => s + x.duration, 0) / 3600;
    let prev: ReturnType<typeof simulate> | undefined;
    for (let b = 1; b <= 9; b++) {
      const r = simulate({ trace, policy: bufferPolicy(b), coldStart: fixed(180), startMs: START });
      assert.equal(r.served + r.unserved, r.sessions, 'conservation');
      assert.equal(r.unserved, 0);
      assert.ok(Math.abs(r.busyGpuHours - total) < 1e-6, 'busy time is the sessions\' time');
      assert.ok(Math.abs(r.gpuHours - r.idleGpuHours - r.busyGpuHours) < 1e-9);
      const parts = Object.values(r.idleBy).reduce((a, x) => a + x, 0);
      assert.ok(Math.abs(parts - r.idleGpuHours) < 1e-6, `idle by fate adds up: ${parts} vs ${r.idleGpuHours}`);
      if (prev) {
        assert.ok(r.warmPct >= prev.warmPct, `buffer:${b} warm ${r.warmPct} ≥ ${prev.warmPct}`);
        assert.ok(r.idleGpuHours > prev.idleGpuHours, `buffer:${b} idle grows`);
      }
      prev = r;
    }
  });

  it('nobody is lost: a fleet that never grows reports every arrival as unserved', () => {
    const trace = generateTrace({ shape: 'office', seed: 5 });
    const r = simulate({ trace, policy: bufferPolicy(0), coldStart: fixed(180), startMs: START });
    assert.equal(r.unserved, r.sessions);
    assert.equal(r.served, 0);
    assert.equal(r.waitP50, null);
  });

  it('scale-down never touches Allocated and takes starting ones first', () => {
    // Up to 3 at t=0 (Ready at once), then down to 0 while one is allocated and one starts.
    const trace: Trace = { name: 't', sessions: [{ arrival: 1, duration: 500, user: 'a' }, { arrival: 2, duration: 500, user: 'b' }] };
    const plan = [3, 3, 0, 0];
    let i = 0;
    const p: SimPolicy = { name: 'plan', decide: () => plan[Math.min(i++, plan.length - 1)]! };
    const states: { allocated: number; ready: number; starting: number }[] = [];
    simulate({ trace, policy: p, coldStart: fixed(100), syncSeconds: 30, startMs: START, horizonSeconds: 200, onSync: (s) => states.push(s) });
    assert.deepEqual(states[0], { t: 0, replicas: 3, ready: 3, starting: 0, allocated: 0, queued: 0 });
    assert.equal(states[2]!.allocated, 2, 'both sessions survive the scale to 0');
    assert.equal(states[2]!.ready + states[2]!.starting, 0);
  });

  it('sdfleet on a class of 60 arriving in 3 minutes: p95 within cold start + 60 s; Buffer 12 is far off', () => {
    const trace = generateTrace({ shape: 'burst', seed: 1 });
    const sd = simulate({ trace, policy: sdfleetPolicy({ config: POLICY_DEFAULTS, startMs: START }), coldStart: fixed(180), startMs: START });
    const b12 = simulate({ trace, policy: bufferPolicy(12), coldStart: fixed(180), startMs: START });
    assert.equal(sd.served, 60);
    assert.ok(sd.waitP95! <= 240, `sdfleet p95 ${sd.waitP95}`);
    assert.ok(b12.waitP95! > 600, `buffer:12 p95 ${b12.waitP95}`);
    // Known in advance: a schedule rule makes it warm.
    const config = parsePolicyConfig({ schedule: [{ name: 'class', days: 'Mon', from: '10:00', to: '10:15', minReplicas: 60 }] });
    const ruled = simulate({ trace, policy: sdfleetPolicy({ config, startMs: START }), coldStart: fixed(180), startMs: START });
    assert.ok(ruled.warmPct >= 99, `with the rule ${ruled.warmPct} % warm`);
  });

  it('sdfleet drives the same decideReplicas and learns: a profile from past office days warms the morning', () => {
    const day = generateTrace({ shape: 'office', seed: 21 });
    const profile = learnFromTraces([generateTrace({ shape: 'office', seed: 101, days: 3 })], POLICY_DEFAULTS, START);
    const morningCold = (spec: string, withProfile: boolean): number => {
      let cold = 0;
      simulate({
        trace: day, policy: policyFromSpec(spec, { startMs: START, ...(withProfile && profile ? { profile } : {}) }), coldStart: fixed(180), startMs: START,
        onServed: (i, w) => void (w > 2 && day.sessions[i]!.arrival > 8.5 * 3600 && day.sessions[i]!.arrival < 9.5 * 3600 && cold++),
      });
      return cold;
    };
    assert.ok(profile && profile.weekday.days.every((d) => d === 3), 'three weekdays learned');
    assert.ok(morningCold('sdfleet', true) < morningCold('sdfleet', false), 'fewer cold starts in the morning ramp');
  });

  it('history: a generated week keeps its weekends; a recorded day is laid on days of the start\'s kind', () => {
    const week = generateTrace({ shape: 'office', seed: 102, days: 7 });
    const p = learnFromTraces([week], POLICY_DEFAULTS, START)!;
    assert.ok(p.weekday.days.every((d) => d === 5) && p.weekend.days.every((d) => d === 2), 'five weekdays, two weekend days');
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    assert.ok(sum(p.weekend.mean) < sum(p.weekday.mean) / 4, 'the quiet weekend is not mixed into the weekdays');
    const { startWeekday: _, ...recorded } = generateTrace({ shape: 'office', seed: 103 });
    const q = learnFromTraces([recorded, recorded], POLICY_DEFAULTS, START)!;
    assert.ok(q.weekday.days.every((d) => d === 2) && q.weekend.days.every((d) => d === 0), 'two weekdays (START is a Monday), no weekend');
  });

  it('a perfect history: the profile of a rate holds each quarter\'s expected arrivals, on the policy\'s clock', () => {
    const p = profileFromRate(expectedRate({ shape: 'office' }), POLICY_DEFAULTS, START);
    assert.ok(Math.abs(p.weekday.mean[40]! - 9) < 1e-9, `10:00–10:15 on a weekday: ${p.weekday.mean[40]}`);
    assert.ok(Math.abs(p.weekend.mean[40]! - 0.9) < 1e-9, `on a weekend: ${p.weekend.mean[40]}`);
    // 08:30 steps from 0.35 to 12 an hour, then ramps to 36 by 09:30: 15 an hour on average in its first quarter.
    assert.ok(Math.abs(p.weekday.mean[33]! - 0.0875) < 1e-9, `08:15–08:30 is still night: ${p.weekday.mean[33]}`);
    assert.ok(Math.abs(p.weekday.mean[34]! - 3.75) < 1e-9, `08:30–08:45, the ramp: ${p.weekday.mean[34]}`);
    assert.ok(p.weekday.days.every((d) => d >= 100) && p.weekend.days.every((d) => d >= 100));
    // New York is UTC−5 in January: its 05:00–05:15 quarter is UTC 10:00–10:15.
    const ny = profileFromRate(expectedRate({ shape: 'office' }), parsePolicyConfig({ timeZone: 'America/New_York' }), START);
    assert.ok(Math.abs(ny.weekday.mean[20]! - 9) < 1e-9, `local 05:00: ${ny.weekday.mean[20]}`);
  });

  it('sdfleet keeps every session on every shape: served or reported (release-time shrink and grow on arrival off and on)', () => {
    for (const shape of ['burst', 'zones', 'nights', 'meetings'] as const) {
      for (const [shrink, grow] of [[false, false], [true, false], [true, true]] as const) {
        const trace = generateTrace({ shape, seed: 4, days: shape === 'nights' ? 3 : 1 });
        const served = new Set<number>();
        const config = { ...POLICY_DEFAULTS, shrinkOnRelease: shrink, growOnArrival: grow };
        const r = simulate({ trace, policy: sdfleetPolicy({ config, startMs: START }), coldStart: fixed(180), startMs: START, onServed: (i) => served.add(i) });
        const what = `${shape}${shrink ? ', shrink on release' : ''}${grow ? ', grow on arrival' : ''}`;
        assert.equal(r.sessions, trace.sessions.length);
        assert.equal(r.served + r.unserved, r.sessions, `${what}: conservation`);
        assert.equal(served.size, r.served, `${what}: each served once`);
        assert.equal(r.unserved, 0, `${what}: nobody left waiting`);
        assert.equal(r.releaseShrinks > 0, shrink, `${what}: release-time shrinks only when asked`);
        assert.equal(r.arrivalGrows > 0, grow, `${what}: arrival grows only when asked`);
      }
    }
  });

  it('release-time shrink: a session end the policy would not refill creates no replacement; one after a take is refilled', () => {
    // "Buffer 1" as a policy (allocated + 1), asked again at each release; cold start 100 s, sync 30 s.
    // a 10–110, b 140–340, c 335–1335. Without: the Fleet refills after a (#2 at 110, deleted
    // by the sync at 120) and after c (#5 at 1335, deleted at 1350). With: neither is created;
    // after b it still refills (c took the buffer at 335, since the sync at 330, so the policy
    // wants the slot: #4 at 340, 20 s before the sync at 360 would have started it).
    const trace: Trace = { name: 'release', sessions: [
      { arrival: 10, duration: 100, user: 'a' },
      { arrival: 140, duration: 200, user: 'b' },
      { arrival: 335, duration: 1000, user: 'c' },
    ] };
    const decide: SimPolicy['decide'] = (review) => (review.status.allocatedReplicas ?? 0) + 1;
    const plain: SimPolicy = { name: 'plain', decide };
    const releases: { allocated: number; spec: number; to: number }[] = [];
    const shrinking: SimPolicy = {
      name: 'shrink', decide,
      release: (review, demand, specReplicas) => {
        const r = shrinkOnRelease({ specReplicas, liveAfter: review.status.replicas ?? 0, decision: { replicas: decide(review, demand), code: 'demand' } });
        releases.push({ allocated: review.status.allocatedReplicas ?? 0, spec: specReplicas, to: r.replicas });
        return r.replicas;
      },
    };
    const run = (policy: SimPolicy) => {
      const waits: number[] = [];
      const r = simulate({ trace, policy, coldStart: fixed(100), syncSeconds: 30, startMs: START, horizonSeconds: 2000, onServed: (i, w) => (waits[i] = w) });
      return { r, waits };
    };
    const off = run(plain);
    const on = run(shrinking);
    assert.deepEqual(off.waits, [0, 0, 0]);
    assert.deepEqual(on.waits, [0, 0, 0], 'nobody waits longer');
    assert.equal(off.r.created, 6);
    assert.equal(on.r.created, 4, 'the two refills the next sync would delete are never created');
    assert.equal(off.r.releaseShrinks, 0);
    assert.equal(on.r.releaseShrinks, 2);
    assert.deepEqual(releases, [{ allocated: 0, spec: 2, to: 1 }, { allocated: 1, spec: 2, to: 2 }, { allocated: 0, spec: 2, to: 1 }]);
    const s = (x: number): number => Math.round(x * 3600);
    assert.equal(s(off.r.idleBy.droppedStarting), 10 + 15);
    assert.equal(s(on.r.idleBy.droppedStarting), 0);
    assert.equal(s(off.r.idleGpuHours) - s(on.r.idleGpuHours), 25, 'the idle time saved is exactly the refills\' starting time');
    assert.equal(on.r.served + on.r.unserved, on.r.sessions);
  });

  it('grow on arrival: a taken instance is replaced at the take, not at the next sync', () => {
    // "Buffer 1" as a policy (allocated + 1); cold start 100 s, sync 30 s. #1 starts at the
    // first sync (0) and is Ready at 100; a takes it at 155. Without: the sync at 180 starts
    // #2 (Ready 280) and b, arriving at 260, waits 20 s. With: a's arrival grows the Fleet
    // to 2 at once, #2 is Ready at 255 and b takes it on arrival.
    const trace: Trace = { name: 'grow', sessions: [
      { arrival: 155, duration: 1000, user: 'a' },
      { arrival: 260, duration: 1000, user: 'b' },
    ] };
    const decide: SimPolicy['decide'] = (review) => (review.status.allocatedReplicas ?? 0) + 1;
    const asked: { allocated: number; spec: number }[] = [];
    const growing: SimPolicy = {
      name: 'grow', decide,
      arrival: (review, demand, specReplicas) => {
        asked.push({ allocated: review.status.allocatedReplicas ?? 0, spec: specReplicas });
        return growOnArrival({ specReplicas, decision: { replicas: decide(review, demand), code: 'demand' } }).replicas;
      },
    };
    const run = (policy: SimPolicy) => {
      const waits: number[] = [];
      const r = simulate({ trace, policy, coldStart: fixed(100), syncSeconds: 30, startMs: START, horizonSeconds: 1500, onServed: (i, w) => (waits[i] = w) });
      return { r, waits };
    };
    const off = run({ name: 'plain', decide });
    const on = run(growing);
    assert.deepEqual(off.waits.map(Math.round), [0, 20]);
    assert.deepEqual(on.waits, [0, 0], 'b finds the replacement Ready');
    assert.equal(off.r.arrivalGrows, 0);
    assert.equal(on.r.arrivalGrows, 2, 'each arrival took the buffer: each grew the Fleet');
    assert.deepEqual(asked, [{ allocated: 1, spec: 1 }, { allocated: 2, spec: 2 }], 'asked after the take, with the replicas as they were');
    assert.equal(on.r.served + on.r.unserved, on.r.sessions);
  });

  it('is quick: a day, 14 policies, well under the bench budget', () => {
    const trace = generateTrace({ shape: 'office', seed: 3 });
    const t0 = performance.now();
    for (const s of ['buffer:0', 'buffer:1', 'buffer:2', 'buffer:3', 'buffer:4', 'buffer:5', 'buffer:6', 'buffer:7', 'buffer:8', 'buffer:9', 'buffer:10', 'buffer:11', 'buffer:12', 'sdfleet']) {
      simulate({ trace, policy: policyFromSpec(s, { startMs: START }), coldStart: fixed(180), startMs: START });
    }
    assert.ok(performance.now() - t0 < 20_000);
  });
});
