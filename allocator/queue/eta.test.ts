import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { etas, median, smallest, type EtaInput } from './eta.ts';

const NOW = 1_000_000;
const base: EtaInput = { now: NOW, startingCreatedAt: [], sessionEndsAt: [], coldStartMs: 180_000, scaleUpDelayMs: 30_000 };

const cases: { name: string; n: number; input: Partial<EtaInput>; want: number[] }[] = [
  { name: 'nothing on its way: the next sync and a cold start for everyone', n: 2, input: {}, want: [210_000, 210_000] },
  {
    name: 'an instance started a minute ago serves the first; the second waits for the sync',
    n: 2, input: { startingCreatedAt: [NOW - 60_000] }, want: [120_000, 210_000],
  },
  {
    name: 'an instance overdue is counted a second away, not in the past',
    n: 1, input: { startingCreatedAt: [NOW - 600_000] }, want: [1000],
  },
  {
    name: 'a session due to end frees an instance a cold start after its end',
    n: 1, input: { sessionEndsAt: [NOW + 10_000] }, want: [190_000],
  },
  {
    name: 'a session already past its end counts from now',
    n: 1, input: { sessionEndsAt: [NOW - 50_000] }, want: [180_000],
  },
  {
    name: 'the earliest supply first, whatever the order given; never later than the sync',
    n: 4, input: { startingCreatedAt: [NOW - 10_000], sessionEndsAt: [NOW + 20_000, NOW + 1_000, NOW + 90_000] },
    want: [170_000, 181_000, 200_000, 210_000],
  },
  { name: 'nobody waiting: no ETA', n: 0, input: { sessionEndsAt: [NOW] }, want: [] },
];

describe('etas', () => {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(etas(c.n, { ...base, ...c.input }), c.want));
  }

  it('takes the earliest ends out of 10,000 sessions as a full sort would', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ends = Array.from({ length: 10_000 }, () => NOW + Math.floor(rand() * 900_000));
    const sorted = [...ends].sort((a, b) => a - b);
    const got = etas(5, { ...base, sessionEndsAt: ends, scaleUpDelayMs: 10_000_000 });
    assert.deepEqual(got, sorted.slice(0, 5).map((e) => e + 180_000 - NOW));
  });
});

describe('smallest', () => {
  it('gives the k smallest in order, duplicates kept, for every k', () => {
    const xs = [5, 3, 9, 3, 1, 8, 7, 1, 2, 6, 4, 0, 9, 5, 2, 7, 8, 6, 4, 3];
    const sorted = [...xs].sort((a, b) => a - b);
    for (let k = 0; k <= xs.length + 2; k++) assert.deepEqual(smallest(k, xs), sorted.slice(0, k), `k = ${k}`);
  });

  it('leaves its input alone', () => {
    const xs = [3, 2, 1, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    smallest(1, xs);
    smallest(10, xs);
    assert.deepEqual(xs, [3, 2, 1, 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  });
});

describe('median', () => {
  it('of an odd and an even count, and of none', () => {
    assert.equal(median([5, 1, 3], 0), 3);
    assert.equal(median([4, 1, 3, 2], 0), 3); // (2 + 3) / 2, rounded
    assert.equal(median([], 42), 42);
  });
});
