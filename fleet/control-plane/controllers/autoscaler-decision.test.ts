import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyBuffer } from './autoscaler-decision.ts';

describe('Buffer policy', () => {
  const table = [
    { name: 'absolute buffer above allocated', status: { allocatedReplicas: 3 }, b: { bufferSize: 2, maxReplicas: 10 }, want: { replicas: 5, limited: false } },
    { name: 'reserved does not count (as Agones)', status: { allocatedReplicas: 1, reservedReplicas: 4 }, b: { bufferSize: 2, maxReplicas: 10 }, want: { replicas: 3, limited: false } },
    { name: 'min holds it up', status: { allocatedReplicas: 0 }, b: { bufferSize: 1, minReplicas: 3, maxReplicas: 10 }, want: { replicas: 3, limited: true } },
    { name: 'max holds it down', status: { allocatedReplicas: 9 }, b: { bufferSize: 5, maxReplicas: 10 }, want: { replicas: 10, limited: true } },
    { name: 'percent: 8 allocated, 30% buffer → 12', status: { allocatedReplicas: 8 }, b: { bufferSize: '30%', maxReplicas: 100 }, want: { replicas: 12, limited: false } },
    { name: 'percent with nothing allocated → 0, then min', status: {}, b: { bufferSize: '50%', minReplicas: 1, maxReplicas: 5 }, want: { replicas: 1, limited: true } },
  ];
  for (const t of table) it(t.name, () => assert.deepEqual(applyBuffer(t.status, t.b), t.want));

  it('refuses a malformed or impossible percentage', () => {
    assert.throws(() => applyBuffer({}, { bufferSize: 'ten', maxReplicas: 1 }), /neither a whole number nor a percentage/);
    assert.throws(() => applyBuffer({}, { bufferSize: '100%', maxReplicas: 1 }), /below 100%/);
  });
});
