/**
 * Malformed input to the allocator's REST API (allocator/api/, under /_sdfleet/api/v1),
 * with the rest of /_sdfleet around it (the autoscaler webhook, pages, health): random
 * methods, paths (dot segments, %-escapes, doubled slashes), queries, headers (content
 * types, encodings, origins, cookies, CSRF tokens) and bodies, from nobody, a signed-in
 * user (with and without the CSRF token) and an admin, must get a 4xx with
 * `{"error":{"code","message"}}`, a redirect, or a 2xx; never a 5xx, never a crash.
 * The allocator runs on an embedded control plane, as `sdfleet up` runs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { allocatorOn, Browser } from '../helpers/allocator.ts';
import { embeddedRig, type EmbeddedRig } from '../helpers/embedded.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import {
  FuzzClient, RUNS, Tally, bodyArb, describeRequest, fuzzParams, headerValueArb, headersArb, methodArb, mutated, pathArb, problemWith, queryArb, sdfleetError,
  type Answer, type FuzzRequest,
} from './http-fuzz.ts';

const API = '/_sdfleet/api/v1';
const ROUTES: [string, string][] = [
  ['POST', '/signin'], ['POST', '/signin/token'], ['POST', '/signout'], ['GET', '/me'], ['GET', '/profiles'], ['GET', '/openapi.json'],
  ['POST', '/sessions'], ['GET', '/sessions/me'], ['GET', '/sessions/x'], ['DELETE', '/sessions/x'], ['POST', '/sessions/x/keepalive'], ['DELETE', '/queue/me'],
  ['GET', '/images'], ['GET', '/images/file/a.png'], ['GET', '/admin/sessions'], ['GET', '/admin/queue'], ['GET', '/admin/overview'], ['GET', '/admin/fleets'],
  ['PUT', '/admin/fleets/sd-webui/scale'], ['PUT', '/fleets/sd-webui/scale'], ['GET', '/sessions'], ['GET', '/fleets'], ['GET', '/queue'],
];
const WORDS = ['signin', 'token', 'signout', 'me', 'profiles', 'sessions', 'keepalive', 'queue', 'images', 'file', 'admin', 'overview', 'fleets', 'scale', 'sd-webui', 'openapi.json', 'a.png', 'x.webp'];
const KEYS = ['name', 'profile', 'replicas', 'token'];
const SAMPLES = [{ name: 'alice' }, { profile: 'default' }, { replicas: 1 }, { token: 'abc' }, {}];

interface Caller {
  label: string;
  headers: Record<string, string>;
}

describe('allocator REST API: malformed input (fuzz)', () => {
  let rig: EmbeddedRig;
  let alloc: RunningAllocator;
  let client: FuzzClient;
  const callers: Caller[] = [];
  before(async () => {
    rig = await embeddedRig({ portRange: { min: 45000, max: 45999 } });
    alloc = await allocatorOn(rig);
    const user = await new Browser(alloc.url, 'fuzzer').signIn();
    const admin = await new Browser(alloc.url, 'admin').signIn();
    const origin = alloc.url;
    const cookieName = alloc.identity.cookieName;
    callers.push(
      { label: 'nobody', headers: {} },
      { label: 'nobody from our origin', headers: { origin } },
      { label: 'user', headers: { cookie: user.cookie, 'x-sdfleet-csrf': user.csrf!, origin } },
      { label: 'user without Origin', headers: { cookie: user.cookie, 'x-sdfleet-csrf': user.csrf! } },
      { label: 'user without CSRF token', headers: { cookie: user.cookie, origin } },
      { label: 'user with another CSRF token', headers: { cookie: user.cookie, 'x-sdfleet-csrf': admin.csrf!, origin } },
      { label: 'user from another site', headers: { cookie: user.cookie, 'x-sdfleet-csrf': user.csrf!, origin: 'http://evil.example' } },
      { label: 'user from Origin null', headers: { cookie: user.cookie, 'x-sdfleet-csrf': user.csrf!, origin: 'null' } },
      { label: 'user with a Referer', headers: { cookie: user.cookie, 'x-sdfleet-csrf': user.csrf!, referer: `${origin}/_sdfleet/` } },
      { label: 'admin', headers: { cookie: admin.cookie, 'x-sdfleet-csrf': admin.csrf!, origin } },
      { label: 'forged cookie', headers: { cookie: `${cookieName}=v1.eyJ2IjoxfQ.AAAA`, origin } },
      { label: 'garbage cookie', headers: { cookie: `${cookieName}=%%%; other=1`, origin } },
      { label: 'bearer', headers: { authorization: 'Bearer nope' } },
    );
    client = new FuzzClient(alloc.url);
  });
  after(async () => {
    await client?.close();
    await alloc?.stop();
    await rig?.close();
  });

  it(`${RUNS} random requests, signed in or not: a 4xx with {error:{code,message}}, a redirect or a 2xx; never a 5xx`, { timeout: 240_000 }, async (t) => {
    const tally = new Tally();
    const route = fc.constantFrom(...ROUTES);
    const path = fc.oneof(
      { weight: 5, arbitrary: route.map(([, p]) => `${API}${p}`) },
      { weight: 3, arbitrary: pathArb([API, `${API}/sessions`, `${API}/images/file`, `${API}/admin`, `${API}/admin/fleets`, `${API}/fleets`], WORDS) },
      {
        weight: 1,
        arbitrary: pathArb(['/_sdfleet', '/_sdfleet/autoscaler', '/_sdfleet/static', '/_sdfleet/api', '/_sdfleet/api/v2'], ['review', 'status', 'healthz', 'readyz', 'session', 'images', 'admin', 'api', 'v1', 'me', 'sdfleet.css', 'index.html']),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '/_sdfleet', '/_sdfleet/', '//_sdfleet/api/v1/me', '/_sdfleet//api/v1/me', '/_sdfleet/api/v1/../v1/me', '/_sdfleet/api/v1/%2e%2e/v1/me', '/_sdfleet/api/v1/images/file/..%2F..%2Fetc%2Fpasswd.png',
          '/_sdfleet/api/v1/images/file/%', '/_sdfleet/api/v1/images/file/%25', '/_sdfleet/api/v1/images/file/100%25.png', '/_sdfleet/api/v1/images/file/%E0%A4%A.png', '/_sdfleet/api/v1/images/file/a%00.png', '/_sdfleet/api/v1/images/file/%2Fetc%2Fpasswd.png',
          '/_sdfleet/api/v1/sessions/%', '/_sdfleet/api/v1/fleets/%zz/scale', '/_sdfleet/api/v1/admin/fleets/..%2F..%2Fgameservers/scale', '/_sdfleet/api/v1/admin/fleets/../scale',
          '/_sdfleet/static/%', '/_sdfleet/static/../pages.ts', '/_sdfleet/autoscaler/review', '/_sdfleet/autoscaler/status', '/_sdfleet/healthz', '/_sdfleet/api/v1/openapi.json?download',
        ),
      },
    );
    const request: fc.Arbitrary<FuzzRequest & { caller: string }> = fc
      .record({
        caller: fc.constantFrom(...callers),
        method: fc.oneof({ weight: 3, arbitrary: route.map(([m]) => m) }, { weight: 2, arbitrary: methodArb }),
        path,
        query: queryArb(['download', 'profile', 'name', 'replicas', 'x'], ['__proto__']),
        headers: fc.oneof(
          { weight: 3, arbitrary: fc.constant({ 'content-type': 'application/json', accept: 'application/json' }) },
          { weight: 2, arbitrary: headersArb },
          { weight: 1, arbitrary: fc.record({ origin: headerValueArb, referer: headerValueArb, 'x-sdfleet-csrf': headerValueArb, cookie: headerValueArb, authorization: headerValueArb, host: fc.constantFrom('evil.example', '127.0.0.1', '') }, { requiredKeys: [] }) },
        ),
        body: fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...SAMPLES).chain((s) => mutated(s)).map((v) => JSON.stringify(v)) },
          { weight: 4, arbitrary: bodyArb(KEYS, { overLimit: 16 * 1024 + 10, samples: SAMPLES }) },
        ),
      })
      .map(({ caller, method, path: p, query, headers, body }) => {
        const h: Record<string, string> = { ...caller.headers };
        for (const [k, v] of Object.entries(headers)) if (v !== '') h[k] = v;
        return { caller: caller.label, method, path: p.includes('?') ? p : p + query, headers: h, body };
      });
    // The /_sdfleet/admin page answers a signed-in non-admin with an HTML page, not JSON: it is a page.
    const isPage = (r: FuzzRequest, a: Answer): boolean => a.status === 403 && /^\/_sdfleet\/admin\/?(\?|$)/.test(r.path) && String(a.headers['content-type']).startsWith('text/html');
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const a = await client.send(r);
        tally.add(a.status);
        const problem = isPage(r, a) ? undefined : problemWith(r, a, sdfleetError);
        if (problem) throw new Error(`[${r.caller}] ${describeRequest(r)} → ${problem}`);
      }),
      fuzzParams(),
    );
    t.diagnostic(`answers by status: ${tally.toString()}`);
    if (RUNS >= 1000) for (const code of [200, 400, 401, 403, 404]) assert.ok(tally.count(code) > 0, `no ${code} among ${tally.toString()}`);
    const alive = await fetch(`${alloc.url}/_sdfleet/healthz`);
    assert.equal(alive.status, 200, 'the allocator still answers');
    await alive.body?.cancel();
  });
});
