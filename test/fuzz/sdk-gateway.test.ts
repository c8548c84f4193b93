/**
 * Malformed input to the SDK's HTTP gateway (fleet/sdk-server/http-gateway.ts): random
 * methods, paths, queries, headers and bodies must get a 4xx in grpc-gateway's error shape
 * (`{code, message, details}`) or a 2xx, never a 5xx and never a crash. The one 5xx by
 * design is 501 for Agones' alpha player tracking, which sdfleet does not offer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { requestUrl } from '../../fleet/sdk-server/http-gateway.ts';
import { sdkFixture, type SdkFixture } from '../../fleet/sdk-server/testing.ts';
import {
  FuzzClient, RUNS, Tally, bodyArb, describeRequest, fuzzParams, gatewayError, headersArb, methodArb, mutated, pathArb, problemWith, queryArb, segmentArb,
  type FuzzRequest,
} from './http-fuzz.ts';

const ROUTES = ['/ready', '/allocate', '/shutdown', '/health', '/reserve', '/gameserver', '/watch/gameserver', '/metadata/label', '/metadata/annotation'];
const WORDS = ['v1beta1', 'counters', 'lists', 'rooms', 'players', 'players:addValue', 'players:removeValue', 'rooms:addValue', 'alpha', 'player', 'count', 'metadata', 'label', 'annotation', 'watch', 'gameserver', '__proto__', 'constructor', 'toString', 'valueOf:addValue'];
const BASES = ['', '/v1beta1/counters', '/v1beta1/lists', '/alpha', '/metadata', '/watch', ...ROUTES];
const EXTRA_PATHS = [
  '//', '//[', '//a:b@c', '//x/ready', '/%2e%2e/ready', '/ready/..', '/ready%00', '/v1beta1/counters/%', '/v1beta1/counters/%E0%A4%A', '/v1beta1/lists/%zz:addValue',
  'http://sdk/ready', 'http://[::1/ready', '/v1beta1/counters/rooms%2F..', '/./ready', '/ready?', '/ready#x',
];
const ROUTED: [string, string, unknown][] = [
  ['POST', '/ready', {}], ['POST', '/allocate', {}], ['POST', '/health', {}], ['POST', '/shutdown', {}], ['POST', '/reserve', { seconds: '5' }], ['GET', '/gameserver', {}],
  ['PUT', '/metadata/label', { key: 'foo', value: 'bar' }], ['PUT', '/metadata/annotation', { key: 'note', value: 'a b' }],
  ['GET', '/v1beta1/counters/rooms', {}], ['PATCH', '/v1beta1/counters/rooms', { count: '3', capacity: '20', countDiff: 1 }],
  ['GET', '/v1beta1/lists/players', {}], ['PATCH', '/v1beta1/lists/players', { capacity: '5', values: ['x', 'y'] }],
  ['POST', '/v1beta1/lists/players:addValue', { value: 'b' }], ['POST', '/v1beta1/lists/players:removeValue', { value: 'b' }],
];
const KEYS = ['seconds', 'key', 'value', 'count', 'capacity', 'countDiff', 'values', 'name', 'update_mask'];

/** Player tracking is not offered: 501 with a reason, as the gRPC side answers UNIMPLEMENTED (the path as the gateway reads it: `/..\../alpha/x` is /alpha/x). */
const alphaUnimplemented = (r: FuzzRequest, a: { status: number }): boolean => a.status === 501 && requestUrl(r.path).pathname.startsWith('/alpha/');

describe('SDK HTTP gateway: malformed input (fuzz)', () => {
  let f: SdkFixture;
  let client: FuzzClient;
  before(async () => {
    f = await sdkFixture({
      gs: { status: { state: 'Scheduled', counters: { rooms: { count: 1, capacity: 10 } }, lists: { players: { capacity: 100, values: ['a'] } } } },
    });
    client = new FuzzClient(`http://127.0.0.1:${f.server.httpPort}`);
  });
  after(async () => {
    await client.close();
    await f.close();
  });

  it(`${RUNS} random requests: a 4xx with {code, message, details} or a 2xx, never a 5xx`, { timeout: 240_000 }, async (t) => {
    const tally = new Tally();
    // Real routes with their own bodies, mutated, most of the time; anything at all otherwise.
    const routed = fc.constantFrom(...ROUTED).chain(([method, path, sample]) =>
      fc.record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: methodArb }),
        path: fc.oneof({ weight: 9, arbitrary: fc.constant(path) }, { weight: 1, arbitrary: segmentArb(WORDS).map((x) => `${path}${x}`) }),
        query: queryArb(['update_mask', 'updateMask', 'x']),
        headers: fc.oneof({ weight: 3, arbitrary: fc.constant({ 'content-type': 'application/json' }) }, { weight: 1, arbitrary: headersArb }),
        body: fc.oneof({ weight: 4, arbitrary: mutated(sample).map((v) => JSON.stringify(v)) }, { weight: 1, arbitrary: bodyArb(KEYS) }),
      }));
    const anything = fc.record({
      method: methodArb,
      path: pathArb(BASES, WORDS, EXTRA_PATHS),
      query: queryArb(['update_mask', 'updateMask', 'x', 'seconds']),
      headers: headersArb,
      body: bodyArb(KEYS, { overLimit: (1 << 20) + 10, samples: ROUTED.map(([, , sample]) => sample) }),
    });
    const request: fc.Arbitrary<FuzzRequest> = fc
      .oneof({ weight: 3, arbitrary: routed }, { weight: 2, arbitrary: anything })
      .map(({ method, path, query, headers, body }) => ({ method, path: path.includes('?') ? path : path + query, headers, body }));
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const a = await client.send(r);
        tally.add(a.status);
        const problem = problemWith(r, a, gatewayError, alphaUnimplemented);
        if (problem) throw new Error(`${describeRequest(r)} → ${problem}`);
      }),
      fuzzParams(),
    );
    t.diagnostic(`answers by status: ${tally.toString()}`);
    // The mix reached the handlers, not only the router.
    if (RUNS >= 1000) for (const code of [200, 400, 404]) assert.ok(tally.count(code) > 0, `no ${code} among ${tally.toString()}`);
    const alive = await fetch(`http://127.0.0.1:${f.server.httpPort}/gameserver`);
    assert.equal(alive.status, 200, 'the gateway still answers');
    await alive.body?.cancel();
  });
});
