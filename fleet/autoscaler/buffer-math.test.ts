import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costForTarget, expectedWarm, poissonPmf, poissonTail, warmBufferFor, warmBufferForRisk } from './buffer-math.ts';

describe('buffer math', () => {
  it('Poisson pmf and tail', () => {
    assert.ok(Math.abs(poissonPmf(0, 2) - Math.exp(-2)) < 1e-12);
    assert.ok(Math.abs(poissonPmf(3, 2) - (8 * Math.exp(-2)) / 6) < 1e-12);
    assert.equal(poissonPmf(1, 0), 0);
    assert.equal(poissonPmf(0, 0), 1);
    assert.equal(poissonTail(0, 5), 1);
    assert.ok(Math.abs(poissonTail(1, 2) - (1 - Math.exp(-2))) < 1e-12);
    let sum = 0;
    for (let k = 0; k < 60; k++) sum += poissonPmf(k, 20);
    assert.ok(Math.abs(sum - 1) < 1e-9);
  });

  const table = [
    { name: 'no arrivals: none', rate: 0, lead: 0.05, cost: 3, want: 0 },
    { name: 'a trickle not worth a GPU: none', rate: 0.2, lead: 0.054, cost: 3, want: 0 },
    { name: 'a trickle worth it: one', rate: 0.5, lead: 0.054, cost: 3, want: 1 },
    // m = 1.94: the 7th is worth 36 × P(N = 6) × 3 = 1.16 GPU-h an hour, the 8th 0.32.
    { name: 'an office hour', rate: 36, lead: 0.054, cost: 3, want: 7 },
    { name: 'a cold start worth nothing: none', rate: 36, lead: 0.054, cost: 0.001, want: 0 },
    { name: 'a flood: mean and spread', rate: 100_000, lead: 0.01, cost: 3, want: Math.ceil(1000 + 3 * Math.sqrt(1000)) },
  ];
  for (const t of table) it(`warmBufferFor: ${t.name}`, () => assert.equal(warmBufferFor(t.rate, t.lead, t.cost), t.want));

  it('the buffer grows with the rate, the lead and the cost', () => {
    let prev = 0;
    for (const rate of [0.1, 1, 5, 10, 20, 40, 80, 160]) {
      const b = warmBufferFor(rate, 0.054, 3);
      assert.ok(b >= prev, `rate ${rate}: ${b} ≥ ${prev}`);
      prev = b;
    }
    assert.ok(warmBufferFor(30, 0.2, 3) > warmBufferFor(30, 0.05, 3));
    assert.ok(warmBufferFor(30, 0.054, 30) > warmBufferFor(30, 0.054, 1));
  });

  it('under heavy load the whole buffer is weighed, not its first step', () => {
    // m = 10: one warm instance alone avoids almost nothing (it is always taken), twelve do.
    assert.ok(warmBufferFor(200, 0.05, 3) > 10);
  });

  it('risk sizing: the smallest buffer whose tail is under the risk', () => {
    const m = 30 * 0.054;
    const b = warmBufferForRisk(30, 0.054, 0.01);
    assert.ok(poissonTail(b, m) <= 0.01);
    assert.ok(poissonTail(b - 1, m) > 0.01);
    assert.equal(warmBufferForRisk(0, 0.054, 0.01), 0);
  });

  it('costForTarget reaches the target over a day, and a higher target costs more', () => {
    const day = [...new Array<number>(34).fill(0.3), ...new Array<number>(40).fill(36), ...new Array<number>(22).fill(0.3)];
    const c99 = costForTarget(day, 0.054, 0.99)!;
    const c998 = costForTarget(day, 0.054, 0.998)!;
    assert.ok(expectedWarm(day, 0.054, c99) >= 0.99);
    assert.ok(expectedWarm(day, 0.054, c99 * 0.9) < 0.99, 'the cheapest such cost');
    assert.ok(c998 > c99);
    assert.ok(expectedWarm(day, 0.054, c998) >= 0.998);
    assert.equal(costForTarget(new Array<number>(96).fill(0), 0.054, 0.99), undefined);
  });
});
