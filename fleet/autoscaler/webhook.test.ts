/** The webhook's HTTP contract, as Agones' Webhook policy calls it, over a fake demand and a memory store. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_SESSION } from '../agones/metadata.ts';
import type { GameServer } from '../agones/types.ts';
import type { DemandViews, QueueEntryLike } from './demand.ts';
import { AutoscalerService } from './service.ts';
import { MemoryStore } from './store.ts';
import { webhookHandler } from './webhook.ts';

let now = Date.UTC(2024, 0, 8, 10);
const queue: QueueEntryLike[] = [];
const gameServers: GameServer[] = [];
let synced = true;
const views: DemandViews = {
  synced: () => synced,
  queue: { entries: () => queue },
  gameServers: { all: () => gameServers },
  profiles: [{ name: 'default', selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }] }],
  fleetLabels: (_ns, name) => Promise.resolve(name === 'sd-webui' ? {} : undefined),
};

function review(status: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaleReview', request: { uid: 'u-1', name: 'sd-webui', namespace: 'default', status, ...extra } };
}

describe('FleetAutoscaler webhook', () => {
  const store = new MemoryStore();
  let service: AutoscalerService;
  let server: http.Server;
  let url = '';
  interface Answer {
    response: { uid: string; scale: boolean; replicas: number };
    error: { code: string; message: string };
  }
  const post = async (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST'): Promise<{ status: number; body: Answer; headers: Headers }> => {
    const res = await fetch(url, { method, headers, ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Answer, headers: res.headers };
  };

  before(async () => {
    service = new AutoscalerService({ views, store, log: silentLogger(), now: () => now, saveEveryMs: 0, policyEveryMs: 0 });
    server = http.createServer(webhookHandler(service, silentLogger()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await service.stop();
  });

  it('answers a review with {response:{uid, scale, replicas}}', async () => {
    const r = await post(review({ replicas: 3, readyReplicas: 3, reservedReplicas: 0, allocatedReplicas: 0 }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.body, { apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaleReview', response: { uid: 'u-1', scale: true, replicas: 0 } });
    assert.match(service.status()[0]!.reason, /scaled to zero/);
  });

  it('scale is false when the fleet already has the answer', async () => {
    const r = await post(review({ replicas: 0, allocatedReplicas: 0 }));
    assert.deepEqual(r.body.response, { uid: 'u-1', scale: false, replicas: 0 });
  });

  it('a queue raises the replicas: every waiting user, plus warm ones for the rate', async () => {
    now += 30_000;
    queue.push(...[1, 2, 3, 4].map((i) => ({ profile: 'default', sessionId: `q${i}`, queuedAt: new Date(now - i * 10_000).toISOString() })));
    gameServers.push({
      apiVersion: 'agones.dev/v1', kind: 'GameServer', spec: {}, status: { state: 'Allocated' },
      metadata: { name: 'a', namespace: 'default', labels: { 'agones.dev/fleet': 'sd-webui' }, annotations: { [ANNOTATION_SESSION]: 's1', [ANNOTATION_ALLOCATED_AT]: new Date(now - 60_000).toISOString() } },
    } as GameServer);
    const r = await post(review({ replicas: 1, allocatedReplicas: 1 }));
    assert.equal(r.status, 200);
    assert.ok(r.body.response.replicas >= 1 + 4 + 1, `got ${r.body.response.replicas}`);
    assert.equal(r.body.response.scale, true);
    assert.match(service.status()[0]!.reason, /1 allocated \+ 4 queued/);
  });

  it('keeps the history in the store and finds it again after a restart', async () => {
    assert.ok(store.saves > 0);
    const saved = store.histories.get('default/sd-webui')!;
    assert.equal(saved.arrivals.length, 5);
    const again = new AutoscalerService({ views: { ...views, queue: { entries: () => [] }, gameServers: { all: () => [] } }, store, log: silentLogger(), now: () => now + 1000 });
    const r = await again.review(review({ replicas: 6, allocatedReplicas: 1 }));
    assert.equal(r.status, 200);
    assert.equal(again.status()[0]!.arrivalsKept, 5, 'the arrivals came back from the store');
    assert.equal(again.status()[0]!.code, 'demand', 'the recent rate still asks for warm ones');
  });

  it('a replica that is not the writer does not write', async () => {
    const other = new MemoryStore();
    const reader = new AutoscalerService({ views, store: other, log: silentLogger(), now: () => now, isWriter: () => false, saveEveryMs: 0 });
    await reader.review(review({ replicas: 1, allocatedReplicas: 1 }));
    await reader.stop();
    assert.equal(other.saves, 0);
  });

  it('the policy ConfigMap applies, and a broken one is said, not obeyed', async () => {
    store.policies.set('default', 'minReplicas: 9\nmaxReplicas: 9\n');
    const r = await post(review({ replicas: 1, allocatedReplicas: 1 }));
    assert.equal(r.body.response.replicas, 9);
    store.policies.set('default', 'maxReplicas: lots\n');
    const bad = await post(review({ replicas: 1, allocatedReplicas: 1 }));
    assert.equal(bad.status, 200);
    assert.notEqual(bad.body.response.replicas, 9);
    assert.match(service.status()[0]!.reason, /maxReplicas.*ignored until fixed/);
    store.policies.delete('default');
  });

  it('demand unknown (informers not listed): Buffer-like, and why', async () => {
    synced = false;
    try {
      const r = await post(review({ replicas: 1, allocatedReplicas: 1 }));
      assert.equal(r.status, 200);
      assert.equal(r.body.response.replicas, 3);
      assert.equal(service.status()[0]!.code, 'fallback');
      assert.match(service.status()[0]!.reason, /fallback to Buffer 2.*not listed yet/);
    } finally {
      synced = true;
    }
  });

  const malformed: [string, unknown, RegExp][] = [
    ['not JSON', '{"request":', /the body is not JSON/],
    ['not an object', [1, 2], /not a JSON object/],
    ['another kind', { kind: 'AdmissionReview', request: {} }, /kind is "AdmissionReview", not FleetAutoscaleReview/],
    ['no request', { kind: 'FleetAutoscaleReview' }, /"request" is missing/],
    ['no uid', review({ replicas: 1 }, { uid: '' }), /request.uid must be a non-empty string/],
    ['no name', review({ replicas: 1 }, { name: 3 }), /request.name must be the Fleet's name/],
    ['no status', review({}, { status: 'ready' }), /request.status must be the Fleet's status object/],
    ['a bad count', review({ replicas: 1, allocatedReplicas: -2 }), /request.status.allocatedReplicas must be a whole number from 0 to 2147483647 .*, got -2/],
    // Found by test/fuzz/autoscaler-webhook.test.ts: such counts gave a 200 with replicas past 2^53 (and past Agones' int32).
    ['a count past int32', review({ replicas: 1, reservedReplicas: Number.MAX_SAFE_INTEGER }), /request.status.reservedReplicas must be a whole number from 0 to 2147483647 \(a Fleet's counts are int32\), got 9007199254740991/],
    ['bad labels', review({ replicas: 1 }, { labels: { a: 1 } }), /request.labels must map strings to strings/],
  ];
  for (const [name, body, message] of malformed) {
    it(`malformed review (${name}) → 400 with a message`, async () => {
      const r = await post(body);
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'bad_request');
      assert.match(r.body.error.message, message);
    });
  }

  it('only POST, only JSON, only small', async () => {
    const get = await post(undefined, {}, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const text = await post('x', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    const big = await post(JSON.stringify({ pad: 'x'.repeat(70_000) }));
    assert.equal(big.status, 413);
  });

  it('a body declared too large is refused at once, before it is sent, and the connection closed', async () => {
    const { hostname, port } = new URL(url);
    const answer = await new Promise<{ status: number; closed: boolean }>((resolve, reject) => {
      const req = http.request({ host: hostname, port, method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'content-length': 999_999_999 } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, closed: res.headers.connection === 'close' }));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => reject(new Error('no answer within 5 s: the server waits for the body')));
      req.flushHeaders(); // headers only: the body never comes
    });
    assert.deepEqual(answer, { status: 413, closed: true });
  });
});
