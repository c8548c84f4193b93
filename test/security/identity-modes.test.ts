/**
 * The IAP and header identity modes end to end, through a real allocator and its proxy:
 * forged, expired and unsigned assertions, a cookie without the proxy's credential, a
 * spoofed identity header from a peer that is not the auth proxy, two identities in one
 * header. None may reach an instance; the proxy's credential never reaches one either.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { IAP_ISSUER } from '../../allocator/identity/iap.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import { allocatorOn } from '../helpers/allocator.ts';
import { headerValues, rawExchange, securityRig, seenIn, statusOf, type SecurityRig } from './rig.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

const AUD = '/projects/123/global/backendServices/456';

async function keyPair(kid: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

describe('security: IAP and header identity modes', { timeout: 50_000 }, () => {
  let s: SecurityRig;
  let iap: RunningAllocator;
  let header: RunningAllocator;
  let spoofable: RunningAllocator;
  let key: Awaited<ReturnType<typeof keyPair>>;
  let forger: Awaited<ReturnType<typeof keyPair>>;

  before(async () => {
    key = await keyPair('k1');
    forger = await keyPair('k1');
    const jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [key.jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => jwks.close(() => r())));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`;
    s = await securityRig(closers, { replicas: 2, range: 46000 });
    iap = await allocatorOn(s.rig, { identity: { mode: 'iap', iap: { audience: AUD, jwksUrl }, admins: ['admin@example.com'] } });
    closers.push(() => iap.stop());
    header = await allocatorOn(s.rig, { identity: { mode: 'header', header: { enabled: true, name: 'X-Forwarded-Email', trustedProxies: ['127.0.0.1'] } } });
    closers.push(() => header.stop());
    // The auth proxy is at 10.9.9.9: a request from anywhere else states nobody, header or not.
    spoofable = await allocatorOn(s.rig, { identity: { mode: 'header', header: { enabled: true, name: 'X-Forwarded-Email', trustedProxies: ['10.9.9.9/32'] } } });
    closers.push(() => spoofable.stop());
  });

  const sign = (claims: Record<string, unknown> = {}, k = key, alg = 'ES256'): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const c = { email: 'alice@example.com', aud: AUD, iss: IAP_ISSUER, iat: now - 5, exp: now + 600, ...claims };
    return new SignJWT({ email: c.email }).setProtectedHeader({ alg, kid: 'k1' }).setAudience(c.aud).setIssuer(c.iss).setIssuedAt(c.iat).setExpirationTime(c.exp).sign(k.privateKey);
  };

  /** Requests the proxy's fast lane has sent to instances (it serves a proxy credential it has verified before, with that user's session cookie). */
  const laneCount = async (a: RunningAllocator): Promise<number> =>
    Number(/^sdfleet_proxy_fast_lane_requests_total (\d+)$/m.exec(await (await fetch(`${a.url}/metrics`)).text())?.[1] ?? NaN);

  const raw = (a: RunningAllocator, lines: string[], body = ''): Promise<string> =>
    rawExchange(a.port, [...lines, `Host: 127.0.0.1:${a.port}`, 'Connection: close', '', body].join('\r\n'));

  it('iap: a valid assertion reaches the user’s own instance, without the assertion; forged, expired, unsigned and misaddressed ones reach nothing', async () => {
    const good = await sign();
    const start = await raw(iap, ['POST /_sdfleet/api/v1/sessions HTTP/1.1', `X-Goog-Iap-Jwt-Assertion: ${good}`, 'Content-Type: application/json', 'Content-Length: 2'], '{}');
    // No cookie yet, so no CSRF session: the page must get its token first. A browser would; this proves it is asked for.
    assert.equal(statusOf(start), 403, start.slice(0, 200));
    const me = await fetch(`${iap.url}/_sdfleet/api/v1/me`, { headers: { 'x-goog-iap-jwt-assertion': good } });
    const cookie = me.headers.getSetCookie()[0]!.split(';')[0]!;
    const { csrfToken, user } = (await me.json()) as { csrfToken: string; user: { id: string } };
    assert.equal(user.id, 'alice@example.com');
    const started = await fetch(`${iap.url}/_sdfleet/api/v1/sessions`, { method: 'POST', headers: { 'x-goog-iap-jwt-assertion': good, cookie, 'x-sdfleet-csrf': csrfToken, origin: iap.url, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(started.status, 201);
    const lane0 = await laneCount(iap);
    const seen = seenIn(await raw(iap, ['GET / HTTP/1.1', `X-Goog-Iap-Jwt-Assertion: ${good}`, `Cookie: ${cookie}`]));
    assert.ok(seen, 'alice reaches her instance');
    assert.equal(await laneCount(iap), lane0 + 1, 'an assertion and a cookie already verified: the fast lane served it');
    assert.deepEqual(headerValues(seen.headers, 'x-goog-iap-jwt-assertion'), [], 'the assertion is stripped');
    assert.doesNotMatch(headerValues(seen.headers, 'cookie').join(';'), /sdfleet_session/);

    const now = Math.floor(Date.now() / 1000);
    const bad: [string, string][] = [
      ['forged signature', await sign({}, forger)],
      ['expired', await sign({ iat: now - 7200, exp: now - 3600 })],
      ['issued in the future', await sign({ iat: now + 3600, exp: now + 7200 })],
      ['another audience', await sign({ aud: '/projects/999/global/backendServices/1' })],
      ['another issuer', await sign({ iss: 'https://evil.example' })],
      ['alg none', new UnsecuredJWT({ email: 'alice@example.com' }).setAudience(AUD).setIssuer(IAP_ISSUER).setIssuedAt().setExpirationTime('10m').encode()],
      ['garbage', 'a.b.c'],
    ];
    for (const [what, jwt] of bad) {
      for (const withCookie of [false, true]) {
        const r = await raw(iap, ['GET / HTTP/1.1', `X-Goog-Iap-Jwt-Assertion: ${jwt}`, ...(withCookie ? [`Cookie: ${cookie}`] : [])]);
        assert.equal(statusOf(r), 401, `${what}${withCookie ? ' with alice’s cookie' : ''}: ${r.slice(0, 160)}`);
        assert.equal(seenIn(r), undefined);
      }
      const api = await fetch(`${iap.url}/_sdfleet/api/v1/me`, { headers: { 'x-goog-iap-jwt-assertion': jwt, cookie } });
      assert.equal(api.status, 401, `${what}: API`);
    }
    // The cookie alone (a request that went around IAP) is nobody.
    const around = await raw(iap, ['GET / HTTP/1.1', `Cookie: ${cookie}`]);
    assert.equal(statusOf(around), 401);
    assert.equal(seenIn(around), undefined);
    assert.equal((await fetch(`${iap.url}/_sdfleet/api/v1/me`, { headers: { cookie } })).status, 401);
    // Another user's assertion with alice's cookie is that other user, never alice.
    const bob = await sign({ email: 'bob@example.com' });
    const asBob = await fetch(`${iap.url}/_sdfleet/api/v1/me`, { headers: { 'x-goog-iap-jwt-assertion': bob, cookie } });
    assert.equal(((await asBob.json()) as { user: { id: string }; session: unknown }).user.id, 'bob@example.com');
    const bobProxied = await raw(iap, ['GET / HTTP/1.1', `X-Goog-Iap-Jwt-Assertion: ${bob}`, `Cookie: ${cookie}`]);
    assert.equal(seenIn(bobProxied), undefined, 'bob has no session: alice’s cookie does not lend him hers');
    // Two assertions in one request (Node joins them): refused.
    const two = await raw(iap, ['GET / HTTP/1.1', `X-Goog-Iap-Jwt-Assertion: ${bob}`, `X-Goog-Iap-Jwt-Assertion: ${good}`]);
    assert.equal(statusOf(two), 401);
  });

  it('header: the auth proxy’s header makes the user; from another peer, doubled, or malformed it makes nobody; it never reaches an instance', async () => {
    const me = await fetch(`${header.url}/_sdfleet/api/v1/me`, { headers: { 'x-forwarded-email': 'carol@example.com' } });
    assert.equal(me.status, 200);
    const cookie = me.headers.getSetCookie()[0]!.split(';')[0]!;
    const { csrfToken } = (await me.json()) as { csrfToken: string };
    const started = await fetch(`${header.url}/_sdfleet/api/v1/sessions`, { method: 'POST', headers: { 'x-forwarded-email': 'carol@example.com', cookie, 'x-sdfleet-csrf': csrfToken, origin: header.url, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(started.status, 201);
    const seen = seenIn(await raw(header, ['GET / HTTP/1.1', 'X-Forwarded-Email: carol@example.com']));
    assert.ok(seen);
    assert.deepEqual(headerValues(seen.headers, 'x-forwarded-email'), [], 'the identity header is stripped');
    const lane0 = await laneCount(header);
    const viaLane = seenIn(await raw(header, ['GET / HTTP/1.1', 'X-Forwarded-Email: carol@example.com', `Cookie: ${cookie}`]));
    assert.ok(viaLane);
    assert.deepEqual(headerValues(viaLane.headers, 'x-forwarded-email'), [], 'stripped on the fast lane too');
    assert.doesNotMatch(headerValues(viaLane.headers, 'cookie').join(';'), /sdfleet_session/);
    assert.equal(await laneCount(header), lane0 + 1, 'the header and its session cookie: the fast lane served it');

    // The same request to an allocator whose auth proxy is elsewhere: the header is a claim by nobody.
    const spoofed = await raw(spoofable, ['GET / HTTP/1.1', 'X-Forwarded-Email: carol@example.com', 'X-Forwarded-For: 10.9.9.9', 'X-Real-IP: 10.9.9.9', 'Forwarded: for=10.9.9.9']);
    assert.equal(statusOf(spoofed), 401, spoofed.slice(0, 160));
    assert.equal(seenIn(spoofed), undefined);
    assert.equal((await fetch(`${spoofable.url}/_sdfleet/api/v1/me`, { headers: { 'x-forwarded-email': 'carol@example.com', 'x-forwarded-for': '10.9.9.9' } })).status, 401);
    // And the cookie minted by the trusted path does not stand in for the header.
    assert.equal(statusOf(await raw(header, ['GET / HTTP/1.1', `Cookie: ${cookie}`])), 401);

    for (const [what, lines] of [
      ['two headers', ['X-Forwarded-Email: mallory@example.com', 'X-Forwarded-Email: carol@example.com']],
      ['two ids in one', ['X-Forwarded-Email: mallory@example.com, carol@example.com']],
      ['not an id', ['X-Forwarded-Email: <script>@x']],
    ] as const) {
      const r = await raw(header, ['GET / HTTP/1.1', ...lines]);
      assert.equal(statusOf(r), 401, `${what}: ${r.slice(0, 160)}`);
      assert.equal(seenIn(r), undefined);
    }
    const crlf = await raw(header, ['GET / HTTP/1.1', 'X-Forwarded-Email: mallory@example.com\rX-Forwarded-Email: carol@example.com']);
    assert.equal(statusOf(crlf), 400, 'CR inside the value: Node refuses the request');
  });
});
