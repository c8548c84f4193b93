import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growOnArrival, type ArrivalInput } from './grow.ts';

const cases: { name: string; input: ArrivalInput; replicas: number; grow: boolean }[] = [
  {
    name: 'a user took the last warm one: the policy wants its replacement now',
    input: { specReplicas: 5, decision: { replicas: 6, code: 'demand' } },
    replicas: 6, grow: true,
  },
  {
    name: 'three joined the queue: raised by all the policy wants at once',
    input: { specReplicas: 5, decision: { replicas: 9, code: 'queue' } },
    replicas: 9, grow: true,
  },
  {
    name: 'the first arrival of the morning at a Fleet scaled to zero',
    input: { specReplicas: 0, decision: { replicas: 2, code: 'demand' } },
    replicas: 2, grow: true,
  },
  {
    name: 'the buffer still covers the lead: nothing to add',
    input: { specReplicas: 5, decision: { replicas: 5, code: 'demand' } },
    replicas: 5, grow: false,
  },
  {
    name: 'the policy wants fewer: never lowered here (that is the sync\'s)',
    input: { specReplicas: 5, decision: { replicas: 3, code: 'demand' } },
    replicas: 5, grow: false,
  },
  {
    name: 'the policy fell back (signals missing): left to the sync',
    input: { specReplicas: 5, decision: { replicas: 8, code: 'fallback' } },
    replicas: 5, grow: false,
  },
  {
    name: 'unusable replicas: left to the sync',
    input: { specReplicas: Number.NaN, decision: { replicas: 3, code: 'demand' } },
    replicas: Number.NaN, grow: false,
  },
];

describe('growOnArrival', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = growOnArrival(c.input);
      assert.equal(r.grow, c.grow, r.reason);
      assert.deepEqual(r.replicas, c.replicas, r.reason);
      assert.ok(r.reason.length > 0);
    });
  }
});
