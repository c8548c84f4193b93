/**
 * Malformed input to the FleetAutoscaler webhook (fleet/autoscaler/webhook.ts), served as
 * `sdfleet autoscaler` serves it (POST /review and POST /_sdfleet/autoscaler/review): random
 * methods, paths, headers and bodies (mostly mutated FleetAutoscaleReviews) must get a 4xx
 * with `{"error":{"code","message"}}`, or a 200 whose response.replicas is a whole number
 * ≥ 0 with the request's uid; never a 5xx, never a crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { silentLogger } from '../../common/log.ts';
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_SESSION } from '../../fleet/agones/metadata.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import type { DemandViews, QueueEntryLike } from '../../fleet/autoscaler/demand.ts';
import { startAutoscalerServer, type RunningAutoscalerServer } from '../../fleet/autoscaler/server.ts';
import { AutoscalerService } from '../../fleet/autoscaler/service.ts';
import { MemoryStore } from '../../fleet/autoscaler/store.ts';
import { WEBHOOK_PATH } from '../../fleet/autoscaler/webhook.ts';
import {
  FuzzClient, RUNS, Tally, bodyArb, describeRequest, fuzzParams, headersArb, methodArb, mutated, pathArb, problemWith, queryArb, sdfleetError,
  type Answer, type FuzzRequest,
} from './http-fuzz.ts';

const now = Date.now();
const queue: QueueEntryLike[] = [1, 2, 3].map((i) => ({ profile: 'default', sessionId: `q${i}`, queuedAt: new Date(now - i * 10_000).toISOString() }));
const gameServers = [{
  apiVersion: 'agones.dev/v1', kind: 'GameServer', spec: {}, status: { state: 'Allocated' },
  metadata: { name: 'a', namespace: 'default', labels: { 'agones.dev/fleet': 'sd-webui' }, annotations: { [ANNOTATION_SESSION]: 's1', [ANNOTATION_ALLOCATED_AT]: new Date(now - 60_000).toISOString() } },
} as GameServer];
const views: DemandViews = {
  synced: () => true,
  queue: { entries: () => queue },
  gameServers: { all: () => gameServers },
  profiles: [{ name: 'default', selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }] }],
  fleetLabels: (_ns, name) => Promise.resolve(name === 'sd-webui' ? {} : undefined),
};

const REVIEW = {
  apiVersion: 'autoscaling.agones.dev/v1',
  kind: 'FleetAutoscaleReview',
  request: {
    uid: 'u-1', name: 'sd-webui', namespace: 'default',
    status: { replicas: 3, readyReplicas: 1, reservedReplicas: 0, allocatedReplicas: 2 },
    labels: { a: 'b' }, annotations: { c: 'd' },
  },
};
const KEYS = ['apiVersion', 'kind', 'request', 'response', 'uid', 'name', 'namespace', 'status', 'replicas', 'labels', 'annotations'];

/** A 200 must be a review answer Agones can apply. */
function badAnswer(r: FuzzRequest, a: Answer): string | undefined {
  if (a.status !== 200) return undefined;
  let body: { response?: { uid?: unknown; scale?: unknown; replicas?: unknown } };
  try {
    body = JSON.parse(a.text ?? '') as typeof body;
  } catch {
    return `a 200 that is not JSON: ${a.text?.slice(0, 200)}`;
  }
  const res = body.response;
  if (!res || typeof res.uid !== 'string' || typeof res.scale !== 'boolean') return `a 200 that is not a review answer: ${a.text?.slice(0, 200)}`;
  if (typeof res.replicas !== 'number' || !Number.isSafeInteger(res.replicas) || res.replicas < 0) return `response.replicas is ${JSON.stringify(res.replicas)}, not a whole number ≥ 0`;
  const sent = typeof r.body === 'string' ? (JSON.parse(r.body) as { request?: { uid?: unknown } }) : undefined;
  if (sent?.request?.uid !== res.uid) return `response.uid ${JSON.stringify(res.uid)} is not the request's`;
  return undefined;
}

describe('FleetAutoscaler webhook: malformed input (fuzz)', () => {
  let service: AutoscalerService;
  let server: RunningAutoscalerServer;
  let client: FuzzClient;
  before(async () => {
    service = new AutoscalerService({ views, store: new MemoryStore(), log: silentLogger(), saveEveryMs: 0, policyEveryMs: 0 });
    server = await startAutoscalerServer({ service, port: 0, metrics: new Registry(), log: silentLogger() });
    client = new FuzzClient(server.url);
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  it(`${RUNS} random requests: a 4xx with {error:{code,message}} or a sound 200, never a 5xx`, { timeout: 240_000 }, async (t) => {
    const tally = new Tally();
    const reviewish = fc.oneof(
      { weight: 5, arbitrary: mutated(REVIEW).chain((v) => fc.oneof(fc.constant(v), mutated(v))) },
      // Counts at the edges: huge, negative, fractional, strings.
      {
        weight: 2,
        arbitrary: fc
          .record({
            replicas: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom<unknown>(Number.MAX_SAFE_INTEGER, 1e300, -1, 0.5, '3', null)),
            readyReplicas: fc.oneof(fc.nat(), fc.constantFrom<unknown>(Number.MAX_SAFE_INTEGER, 1e300, -0)),
            allocatedReplicas: fc.oneof(fc.nat(), fc.constantFrom<unknown>(Number.MAX_SAFE_INTEGER, 1e300)),
            reservedReplicas: fc.oneof(fc.nat(), fc.constantFrom<unknown>(Number.MAX_SAFE_INTEGER, 1e300)),
          }, { requiredKeys: [] })
          .chain((status) => fc.tuple(fc.constantFrom('sd-webui', 'other', 'x'.repeat(300), '__proto__', 'constructor'), fc.string({ minLength: 1, maxLength: 8 }))
            .map(([name, uid]) => ({ ...REVIEW, request: { ...REVIEW.request, uid, name, status } }))),
      },
    ).map((v) => JSON.stringify(v));
    const request: fc.Arbitrary<FuzzRequest> = fc
      .record({
        method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: methodArb }),
        path: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('/review', WEBHOOK_PATH) },
          { weight: 1, arbitrary: pathArb(['', '/review', '/_sdfleet/autoscaler', '/status'], ['review', 'status', 'healthz', 'metrics', 'autoscaler', '_sdfleet']) },
        ),
        query: queryArb(['uid', 'timeout']),
        headers: fc.oneof({ weight: 3, arbitrary: fc.constant({ 'content-type': 'application/json' }) }, { weight: 2, arbitrary: headersArb }),
        body: fc.oneof({ weight: 3, arbitrary: reviewish }, { weight: 2, arbitrary: bodyArb(KEYS, { overLimit: 64 * 1024 }) }),
      })
      .map(({ method, path, query, headers, body }) => ({ method, path: path + query, headers, body }));
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const isReview = r.method === 'POST' && /^\/(review|_sdfleet\/autoscaler\/review)(\?|$)/.test(r.path);
        const a = await client.send(r, { readSuccess: isReview });
        tally.add(a.status);
        const problem = problemWith(r, a, sdfleetError) ?? (isReview ? badAnswer(r, a) : undefined);
        if (problem) throw new Error(`${describeRequest(r)} → ${problem}`);
      }),
      fuzzParams(),
    );
    t.diagnostic(`answers by status: ${tally.toString()}`);
    if (RUNS >= 1000) for (const code of [200, 400, 404, 405, 415]) assert.ok(tally.count(code) > 0, `no ${code} among ${tally.toString()}`);
    const alive = await fetch(`${server.url}/review`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(REVIEW) });
    assert.equal(alive.status, 200, 'the webhook still answers');
    await alive.body?.cancel();
  });
});
