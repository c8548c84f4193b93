import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import type { KubeClients } from '../kube/clients.ts';
import { TrafficRecorder } from './activity.ts';
import { ANNOTATION_LAST_TRAFFIC } from './model.ts';

/** A recorder whose API client keeps the patches it is asked for. */
function recorder(recorded: Map<string, number>, everyMs = 30_000) {
  const writes: { gameServer: string; lastTraffic: string }[] = [];
  const k = {
    namespace: 'default',
    custom: {
      patchNamespacedCustomObject: async (req: { name: string; body: { metadata: { annotations: Record<string, string> } } }) => {
        writes.push({ gameServer: req.name, lastTraffic: req.body.metadata.annotations[ANNOTATION_LAST_TRAFFIC]! });
        return {};
      },
    },
  } as unknown as KubeClients;
  const r = new TrafficRecorder({ k, log: silentLogger(), everyMs, recorded: (gs) => recorded.get(gs) });
  return { r, writes };
}

test('a session’s first requests, right after its allocation, write nothing: the allocation time records them', async () => {
  const t0 = Date.now() - 5_000;
  const { r, writes } = recorder(new Map([['gs-1', t0]]));
  r.touch('gs-1', t0 + 50);
  r.touch('gs-1', t0 + 4_000);
  await r.flush();
  assert.deepEqual(writes, []);
  assert.equal(r.lastSeen('gs-1'), t0 + 4_000, 'this replica still knows the traffic');
});

test('traffic an interval newer than the record is written, once per interval', async () => {
  const t0 = Date.now() - 40_000;
  const recorded = new Map([['gs-1', t0]]);
  const { r, writes } = recorder(recorded);
  r.touch('gs-1', t0 + 31_000);
  await r.flush();
  assert.deepEqual(writes, [{ gameServer: 'gs-1', lastTraffic: new Date(t0 + 31_000).toISOString() }]);
  // Newer traffic within the interval of that write waits for the next one.
  r.touch('gs-1', t0 + 35_000);
  await r.flush();
  assert.equal(writes.length, 1);
});

test('a GameServer the registry does not know yet is written as before', async () => {
  const { r, writes } = recorder(new Map());
  const at = Date.now() - 1_000;
  r.touch('gs-2', at);
  await r.flush();
  assert.deepEqual(writes, [{ gameServer: 'gs-2', lastTraffic: new Date(at).toISOString() }]);
});

test('on stop, every traffic newer than the record is written, and none that is not', async () => {
  const now = Date.now();
  const { r, writes } = recorder(new Map([['gs-new', now - 10_000], ['gs-old', now - 1_000]]));
  r.touch('gs-new', now - 2_000);
  r.touch('gs-old', now - 3_000);
  await r.flush(true);
  assert.deepEqual(writes, [{ gameServer: 'gs-new', lastTraffic: new Date(now - 2_000).toISOString() }]);
});
