import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { SdfleetError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { IdentityError, type IdentityFailure } from './errors.ts';
import { createIdentity, requireAdmin, type IdentityService } from './service.ts';
import { fakeRequest } from './test-helpers.ts';
import type { Authentication, IdentityOptions } from './types.ts';

const SECRET = 's'.repeat(32);
const OLD_SECRET = 'o'.repeat(32);
const ALICE_TOKEN = 'alice-token-0123456789';
const BOB_TOKEN = 'bob-token-0123456789ab';
const tokens = new Map([['alice', ALICE_TOKEN], ['bob', BOB_TOKEN]]);

function make(o: Partial<IdentityOptions> = {}): IdentityService {
  return createIdentity({ mode: 'dev', cookieSecret: SECRET, admins: ['root', 'Admin@Example.com'], ...o } as IdentityOptions);
}
/** The Cookie request header a Set-Cookie value turns into. */
const cookie = (setCookie: string): string => setCookie.split(';')[0]!;

async function refused(p: Promise<unknown> | (() => unknown), reason: IdentityFailure, status = 401): Promise<void> {
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof IdentityError, `expected an IdentityError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.status, status);
    return true;
  };
  if (typeof p === 'function') assert.throws(p, check);
  else await assert.rejects(p, check);
}

describe('dev mode', () => {
  it('signs in by name and recognises the cookie; no cookie is nobody', async () => {
    const id = make();
    assert.equal(id.banner?.includes('no password'), true, 'dev sign-in says what it is');
    const alice = id.devSignIn('  Alice ');
    assert.deepEqual(alice, { id: 'Alice', name: 'Alice', admin: false, provider: 'dev' });
    const set = id.issueCookie(alice);
    assert.match(set, /^sdfleet_session=v1\.[^;]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Lax$/, 'not Secure in dev, for plain http');
    const auth = await id.authenticate(fakeRequest({ cookie: `theme=dark; ${cookie(set)}` }));
    assert.deepEqual(auth?.identity, alice);
    assert.equal(auth?.via, 'cookie');
    assert.equal(auth?.setCookie, undefined);
    assert.match(auth!.csrfToken!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await id.authenticate(fakeRequest({})), undefined);
    await refused(id.require(fakeRequest({})), 'no_credential');
  });

  it('validates names', () => {
    const id = make();
    for (const bad of ['', ' ', 'a'.repeat(65), 'x<script>', 'a/b', 'tab\there']) {
      assert.throws(() => id.devSignIn(bad), (err: unknown) => err instanceof SdfleetError && err.status === 400, bad);
    }
    assert.equal(id.devSignIn('Zoë O.-_@x 1').id, 'Zoë O.-_@x 1');
    assert.equal(id.devSignIn('a'.repeat(64)).id.length, 64);
  });

  it('gives whoever holds a cookie that cookie\'s user: instance access is the allocator\'s to decide', async () => {
    const id = make();
    const bobs = cookie(id.issueCookie(id.devSignIn('bob')));
    const auth = await id.authenticate(fakeRequest({ cookie: bobs }));
    assert.equal(auth?.identity.id, 'bob');
  });

  it('refuses tampered, expired and foreign cookies and a cookie from another mode', async () => {
    let clock = Date.now();
    const id = make({ now: () => clock, sessionTtlSeconds: 60 });
    const set = cookie(id.issueCookie(id.devSignIn('alice')));
    const [name, value] = set.split('=') as [string, string];
    const tampered = value.slice(0, 10) + (value[10] === 'x' ? 'y' : 'x') + value.slice(11);
    await refused(id.authenticate(fakeRequest({ cookie: `${name}=${tampered}` })), 'cookie_bad_signature');
    const other = make({ cookieSecret: 'x'.repeat(32) });
    await refused(other.authenticate(fakeRequest({ cookie: set })), 'cookie_bad_signature');
    const tokenMode = make({ mode: 'token', tokens, secureCookies: false });
    await refused(tokenMode.authenticate(fakeRequest({ cookie: set })), 'cookie_wrong_mode');
    clock += 61_000;
    await refused(id.authenticate(fakeRequest({ cookie: set })), 'cookie_expired');
  });

  it('a cookie verified once is refused all the same once it expires; a tampered copy never passes', async () => {
    let clock = Date.now();
    const id = make({ now: () => clock, sessionTtlSeconds: 60 });
    const set = cookie(id.issueCookie(id.devSignIn('alice')));
    for (let i = 0; i < 3; i++) assert.equal((await id.authenticate(fakeRequest({ cookie: set })))?.identity.id, 'alice');
    const [name, value] = set.split('=') as [string, string];
    const tampered = value.slice(0, 10) + (value[10] === 'x' ? 'y' : 'x') + value.slice(11);
    await refused(id.authenticate(fakeRequest({ cookie: `${name}=${tampered}` })), 'cookie_bad_signature');
    clock += 61_000;
    await refused(id.authenticate(fakeRequest({ cookie: set })), 'cookie_expired');
  });

  it('keeps sessions across a secret rotation and re-signs them with the new secret', async () => {
    const before = make({ cookieSecret: OLD_SECRET });
    const old = cookie(before.issueCookie(before.devSignIn('alice')));
    const after = make({ cookieSecret: SECRET, previousCookieSecrets: [OLD_SECRET] });
    const auth = await after.authenticate(fakeRequest({ cookie: old }));
    assert.equal(auth?.identity.id, 'alice');
    assert.ok(auth?.setCookie, 'a cookie signed with the old secret is replaced');
    const fresh = cookie(auth.setCookie);
    assert.equal((await make().authenticate(fakeRequest({ cookie: fresh })))?.identity.id, 'alice');
    assert.equal((await after.authenticate(fakeRequest({ cookie: fresh })))?.csrfToken, auth.csrfToken, 'the same session, the same CSRF token');
    await refused(make().authenticate(fakeRequest({ cookie: old })), 'cookie_bad_signature');
  });

  it('renews a cookie past half its life', async () => {
    let clock = Date.now();
    const id = make({ now: () => clock, sessionTtlSeconds: 100 });
    const set = cookie(id.issueCookie(id.devSignIn('alice')));
    clock += 60_000;
    const auth = await id.authenticate(fakeRequest({ cookie: set }));
    assert.match(auth!.setCookie!, /Max-Age=100;/);
  });

  it('has no token sign-in', () => {
    assert.throws(() => make().tokenSignIn(ALICE_TOKEN), (err: unknown) => err instanceof SdfleetError && err.status === 404);
  });
});

describe('token mode', () => {
  const id = make({ mode: 'token', tokens });

  it('authenticates a bearer token, case-insensitively in the scheme', async () => {
    const auth = await id.authenticate(fakeRequest({ authorization: `Bearer ${ALICE_TOKEN}` }));
    assert.deepEqual(auth, { identity: { id: 'alice', name: 'alice', admin: false, provider: 'token' }, via: 'bearer', setCookie: undefined, csrfToken: undefined });
    assert.equal((await id.authenticate(fakeRequest({ authorization: `bearer  ${BOB_TOKEN}` })))?.identity.id, 'bob');
    assert.equal(await id.authenticate(fakeRequest({ authorization: 'Basic YWxpY2U6eA==' })), undefined, 'another scheme is not ours');
  });

  it('refuses an unknown or empty token', async () => {
    await refused(id.authenticate(fakeRequest({ authorization: `Bearer ${ALICE_TOKEN}x` })), 'token_unknown');
    await refused(id.authenticate(fakeRequest({ authorization: 'Bearer ' })), 'bearer_malformed');
    await refused(id.authenticate(fakeRequest({ authorization: 'Bearer a b' })), 'bearer_malformed');
    assert.throws(() => id.tokenSignIn('nope'), (err: unknown) => err instanceof IdentityError && err.reason === 'token_unknown');
  });

  it('signs a browser in with its token; the session ends when the token changes', async () => {
    const set = id.issueCookie(id.tokenSignIn(` ${BOB_TOKEN} `));
    assert.match(set, /^__Host-sdfleet_session=.*; Secure; SameSite=Lax$/);
    const auth = await id.authenticate(fakeRequest({ cookie: cookie(set) }));
    assert.equal(auth?.identity.id, 'bob');
    assert.equal(auth?.via, 'cookie');
    const rotated = make({ mode: 'token', tokens: new Map([['alice', ALICE_TOKEN], ['bob', 'bob-new-token-0123456789']]) });
    await refused(rotated.authenticate(fakeRequest({ cookie: cookie(set) })), 'session_revoked');
    const removed = make({ mode: 'token', tokens: new Map([['alice', ALICE_TOKEN]]) });
    await refused(removed.authenticate(fakeRequest({ cookie: cookie(set) })), 'session_revoked');
  });

  it('prefers an explicit bearer token to a cookie', async () => {
    const bobs = cookie(id.issueCookie(id.tokenSignIn(BOB_TOKEN)));
    const auth = await id.authenticate(fakeRequest({ cookie: bobs, authorization: `Bearer ${ALICE_TOKEN}` }));
    assert.equal(auth?.identity.id, 'alice');
  });

  it('refuses weak token lists at start', () => {
    const bad = (t: Map<string, string>): unknown => make({ mode: 'token', tokens: t });
    assert.throws(() => bad(new Map()), /at least one user/);
    assert.throws(() => bad(new Map([['alice', 'short']])), /alice's token is 5 characters/);
    assert.throws(() => bad(new Map([['alice', ALICE_TOKEN], ['bob', ALICE_TOKEN]])), /also another user's/);
    assert.throws(() => bad(new Map([['alice', 'has a space in it 123']])), /printable ASCII/);
    assert.throws(() => make({ mode: 'token' }), /needs tokens/);
  });

  it('never logs a credential', async () => {
    const out = new PassThrough();
    let logged = '';
    out.on('data', (b: Buffer) => { logged += b.toString(); });
    const logger = createLogger({ name: 'identity', destination: out, level: 'debug' });
    const noisy = make({ mode: 'token', tokens, logger });
    await refused(noisy.authenticate(fakeRequest({ authorization: `Bearer ${ALICE_TOKEN}zz` })), 'token_unknown');
    const set = cookie(noisy.issueCookie(noisy.tokenSignIn(ALICE_TOKEN)));
    await refused(noisy.authenticate(fakeRequest({ cookie: set.replace('v1.', 'v1.x') })), 'cookie_bad_signature');
    await new Promise((r) => setImmediate(r));
    assert.match(logged, /token_unknown/);
    assert.match(logged, /cookie_bad_signature/);
    for (const secret of [ALICE_TOKEN, BOB_TOKEN, SECRET, set.split('=')[1]!]) assert.ok(!logged.includes(secret), 'a secret reached the log');
  });
});

describe('header mode', () => {
  it('refuses to start unless explicitly enabled', () => {
    assert.throws(() => make({ mode: 'header' }), /enabled explicitly/);
    assert.throws(() => make({ mode: 'header', header: { enabled: false, name: 'x-forwarded-email' } }), /enabled explicitly/);
    assert.throws(() => make({ mode: 'header', header: { enabled: true, name: 'cookie' } }), /custom header name/);
    assert.throws(() => make({ mode: 'header', header: { enabled: true, name: 'x-user', trustedProxies: ['10.0.0.0/40'] } }), /bad prefix/);
    assert.throws(() => make({ mode: 'header', header: { enabled: true, name: 'x-user', trustedProxies: ['proxy.local'] } }), /not an IP address/);
  });

  it('believes the header from a trusted proxy only', async () => {
    const id = make({ mode: 'header', header: { enabled: true, name: 'X-Forwarded-Email', trustedProxies: ['10.0.0.0/8', '::1'] } });
    const from = (peer: string, value = 'Admin@Example.com'): IncomingMessage => fakeRequest({ 'x-forwarded-email': value }, 'GET', peer);
    const auth = await id.authenticate(from('10.1.2.3'));
    assert.deepEqual(auth?.identity, { id: 'admin@example.com', name: 'admin@example.com', admin: true, provider: 'header' });
    assert.equal(auth?.via, 'header');
    assert.ok(auth?.setCookie);
    assert.equal((await id.authenticate(from('::ffff:10.9.9.9')))?.identity.id, 'admin@example.com');
    assert.equal((await id.authenticate(from('::1')))?.identity.id, 'admin@example.com');
    assert.equal(await id.authenticate(from('192.168.1.5')), undefined, 'ignored from an untrusted peer');
    assert.equal(await id.authenticate(from('127.0.0.1')), undefined);
    await refused(id.authenticate(from('10.0.0.1', 'a@x.com, b@x.com')), 'header_invalid');
    await refused(id.authenticate(from('10.0.0.1', 'a/b')), 'header_invalid');
  });

  it('reads the real peer address of a loopback connection', async () => {
    const trusting = make({ mode: 'header', header: { enabled: true, name: 'x-forwarded-user', trustedProxies: ['127.0.0.1'] } });
    const distrusting = make({ mode: 'header', header: { enabled: true, name: 'x-forwarded-user', trustedProxies: ['10.0.0.1'] } });
    const server = createServer((req, res) => {
      const id = req.url === '/trusting' ? trusting : distrusting;
      id.authenticate(req).then((a) => res.end(a?.identity.id ?? 'nobody'), (err: unknown) => res.end(String(err)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const get = async (path: string): Promise<string> => (await fetch(base + path, { headers: { 'x-forwarded-user': 'carol' } })).text();
      assert.equal(await get('/trusting'), 'carol');
      assert.equal(await get('/distrusting'), 'nobody');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('admins', () => {
  it('come from the list, e-mails case-insensitively, evaluated on each request', async () => {
    const id = make();
    assert.equal(id.devSignIn('root').admin, true);
    assert.equal(id.devSignIn('rooty').admin, false);
    assert.equal(id.isAdmin('admin@example.com'), true);
    const rootCookie = cookie(id.issueCookie(id.devSignIn('root')));
    const demoted = make({ admins: [] });
    assert.equal((await demoted.authenticate(fakeRequest({ cookie: rootCookie })))?.identity.admin, false, 'the cookie does not carry admin');
  });

  it('requireAdmin refuses everyone else with 403', async () => {
    const id = make();
    requireAdmin(id.devSignIn('root'));
    await refused(() => requireAdmin(id.devSignIn('alice')), 'admin_required', 403);
    await refused(() => requireAdmin(undefined), 'admin_required', 403);
  });
});

describe('CSRF', () => {
  const id = make();
  const aliceCookie = cookie(id.issueCookie(id.devSignIn('alice')));
  const bobCookie = cookie(id.issueCookie(id.devSignIn('bob')));
  async function post(headers: Record<string, string>, method = 'POST'): Promise<{ req: IncomingMessage; auth: Authentication | undefined }> {
    const req = fakeRequest({ host: 'localhost:8080', cookie: aliceCookie, ...headers }, method);
    return { req, auth: await id.authenticate(req) };
  }
  const token = async (c: string): Promise<string> => (await id.authenticate(fakeRequest({ cookie: c })))!.csrfToken!;

  it('accepts the session\'s token from its own origin', async () => {
    const { req, auth } = await post({ 'x-sdfleet-csrf': await token(aliceCookie), origin: 'http://localhost:8080' });
    id.verifyCsrf(req, auth);
    const noOrigin = await post({ 'x-sdfleet-csrf': await token(aliceCookie) }, 'DELETE');
    id.verifyCsrf(noOrigin.req, noOrigin.auth);
  });

  it('refuses a missing or wrong token, or another session\'s', async () => {
    const missing = await post({ origin: 'http://localhost:8080' });
    await refused(() => id.verifyCsrf(missing.req, missing.auth), 'csrf_missing', 403);
    const wrong = await post({ 'x-sdfleet-csrf': 'A'.repeat(43) });
    await refused(() => id.verifyCsrf(wrong.req, wrong.auth), 'csrf_mismatch', 403);
    const bobs = await post({ 'x-sdfleet-csrf': await token(bobCookie) }, 'PUT');
    await refused(() => id.verifyCsrf(bobs.req, bobs.auth), 'csrf_mismatch', 403);
  });

  it('refuses tokens of another length or in other characters, and the token of a session signed by a secret no longer kept', async () => {
    const real = await token(aliceCookie);
    for (const sent of [real.slice(0, -1), `${real}A`, `${real.slice(0, -1)}é`, real.toLowerCase() === real ? real.toUpperCase() : real.toLowerCase()]) {
      const r = await post({ 'x-sdfleet-csrf': sent });
      await refused(() => id.verifyCsrf(r.req, r.auth), 'csrf_mismatch', 403);
    }
  });

  it('accepts a page’s token made under the previous secret (a page loaded before a rotation)', async () => {
    const before = make({ cookieSecret: OLD_SECRET });
    const old = cookie(before.issueCookie(before.devSignIn('alice')));
    const oldToken = (await before.authenticate(fakeRequest({ cookie: old })))!.csrfToken!;
    const after = make({ cookieSecret: SECRET, previousCookieSecrets: [OLD_SECRET] });
    const req = fakeRequest({ host: 'localhost:8080', cookie: old, 'x-sdfleet-csrf': oldToken }, 'POST');
    const auth = await after.authenticate(req);
    assert.notEqual(auth!.csrfToken, oldToken, 'the current secret makes another token');
    after.verifyCsrf(req, auth);
    const unrotated = make();
    const req2 = fakeRequest({ host: 'localhost:8080', cookie: cookie(unrotated.issueCookie(unrotated.devSignIn('alice'))), 'x-sdfleet-csrf': oldToken }, 'POST');
    const auth2 = await unrotated.authenticate(req2);
    await refused(() => unrotated.verifyCsrf(req2, auth2), 'csrf_mismatch', 403);
  });

  it('refuses another origin even with the right token', async () => {
    const t = await token(aliceCookie);
    const sites: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'http://localhost:8081' },
      { origin: 'null' },
      { referer: 'https://evil.example/page' },
    ];
    for (const headers of sites) {
      const { req, auth } = await post({ 'x-sdfleet-csrf': t, ...headers });
      await refused(() => id.verifyCsrf(req, auth), 'origin_mismatch', 403);
    }
    const { req, auth } = await post({ 'x-sdfleet-csrf': t, referer: 'http://localhost:8080/_sdfleet/' });
    id.verifyCsrf(req, auth);
  });

  it('checks configured public origins instead of the Host header', async () => {
    const pub = make({ origins: ['https://sd.example.com/'] });
    const c = cookie(pub.issueCookie(pub.devSignIn('alice')));
    const t = (await pub.authenticate(fakeRequest({ cookie: c })))!.csrfToken!;
    const req = (origin: string): IncomingMessage => fakeRequest({ host: 'allocator:8080', cookie: c, origin, 'x-sdfleet-csrf': t }, 'POST');
    const ok = req('https://sd.example.com');
    pub.verifyCsrf(ok, await pub.authenticate(ok));
    const bad = req('http://allocator:8080');
    const badAuth = await pub.authenticate(bad);
    await refused(() => pub.verifyCsrf(bad, badAuth), 'origin_mismatch', 403);
  });

  it('lets safe methods and bearer requests through without a token; checks the origin of sign-in posts', async () => {
    const get = await post({ origin: 'https://evil.example' }, 'GET');
    id.verifyCsrf(get.req, get.auth);
    const tokenId = make({ mode: 'token', tokens });
    const req = fakeRequest({ authorization: `Bearer ${ALICE_TOKEN}` }, 'POST');
    tokenId.verifyCsrf(req, await tokenId.authenticate(req));
    id.verifyCsrf(fakeRequest({ host: 'localhost:8080', origin: 'http://localhost:8080' }, 'POST'), undefined);
    await refused(() => id.verifyCsrf(fakeRequest({ host: 'localhost:8080', origin: 'https://evil.example' }, 'POST'), undefined), 'origin_mismatch', 403);
    await refused(() => id.verifyOrigin(fakeRequest({ host: 'localhost:8080', origin: 'https://evil.example' })), 'origin_mismatch', 403);
  });
});

describe('stripCredentials', () => {
  it('removes sdfleet\'s credentials and keeps the rest', () => {
    const id = make({ mode: 'token', tokens });
    const headers = fakeRequest({
      cookie: `a=1; __Host-sdfleet_session=v1.x.y; b=2`,
      authorization: `Bearer ${ALICE_TOKEN}`,
      'x-goog-iap-jwt-assertion': 'j',
      'x-sdfleet-csrf': 't',
      accept: 'text/html',
    }).headers;
    id.stripCredentials(headers);
    assert.deepEqual(headers, { cookie: 'a=1; b=2', accept: 'text/html' });
    const only = fakeRequest({ cookie: '__Host-sdfleet_session=v1.x.y' }).headers;
    id.stripCredentials(only);
    assert.deepEqual(only, {});
  });
});

describe('options', () => {
  it('refuses a short secret, a __Host- cookie without Secure and an unknown mode', () => {
    assert.throws(() => make({ cookieSecret: 'short' }), /at least 32 random bytes/);
    assert.throws(() => make({ previousCookieSecrets: ['short'] }), /previous cookie secret #1/);
    assert.throws(() => make({ cookieName: '__Host-x' }), /needs Secure/);
    assert.throws(() => make({ mode: 'oidc' as never }), /must be dev, token, iap or header/);
    assert.throws(() => make({ mode: 'iap' }), /needs the audience/);
  });
});

describe('knownIdentity (the proxy fast lane)', () => {
  /** A request as the lane sees it: lower-case names (first value), the raw list, the peer. */
  const known = (id: IdentityService, headers: Record<string, string>, remoteAddress = '127.0.0.1'): ReturnType<IdentityService['knownIdentity']> => {
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] ??= v;
    return id.knownIdentity({ headers: lower, rawHeaders: Object.entries(headers).flat(), remoteAddress });
  };

  it('knows a cookie only once authenticate has verified it, and while it needs no renewal', async () => {
    let clock = Date.now();
    const id = make({ now: () => clock, sessionTtlSeconds: 100 });
    const alice = id.devSignIn('alice');
    const c = cookie(id.issueCookie(alice));
    assert.equal(known(id, { cookie: c }), undefined, 'never verified: authenticate decides');
    await id.authenticate(fakeRequest({ cookie: c }));
    assert.deepEqual(known(id, { cookie: `theme=dark; ${c}` }), alice);
    assert.equal(known(id, {}), undefined);
    assert.equal(known(id, { cookie: `${c.slice(0, -2)}xx` }), undefined, 'a tampered value is not known');
    clock += 60_000;
    assert.equal(known(id, { cookie: c }), undefined, 'due for renewal: authenticate renews it');
    clock += 60_000;
    assert.equal(known(id, { cookie: c }), undefined, 'expired');
  });

  it('leaves bearer requests to authenticate', async () => {
    const t = make({ mode: 'token', tokens });
    const c = cookie(t.issueCookie(t.tokenSignIn(ALICE_TOKEN)));
    await t.authenticate(fakeRequest({ cookie: c }));
    assert.equal(known(t, { cookie: c })?.id, 'alice');
    assert.equal(known(t, { cookie: c, authorization: `Bearer ${BOB_TOKEN}` }), undefined);
  });

  it('header mode: the trusted header with a verified session cookie of the same identity', async () => {
    const h = make({ mode: 'header', header: { enabled: true, name: 'x-user', trustedProxies: ['127.0.0.1'] } });
    // The first request mints the browser's session; the lane knows nothing before the cookie comes back.
    const first = await h.authenticate(fakeRequest({ 'x-user': 'Alice@Example.com' }));
    const c = cookie(first!.setCookie!);
    assert.equal(known(h, { 'x-user': 'Alice@Example.com', cookie: c }), undefined, 'the cookie not yet verified');
    const second = await h.authenticate(fakeRequest({ 'x-user': 'Alice@Example.com', cookie: c }));
    assert.equal(second?.setCookie, undefined, 'authenticate sets no cookie now: the lane may answer instead');
    assert.equal(known(h, { 'x-user': 'Alice@Example.com', cookie: c })?.id, 'alice@example.com');
    assert.equal(known(h, { 'x-user': 'bob@example.com', cookie: c }), undefined, "another identity's session: authenticate mints a new one");
    assert.equal(known(h, { cookie: c }), undefined, 'no header: nobody, as authenticate says');
    assert.equal(known(h, { 'x-user': 'Alice@Example.com', cookie: c }, '10.9.9.9'), undefined, 'from a peer not trusted');
    assert.equal(known(h, { 'x-user': 'Alice@Example.com', 'X-User': 'bob@example.com', cookie: c }), undefined, 'the header twice');
    assert.equal(known(h, { 'x-user': 'not valid!!', cookie: c }), undefined, 'a header authenticate refuses');
  });
});
