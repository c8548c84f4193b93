import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from './coalesce.ts';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Coalescer', () => {
  it('runs once at the end of the turn for every ask made in it', async () => {
    let runs = 0;
    const c = new Coalescer({ task: () => void runs++, minGapMs: 0 });
    c.poke();
    c.poke();
    c.poke();
    assert.equal(runs, 0, 'not inside the turn that asked');
    await turn();
    assert.equal(runs, 1);
    c.poke();
    await turn();
    assert.equal(runs, 2, 'a later ask, a later run');
  });

  it('keeps runs at least the gap apart: a burst costs one run per gap, a quiet spell none', async () => {
    let clock = 0;
    const at: number[] = [];
    const c = new Coalescer({ task: () => void at.push(clock), minGapMs: 40, now: () => clock });
    c.poke();
    await turn();
    assert.deepEqual(at, [0], 'the first ask after quiet at once');
    clock = 10;
    c.poke();
    c.poke();
    await turn();
    assert.deepEqual(at, [0], 'within the gap: waits');
    clock = 40;
    await sleep(60);
    assert.deepEqual(at, [0, 40], 'once, when the gap is over');
    clock = 200;
    c.poke();
    await turn();
    assert.deepEqual(at, [0, 40, 200]);
  });

  it('starts no gap after a run that found nothing to do', async () => {
    let clock = 0;
    const at: number[] = [];
    let work = false;
    const c = new Coalescer({ task: () => (at.push(clock), work), minGapMs: 40, now: () => clock });
    c.poke();
    await turn();
    clock = 10;
    work = true;
    c.poke();
    await turn();
    assert.deepEqual(at, [0, 10], 'the first run did nothing: the next is not held back');
    clock = 20;
    c.poke();
    await turn();
    assert.deepEqual(at, [0, 10], 'this one did: the next waits');
    c.cancel();
  });

  it('runs nothing once cancelled', async () => {
    let runs = 0;
    const c = new Coalescer({ task: () => void runs++, minGapMs: 0 });
    c.poke();
    c.cancel();
    await sleep(10);
    assert.equal(runs, 0);
    c.poke();
    await turn();
    assert.equal(runs, 1, 'usable again after a cancel');
  });
});
