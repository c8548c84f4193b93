import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSetCookie } from 'cookie';
import { IdentityError, type IdentityFailure } from './errors.ts';
import { deriveKeys } from './keys.ts';
import { SessionCookies, type SessionCookieOptions } from './session-cookie.ts';

const keyA = deriveKeys('a'.repeat(32));
const keyB = deriveKeys('b'.repeat(32));
let clock = 1_800_000_000_000;
const now = (): number => clock;

function jar(o: Partial<SessionCookieOptions> = {}): SessionCookies {
  return new SessionCookies({ keys: [keyA], name: 'sdfleet_session', secure: false, ttlSeconds: 3600, maxSeconds: 4 * 3600, now, ...o });
}

function refused(fn: () => unknown, reason: IdentityFailure): void {
  assert.throws(fn, (err: unknown) => err instanceof IdentityError && err.reason === reason && err.status === 401 && err.credential === 'cookie');
}

/** The value with one character of the given part (0 payload, 1 signature) changed. */
function flip(value: string, part: 0 | 1): string {
  const dot = value.lastIndexOf('.');
  const i = part === 0 ? 5 : dot + 5;
  const c = value[i] === 'A' ? 'B' : 'A';
  return value.slice(0, i) + c + value.slice(i + 1);
}

describe('session cookie', () => {
  it('round-trips a session', () => {
    const j = jar();
    const s = j.create('alice', 'Alice', 'dev');
    const { session, previous } = j.verify(j.sign(s), 'dev');
    assert.deepEqual(session, s);
    assert.equal(previous, false);
    assert.equal(s.exp - s.iat, 3600);
    assert.match(s.sid, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(j.create('alice', 'Alice', 'dev').sid, s.sid, 'every session has its own id');
  });

  it('is refused when a byte of the payload or the signature changes', () => {
    const j = jar();
    const v = j.sign(j.create('alice', 'Alice', 'dev'));
    refused(() => j.verify(flip(v, 0), 'dev'), 'cookie_bad_signature');
    refused(() => j.verify(flip(v, 1), 'dev'), 'cookie_bad_signature');
    refused(() => j.verify(v.slice(0, -1), 'dev'), 'cookie_bad_signature');
  });

  it('is refused when someone rewrites the payload to another user', () => {
    const j = jar();
    const v = j.sign(j.create('mallory', 'mallory', 'dev'));
    const [prefix, payload, sig] = v.split('.');
    const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('mallory', 'alice'), 'utf8').toString('base64url');
    refused(() => j.verify(`${prefix}.${forged}.${sig}`, 'dev'), 'cookie_bad_signature');
  });

  it('is refused when malformed, from another mode, or signed with another secret', () => {
    const j = jar();
    refused(() => j.verify('hello', 'dev'), 'cookie_malformed');
    refused(() => j.verify('v1.', 'dev'), 'cookie_malformed');
    refused(() => j.verify(j.sign(j.create('alice', 'Alice', 'dev')), 'token'), 'cookie_wrong_mode');
    const other = jar({ keys: [keyB] });
    refused(() => j.verify(other.sign(other.create('alice', 'Alice', 'dev')), 'dev'), 'cookie_bad_signature');
  });

  it('is refused after it expires', () => {
    const j = jar();
    const v = j.sign(j.create('alice', 'Alice', 'dev'));
    clock += 3599_000;
    j.verify(v, 'dev');
    clock += 1000;
    refused(() => j.verify(v, 'dev'), 'cookie_expired');
  });

  it('accepts a cookie signed with the previous secret after a rotation, and says so', () => {
    const before = jar({ keys: [keyA] });
    const v = before.sign(before.create('alice', 'Alice', 'dev'));
    const rotated = jar({ keys: [keyB, keyA] });
    const { session, previous } = rotated.verify(v, 'dev');
    assert.equal(session.id, 'alice');
    assert.equal(previous, true);
    const renewed = rotated.renewal(session, previous);
    assert.ok(renewed);
    assert.equal(rotated.verify(rotated.sign(renewed), 'dev').previous, false);
    // Once the old secret is dropped, its cookies are gone.
    refused(() => jar({ keys: [keyB] }).verify(v, 'dev'), 'cookie_bad_signature');
  });

  it('renews past half its life, keeping the session id, never beyond the maximum age', () => {
    const j = jar();
    const s = j.create('alice', 'Alice', 'dev');
    assert.equal(j.renewal(s, false), undefined, 'fresh: nothing to renew');
    clock += 1900_000;
    const r = j.renewal(s, false)!;
    assert.equal(r.sid, s.sid);
    assert.equal(r.exp, Math.floor(clock / 1000) + 3600);
    clock = (s.iat + 4 * 3600 - 100) * 1000;
    assert.equal(j.renewal({ ...s, exp: s.iat + 4 * 3600 }, false), undefined, 'at the maximum age the session ends');
  });

  it('makes HttpOnly SameSite=Lax Set-Cookie values, and one that clears it', () => {
    const j = jar({ secure: true, name: '__Host-sdfleet_session' });
    const s = j.create('alice', 'Alice', 'dev');
    const set = parseSetCookie(j.setCookie(s));
    assert.equal(set.name, '__Host-sdfleet_session');
    assert.equal(set.httpOnly, true);
    assert.equal(set.secure, true);
    assert.equal(set.sameSite, 'lax');
    assert.equal(set.path, '/');
    assert.equal(set.maxAge, 3600);
    assert.equal(j.verify(set.value!, 'dev').session.id, 'alice');
    const cleared = parseSetCookie(j.clear());
    assert.equal(cleared.maxAge, 0);
    assert.equal(cleared.value, '');
    assert.equal(j.read(`other=1; __Host-sdfleet_session=${set.value!}`), set.value);
    assert.equal(j.read('other=1'), undefined);
    assert.equal(j.read(undefined), undefined);
  });

  it('refuses a short secret', () => {
    assert.throws(() => deriveKeys('too short'), /at least 32 random bytes/);
    assert.throws(() => deriveKeys(Buffer.alloc(31)), /31 bytes/);
  });
});
