import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countBetween, estimateRate, lowerBound } from './rate.ts';

const MIN = 60_000;
const NOW = 10_000 * MIN;
const opts = { windowsMinutes: [240, 60, 15, 5], priorStrength: 2 };
const spread = (n: number, from: number, to: number): number[] => Array.from({ length: n }, (_, i) => from + ((i + 0.5) * (to - from)) / n);

describe('arrival rate', () => {
  it('lowerBound and countBetween', () => {
    const xs = [1, 2, 2, 5, 9];
    assert.equal(lowerBound(xs, 2), 1);
    assert.equal(lowerBound(xs, 10), 5);
    assert.equal(countBetween(xs, 2, 9), 3);
    assert.equal(countBetween(xs, 9, 2), 0);
  });

  it('a steady rate reads as itself in every window', () => {
    const r = estimateRate(spread(240, NOW - 240 * MIN, NOW), NOW, opts);
    assert.equal(r.windows.length, 4);
    for (const w of r.windows) assert.ok(Math.abs(w.estimate - 60) < 3, `${w.minutes} min: ${w.estimate}`);
    assert.ok(Math.abs(r.perHour - 60) < 3);
  });

  it('nobody: zero, not a floor', () => {
    assert.equal(estimateRate([], NOW, opts).perHour, 0);
  });

  it('a lone arrival barely moves it; a surge does within minutes', () => {
    const lone = estimateRate([NOW - 2 * MIN], NOW, opts);
    assert.ok(lone.perHour < 1, `lone: ${lone.perHour}`);
    const surge = estimateRate([...spread(4, NOW - 240 * MIN, NOW - 10 * MIN), ...spread(10, NOW - 4 * MIN, NOW)], NOW, opts);
    assert.ok(surge.perHour > 30, `surge: ${surge.perHour}`);
  });

  it('a lull brings it down from the long windows', () => {
    const r = estimateRate(spread(120, NOW - 240 * MIN, NOW - 60 * MIN), NOW, opts);
    assert.ok(r.perHour < r.windows[0]!.estimate / 3, `${r.perHour} vs ${r.windows[0]!.estimate}`);
  });

  it('windows reaching before knownSince are shortened, or left out', () => {
    const r = estimateRate(spread(10, NOW - 10 * MIN, NOW), NOW, { ...opts, knownSince: NOW - 10 * MIN });
    assert.deepEqual(r.windows.map((w) => w.minutes), [240, 60, 15, 5]);
    assert.ok(Math.abs(r.windows[0]!.raw - 60) < 1e-9, 'the 4-hour window reads 10 in 10 minutes as 60/h');
    assert.equal(estimateRate([], NOW, { ...opts, knownSince: NOW }).windows.length, 0);
  });

  it('just after arrivals became known, a few in the first seconds read over the shortest window, not as thousands an hour', () => {
    const r = estimateRate([NOW - 4000, NOW - 1000], NOW, { ...opts, knownSince: NOW - 5000 });
    assert.ok(Math.abs(r.perHour - 24) < 1e-9, `2 arrivals known over 5 s read as 2 in 5 minutes: ${r.perHour}/h`);
    const later = estimateRate(spread(10, NOW - 10 * MIN, NOW), NOW, { ...opts, knownSince: NOW - 10 * MIN });
    assert.ok(Math.abs(later.windows[0]!.raw - 60) < 1e-9, 'past the shortest window the known part is the span');
  });

  it('arrivals after now do not count', () => {
    assert.equal(estimateRate([NOW + MIN], NOW, opts).perHour, 0);
  });
});
