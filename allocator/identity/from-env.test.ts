import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { readEnv } from '../../common/env.ts';
import { identityOptionsFromEnv } from './from-env.ts';
import { createIdentity } from './service.ts';
import { parseTokens } from './token.ts';

const SECRET = 'e'.repeat(32);

describe('identity options from the environment', () => {
  it('reads token mode, admins and a rotated secret', () => {
    const env = readEnv({
      SDFLEET_IDENTITY: 'token',
      SDFLEET_TOKENS: 'alice:alice-token-0123456789, bob:bob:token:0123456789',
      SDFLEET_COOKIE_SECRET: SECRET,
      SDFLEET_COOKIE_SECRET_PREVIOUS: 'p'.repeat(32),
      SDFLEET_ADMINS: 'alice, ,ops@example.com',
    });
    const o = identityOptionsFromEnv(env);
    assert.equal(o.mode, 'token');
    assert.deepEqual([...o.tokens!], [['alice', 'alice-token-0123456789'], ['bob', 'bob:token:0123456789']]);
    assert.deepEqual(o.admins, ['alice', 'ops@example.com']);
    assert.deepEqual(o.previousCookieSecrets, ['p'.repeat(32)]);
    assert.equal(createIdentity(o).mode, 'token');
  });

  it('takes the mode and secret the command supplies when unset', () => {
    const o = identityOptionsFromEnv(readEnv({}), { mode: 'dev', cookieSecret: SECRET });
    assert.equal(o.mode, 'dev');
    assert.equal(o.cookieSecret, SECRET);
    assert.equal(identityOptionsFromEnv(readEnv({ SDFLEET_COOKIE_SECRET: 'f'.repeat(32) }), { mode: 'dev', cookieSecret: SECRET }).cookieSecret, 'f'.repeat(32));
  });

  it('reads the allowed origins; a page of another origin is then refused, even on the same host', () => {
    const env = readEnv({ SDFLEET_IDENTITY: 'dev', SDFLEET_COOKIE_SECRET: SECRET, SDFLEET_ORIGINS: 'https://sd.example.com, https://sd.example.com:8443/ignored-path' });
    const o = identityOptionsFromEnv(env);
    assert.deepEqual(o.origins, ['https://sd.example.com', 'https://sd.example.com:8443/ignored-path']);
    const id = createIdentity(o);
    const req = (origin: string) => ({ headers: { origin, host: 'sd.example.com' } }) as unknown as IncomingMessage;
    assert.doesNotThrow(() => id.verifyOrigin(req('https://sd.example.com')));
    assert.doesNotThrow(() => id.verifyOrigin(req('https://sd.example.com:8443')));
    assert.throws(() => id.verifyOrigin(req('http://sd.example.com')), /another site/);
    assert.equal(identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'dev', SDFLEET_COOKIE_SECRET: SECRET })).origins, undefined, 'unset: the request\'s Host decides');
    assert.throws(() => createIdentity(identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'dev', SDFLEET_COOKIE_SECRET: SECRET, SDFLEET_ORIGINS: 'sd.example.com' }))), /not a URL/);
  });

  it('says which variable is missing or wrong', () => {
    assert.throws(() => readEnv({ SDFLEET_IDENTITY: 'oidc' }), /SDFLEET_IDENTITY must be one of dev, token, iap, header/);
    assert.throws(() => identityOptionsFromEnv(readEnv({ SDFLEET_COOKIE_SECRET: SECRET })), /set SDFLEET_IDENTITY/);
    assert.throws(() => identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'dev' })), /SDFLEET_COOKIE_SECRET/);
    assert.throws(() => identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'token', SDFLEET_COOKIE_SECRET: SECRET })), /SDFLEET_TOKENS/);
    assert.throws(() => identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'iap', SDFLEET_COOKIE_SECRET: SECRET })), /SDFLEET_IAP_AUDIENCE/);
    assert.throws(() => identityOptionsFromEnv(readEnv({ SDFLEET_IDENTITY: 'header', SDFLEET_COOKIE_SECRET: SECRET })), /SDFLEET_IDENTITY_HEADER/);
  });

  it('keeps header mode off unless SDFLEET_IDENTITY_HEADER_ENABLED=true', () => {
    const base = { SDFLEET_IDENTITY: 'header', SDFLEET_COOKIE_SECRET: SECRET, SDFLEET_IDENTITY_HEADER: 'x-forwarded-email', SDFLEET_TRUSTED_PROXIES: '10.0.0.0/8' };
    assert.throws(() => createIdentity(identityOptionsFromEnv(readEnv(base))), /enabled explicitly/);
    assert.throws(() => createIdentity(identityOptionsFromEnv(readEnv({ ...base, SDFLEET_IDENTITY_HEADER_ENABLED: '1' }))), /enabled explicitly/);
    const o = identityOptionsFromEnv(readEnv({ ...base, SDFLEET_IDENTITY_HEADER_ENABLED: 'true' }));
    assert.deepEqual(o.header, { enabled: true, name: 'x-forwarded-email', trustedProxies: ['10.0.0.0/8'] });
    assert.equal(createIdentity(o).mode, 'header');
  });

  it('reads iap mode', () => {
    const o = identityOptionsFromEnv(readEnv({
      SDFLEET_IDENTITY: 'iap', SDFLEET_COOKIE_SECRET: SECRET,
      SDFLEET_IAP_AUDIENCE: '/projects/1/global/backendServices/2', SDFLEET_IAP_JWKS_URL: 'http://127.0.0.1:1/jwk',
    }));
    assert.deepEqual(o.iap, { audience: '/projects/1/global/backendServices/2', jwksUrl: 'http://127.0.0.1:1/jwk' });
  });

  it('parses SDFLEET_TOKENS strictly, never echoing a token', () => {
    assert.throws(() => parseTokens('alice-secret-token-123'), /entry 1 has no ":"/);
    assert.throws(() => parseTokens('al/ice:secret-token-1234567'), /entry 1: the user name/);
    assert.throws(() => parseTokens('a:secret-token-1234567,a:other-token-12345678'), /names a twice/);
    try {
      parseTokens('ok:tok-0123456789abcdef,bad name!:leaky-token-0123456');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(!String(err).includes('leaky-token'));
    }
  });
});
