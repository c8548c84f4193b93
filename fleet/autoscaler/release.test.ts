import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shrinkOnRelease, type ReleaseInput } from './release.ts';

interface Case {
  name: string;
  input: ReleaseInput;
  replicas: number;
  shrink: boolean;
}

const cases: Case[] = [
  {
    name: 'the policy wants one fewer: the freed slot is not refilled',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 12, code: 'demand' } },
    replicas: 12, shrink: true,
  },
  {
    name: 'the policy wants far fewer: still only the freed slot (deleting existing ones is the sync\'s)',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 5, code: 'demand' } },
    replicas: 12, shrink: true,
  },
  {
    name: 'the last session of the night ends and nobody is expected: down to zero',
    input: { specReplicas: 1, liveAfter: 0, decision: { replicas: 0, code: 'zero' } },
    replicas: 0, shrink: true,
  },
  {
    name: 'the buffer was taken since the last sync: the policy keeps the slot, the Fleet refills it',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 13, code: 'demand' } },
    replicas: 13, shrink: false,
  },
  {
    name: 'the hold keeps the buffer (scale-down delay): refilled',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 13, code: 'hold' } },
    replicas: 13, shrink: false,
  },
  {
    name: 'users queue: the policy wants more, never raised here (that is the sync\'s)',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 15, code: 'queue' } },
    replicas: 13, shrink: false,
  },
  {
    name: 'the policy fell back (signals missing): Agones\' refill',
    input: { specReplicas: 13, liveAfter: 12, decision: { replicas: 2, code: 'fallback' } },
    replicas: 13, shrink: false,
  },
  {
    name: 'the Fleet is at its replicas without the released one (it was over): no refill to prevent, a warm one is not deleted',
    input: { specReplicas: 10, liveAfter: 10, decision: { replicas: 8, code: 'demand' } },
    replicas: 10, shrink: false,
  },
  {
    name: 'unusable counts: left to the sync',
    input: { specReplicas: Number.NaN, liveAfter: 3, decision: { replicas: 1, code: 'demand' } },
    replicas: Number.NaN, shrink: false,
  },
  {
    name: 'a Fleet at zero has no slot to give back',
    input: { specReplicas: 0, liveAfter: 0, decision: { replicas: 0, code: 'zero' } },
    replicas: 0, shrink: false,
  },
];

describe('shrinkOnRelease', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = shrinkOnRelease(c.input);
      assert.equal(r.shrink, c.shrink, r.reason);
      assert.deepEqual(r.replicas, c.replicas, r.reason);
      if (r.shrink) {
        assert.equal(r.replicas, c.input.specReplicas - 1, 'only ever the freed slot');
        assert.ok(r.replicas >= c.input.decision.replicas, 'never below the policy');
      }
      assert.ok(r.reason.length > 0);
    });
  }
});
