import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { SdfleetError } from '../../common/errors.ts';
import { IdentityError, type IdentityFailure } from './errors.ts';
import { IAP_HEADER, IAP_ISSUER, IapVerifier } from './iap.ts';
import { createIdentity } from './service.ts';
import { fakeRequest } from './test-helpers.ts';

const AUD = '/projects/123456789/global/backendServices/987654321';
const SECRET = 'i'.repeat(32);

interface KeyPair { privateKey: CryptoKey; jwk: JWK }
async function keyPair(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

// A local JWKS server standing in for https://www.gstatic.com/iap/verify/public_key-jwk.
let published: JWK[] = [];
let fetches = 0;
const jwksServer = createServer((_req, res) => {
  fetches++;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ keys: published }));
});
let jwksUrl = '';
let iapKey: KeyPair;
let forger: KeyPair;

before(async () => {
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/iap/verify/public_key-jwk`;
  iapKey = await keyPair('iap-1');
  forger = await keyPair('iap-1'); // same kid, another key: a forgery
  published = [iapKey.jwk];
});
after(() => new Promise<void>((r) => jwksServer.close(() => r())));

interface Claims { email?: string; aud?: string; iss?: string; iat?: number; exp?: number }
async function sign(claims: Claims = {}, key: KeyPair = iapKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const c = { email: 'Alice@Example.com', aud: AUD, iss: IAP_ISSUER, iat: now - 5, exp: now + 600, ...claims };
  const jwt = new SignJWT(c.email === undefined ? {} : { email: c.email, sub: 'accounts.google.com:1234' })
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid!, typ: 'JWT' })
    .setAudience(c.aud).setIssuer(c.iss).setIssuedAt(c.iat).setExpirationTime(c.exp);
  return jwt.sign(key.privateKey);
}

function verifier(extra: { jwksRefreshCooldownSeconds?: number; jwksUrl?: string } = {}): IapVerifier {
  return new IapVerifier({ audience: AUD, jwksUrl, jwksRefreshCooldownSeconds: 0, ...extra });
}

async function refused(v: IapVerifier, jwt: string, reason: IdentityFailure): Promise<void> {
  await assert.rejects(v.verify(jwt), (err: unknown) => {
    assert.ok(err instanceof IdentityError, `expected an IdentityError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.status, 401);
    assert.ok(!err.message.includes(jwt), 'the message does not carry the JWT');
    return true;
  });
}

describe('IAP assertion', () => {
  it('verifies a valid assertion and yields the e-mail, lower-cased and without a prefix', async () => {
    const v = verifier();
    assert.equal(await v.verify(await sign()), 'alice@example.com');
    assert.equal(await v.verify(await sign({ email: 'accounts.google.com:bob@example.com' })), 'bob@example.com');
  });

  it('fetches the keys once and caches them', async () => {
    const v = verifier({ jwksRefreshCooldownSeconds: 30 });
    const before = fetches;
    for (let i = 0; i < 5; i++) await v.verify(await sign());
    assert.equal(fetches - before, 1);
  });

  it('refuses a forged signature, a wrong audience or issuer, an expired or future one, distinctly', async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    await refused(v, await sign({}, forger), 'iap_bad_signature');
    await refused(v, await sign({ aud: '/projects/1/global/backendServices/2' }), 'iap_wrong_audience');
    await refused(v, await sign({ iss: 'https://evil.example' }), 'iap_wrong_issuer');
    await refused(v, await sign({ iat: now - 900, exp: now - 300 }), 'iap_expired');
    await refused(v, await sign({ iat: now - 7200, exp: now + 600 }), 'iap_expired');
    await refused(v, await sign({ iat: now + 600, exp: now + 1200 }), 'iap_not_yet_valid');
    await refused(v, await sign({ email: undefined }), 'iap_no_email');
    await refused(v, await sign({ email: 'not an address' }), 'iap_no_email');
  });

  it('an assertion verified once is taken again without its signature checked, until its exp or maximum age', async () => {
    const t0 = Date.now();
    let clock = t0;
    const v = new IapVerifier({ audience: AUD, jwksUrl, jwksRefreshCooldownSeconds: 0 }, () => clock);
    const now = Math.floor(t0 / 1000);
    const jwt = await sign({ iat: now, exp: now + 600 });
    assert.equal(await v.verify(jwt), 'alice@example.com');
    const before = fetches;
    clock = t0 + 590_000;
    assert.equal(await v.verify(jwt), 'alice@example.com', 'still good 590 s later');
    clock = t0 + 640_000; // past exp and the 30 s tolerance
    await refused(v, jwt, 'iap_expired');
    assert.equal(fetches, before, 'no key fetch: the check that refused it was the time');
    // The signature is still what a new assertion is judged by: a forged one is refused, cache or not.
    clock = t0;
    await refused(v, await sign({ iat: now, exp: now + 600 }, forger), 'iap_bad_signature');
  });

  it('accepts small clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await verifier().verify(await sign({ iat: now + 10, exp: now - 10 + 600 })), 'alice@example.com');
    assert.equal(await verifier().verify(await sign({ iat: now - 600, exp: now - 10 })), 'alice@example.com');
  });

  it('refuses malformed assertions, alg none and HS256 with the public key', async () => {
    const v = verifier();
    await refused(v, 'not-a-jwt', 'iap_malformed');
    await refused(v, 'aaa.bbb.ccc', 'iap_malformed');
    const valid = await sign();
    await refused(v, valid.slice(0, -2) + '!!', 'iap_malformed');
    const now = Math.floor(Date.now() / 1000);
    const none = new UnsecuredJWT({ email: 'mallory@example.com' }).setAudience(AUD).setIssuer(IAP_ISSUER).setIssuedAt(now).setExpirationTime(now + 600).encode();
    await refused(v, none, 'iap_bad_algorithm');
    // The classic confusion attack: HMAC keyed with the published public key.
    const hs = await new SignJWT({ email: 'mallory@example.com' })
      .setProtectedHeader({ alg: 'HS256', kid: 'iap-1' }).setAudience(AUD).setIssuer(IAP_ISSUER).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(JSON.stringify(iapKey.jwk)));
    await refused(v, hs, 'iap_bad_algorithm');
  });

  it('fetches the keys again for an unknown kid (rotation), and refuses a kid IAP does not publish', async () => {
    const v = verifier();
    assert.equal(await v.verify(await sign()), 'alice@example.com');
    const next = await keyPair('iap-2');
    published = [iapKey.jwk, next.jwk];
    try {
      const before = fetches;
      assert.equal(await v.verify(await sign({}, next)), 'alice@example.com');
      assert.equal(fetches - before, 1);
      await refused(v, await sign({}, await keyPair('nobody')), 'iap_unknown_key');
    } finally {
      published = [iapKey.jwk];
    }
  });

  it('is a 503 when the keys cannot be fetched', async () => {
    const v = verifier({ jwksUrl: 'http://127.0.0.1:9/nothing-listens-here' });
    await assert.rejects(v.verify(await sign()), (err: unknown) => {
      assert.ok(err instanceof SdfleetError && !(err instanceof IdentityError));
      assert.equal(err.status, 503);
      assert.match(err.message, /could not get IAP's public keys/);
      return true;
    });
  });

  it('refuses options that are not safe or not complete', () => {
    assert.throws(() => new IapVerifier({ audience: '' }), /needs the audience/);
    assert.throws(() => new IapVerifier({ audience: 'my-backend' }), /must look like \/projects/);
    assert.throws(() => new IapVerifier({ audience: AUD, jwksUrl: 'http://keys.example.com/jwk' }), /must be https/);
  });
});

describe('iap mode', () => {
  function iapIdentity() {
    return createIdentity({ mode: 'iap', cookieSecret: SECRET, admins: ['ADMIN@example.com'], iap: { audience: AUD, jwksUrl } });
  }
  function withJwt(jwt: string, extra: Record<string, string> = {}): IncomingMessage {
    return fakeRequest({ [IAP_HEADER]: jwt, ...extra });
  }
  const cookieOf = (setCookie: string | undefined): string => setCookie!.split(';')[0]!;

  it('authenticates by the assertion, mints a session cookie once, and keeps it', async () => {
    const id = iapIdentity();
    const first = await id.authenticate(withJwt(await sign()));
    assert.deepEqual(first?.identity, { id: 'alice@example.com', name: 'alice@example.com', admin: false, provider: 'iap' });
    assert.equal(first?.via, 'iap');
    assert.match(first!.setCookie!, /^__Host-sdfleet_session=v1\..*; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const second = await id.authenticate(withJwt(await sign(), { cookie: cookieOf(first!.setCookie) }));
    assert.equal(second?.setCookie, undefined);
    assert.equal(second?.csrfToken, first?.csrfToken);
    const admin = await id.authenticate(withJwt(await sign({ email: 'admin@example.com' })));
    assert.equal(admin?.identity.admin, true);
  });

  it('needs the assertion on every request: a cookie alone is nobody, another user\'s cookie is replaced', async () => {
    const id = iapIdentity();
    const alice = await id.authenticate(withJwt(await sign()));
    assert.equal(await id.authenticate(fakeRequest({ cookie: cookieOf(alice!.setCookie) })), undefined);
    await assert.rejects(id.require(fakeRequest({ cookie: cookieOf(alice!.setCookie) })), (err: unknown) =>
      err instanceof IdentityError && err.reason === 'no_credential' && /Identity-Aware Proxy/.test(err.message));
    const bob = await id.authenticate(withJwt(await sign({ email: 'bob@example.com' }), { cookie: cookieOf(alice!.setCookie) }));
    assert.equal(bob?.identity.id, 'bob@example.com');
    assert.ok(bob?.setCookie, 'bob gets a session of his own');
    assert.notEqual(bob?.csrfToken, alice?.csrfToken);
  });

  it('refuses a forged assertion even with a valid cookie', async () => {
    const id = iapIdentity();
    const alice = await id.authenticate(withJwt(await sign()));
    await assert.rejects(id.authenticate(withJwt(await sign({}, forger), { cookie: cookieOf(alice!.setCookie) })),
      (err: unknown) => err instanceof IdentityError && err.reason === 'iap_bad_signature');
  });

  it('wants the CSRF token of the cookie the request carried', async () => {
    const id = iapIdentity();
    const jwt = await sign();
    const fresh = await id.authenticate(withJwt(jwt, { host: 'sd.example.com' }));
    const post = (headers: Record<string, string>): IncomingMessage => fakeRequest({ [IAP_HEADER]: jwt, host: 'sd.example.com', ...headers }, 'POST');
    // A session minted on this very request: its token is nobody's yet.
    assert.throws(() => id.verifyCsrf(post({ 'x-sdfleet-csrf': fresh!.csrfToken! }), fresh),
      (err: unknown) => err instanceof IdentityError && err.reason === 'csrf_mismatch');
    const req = post({ cookie: cookieOf(fresh!.setCookie), 'x-sdfleet-csrf': fresh!.csrfToken!, origin: 'https://sd.example.com' });
    const auth = await id.authenticate(req);
    id.verifyCsrf(req, auth);
  });

  it('tells the fast lane who asks only for an assertion already verified, with that user\'s verified cookie', async () => {
    let clock = Date.now();
    const id = createIdentity({ mode: 'iap', cookieSecret: SECRET, iap: { audience: AUD, jwksUrl }, now: () => clock });
    const known = (headers: Record<string, string>): string | undefined => {
      const lower: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] ??= v;
      return id.knownIdentity({ headers: lower, rawHeaders: Object.entries(headers).flat(), remoteAddress: '127.0.0.1' })?.id;
    };
    const jwt = await sign();
    const first = await id.authenticate(withJwt(jwt));
    const c = cookieOf(first!.setCookie);
    assert.equal(known({ [IAP_HEADER]: jwt, cookie: c }), undefined, 'the cookie comes back before anything verified it');
    await id.authenticate(withJwt(jwt, { cookie: c }));
    assert.equal(known({ [IAP_HEADER]: jwt, cookie: c }), 'alice@example.com');
    assert.equal(known({ cookie: c }), undefined, 'no assertion: nobody');
    assert.equal(known({ [IAP_HEADER]: await sign({ iat: Math.floor(clock / 1000) - 4 }), cookie: c }), undefined, 'an assertion never verified');
    assert.equal(known({ [IAP_HEADER]: await sign({}, forger), cookie: c }), undefined, 'a forged one');
    assert.equal(known({ [IAP_HEADER]: jwt, 'X-Goog-IAP-JWT-Assertion': jwt, cookie: c }), undefined, 'the assertion twice');
    const bobJwt = await sign({ email: 'bob@example.com' });
    await id.authenticate(withJwt(bobJwt));
    assert.equal(known({ [IAP_HEADER]: bobJwt, cookie: c }), undefined, "alice's cookie with bob's assertion: authenticate mints bob's");
    clock += 11 * 60_000;
    assert.equal(known({ [IAP_HEADER]: jwt, cookie: c }), undefined, 'an assertion past its age');
  });
});
