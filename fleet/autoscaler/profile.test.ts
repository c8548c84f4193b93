import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock } from './clock.ts';
import { dayRates, emptyProfile, learn, parseProfile, profileExpected, profileForStorage, profileRate } from './profile.ts';

const H = 3_600_000;
const MIN = 60_000;
const MONDAY = Date.UTC(2024, 0, 8);
const clock = new Clock('UTC');
const spread = (n: number, from: number, to: number): number[] => Array.from({ length: n }, (_, i) => from + ((i + 0.5) * (to - from)) / n);

describe('day profile', () => {
  it('learns each quarter of each day, weekdays apart from weekends', () => {
    const arrivals = [...spread(8, MONDAY + 9 * H, MONDAY + 9 * H + 15 * MIN), ...spread(4, MONDAY + 5 * 24 * H + 9 * H, MONDAY + 5 * 24 * H + 9.25 * H)];
    const p = learn(emptyProfile('UTC', MONDAY), clock, arrivals, MONDAY + 7 * 24 * H, MONDAY);
    assert.equal(p.weekday.mean[36], 8 / 5, 'Mon 09:00: 8, then four empty weekdays: a running mean');
    assert.equal(p.weekday.days[36], 5);
    assert.equal(p.weekend.mean[36], 4 / 2);
    assert.equal(p.learnedUntil, MONDAY + 7 * 24 * H);
  });

  it('after the first days an exponential average (a changed habit shows)', () => {
    let p = emptyProfile('UTC', MONDAY);
    for (let d = 0; d < 20; d++) {
      const day = MONDAY + d * 7 * 24 * H; // Mondays only, 20 weeks
      p = learn({ ...p, learnedUntil: day }, clock, spread(d < 10 ? 4 : 12, day + 9 * H, day + 9.25 * H), day + 24 * H, day);
    }
    // 12 − 8 × (7/8)^10 ≈ 9.9; a plain mean of the 20 weeks would say 8.
    assert.ok(p.weekday.mean[36]! > 9.5, `moving to the new habit: ${p.weekday.mean[36]}`);
  });

  it('skips what was not known instead of counting it empty', () => {
    const p = learn(emptyProfile('UTC', MONDAY), clock, [], MONDAY + 24 * H, MONDAY + 12 * H);
    assert.equal(p.weekday.days[0], 0);
    assert.equal(p.weekday.days[48], 1);
  });

  it('rates: busy hours keep their shape, quiet hours are read wide, the unknown is unknown', () => {
    const arrivals: number[] = [];
    for (let d = 0; d < 5; d++) {
      arrivals.push(...spread(120, MONDAY + d * 24 * H + 9 * H, MONDAY + d * 24 * H + 13 * H));
      arrivals.push(MONDAY + d * 24 * H + 3 * H + d * MIN); // one at 03:0x every night
    }
    arrivals.sort((a, b) => a - b);
    const p = learn(emptyProfile('UTC', MONDAY), clock, arrivals, MONDAY + 5 * 24 * H, MONDAY);
    const next = MONDAY + 7 * 24 * H;
    assert.ok(Math.abs(profileRate(p, clock, next + 11 * H)! - 30) < 1, 'mid-morning: 30/h');
    assert.ok(profileRate(p, clock, next + 8 * H)! < 3, 'before the ramp');
    const night = profileRate(p, clock, next + 3 * H)!;
    assert.ok(night > 0.1 && night < 1, `one a night near 03:00, spread over the quiet hours: ${night}`);
    assert.equal(profileRate(p, clock, MONDAY + 5 * 24 * H + 11 * H), undefined, 'no Saturday seen');
    assert.ok(Math.abs(profileExpected(p, clock, next + 10 * H, next + 12 * H)! - 60) < 2);
    assert.equal(dayRates(p, 'weekday').length, 96);
    assert.equal(dayRates(p, 'weekend').length, 0);
  });

  it('round-trips through storage and refuses a damaged one', () => {
    const p = learn(emptyProfile('UTC', MONDAY), clock, spread(7, MONDAY, MONDAY + H), MONDAY + 2 * H, MONDAY);
    const back = parseProfile(JSON.parse(JSON.stringify(profileForStorage(p))));
    assert.deepEqual(back.weekday.days, p.weekday.days);
    assert.throws(() => parseProfile({ ...p, weekday: { mean: [1], days: [1] } }), /stored day profile: weekday.mean/);
  });
});
