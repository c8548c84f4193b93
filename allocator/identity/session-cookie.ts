import { randomBytes } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { IdentityError } from './errors.ts';
import { mac, safeEqual, type DerivedKeys } from './keys.ts';
import type { IdentityMode } from './types.ts';

/** What a session cookie says, signed. Short keys: it travels with every request. */
export interface SessionPayload {
  v: 1;
  /** Random session id: what the CSRF token is bound to; kept across renewals. */
  sid: string;
  /** Identity id and display name. */
  id: string;
  name: string;
  /** The mode that signed the user in; a cookie from another mode is refused. */
  p: IdentityMode;
  /** Signed in at, and expires at (seconds since the epoch). */
  iat: number;
  exp: number;
  /** token mode: a fingerprint of the token signed in with, so changing the token ends the session. */
  cred?: string;
}

export interface SessionCookieOptions {
  /** The current keys first, then those of previous secrets (verify only). */
  keys: readonly DerivedKeys[];
  name: string;
  secure: boolean;
  ttlSeconds: number;
  maxSeconds: number;
  now: () => number;
}

const PREFIX = 'v1.';

/**
 * Session cookies: `v1.<base64url JSON payload>.<base64url HMAC-SHA256>`. The payload is
 * readable by whoever holds the cookie (it holds nothing secret) but cannot be changed
 * without the key. Verification tries the current key, then previous ones (rotation).
 */
export class SessionCookies {
  readonly name: string;
  readonly #o: SessionCookieOptions;

  constructor(o: SessionCookieOptions) {
    if (o.keys.length === 0) throw new Error('SessionCookies needs at least one key');
    if (!(o.ttlSeconds > 0) || !(o.maxSeconds >= o.ttlSeconds)) {
      throw new Error(`session lifetimes must be positive with maxSeconds ≥ ttlSeconds, got ttl ${o.ttlSeconds} s and max ${o.maxSeconds} s`);
    }
    this.name = o.name;
    this.#o = o;
  }

  /** A new session for an identity, valid for the TTL from now. */
  create(id: string, name: string, mode: IdentityMode, cred?: string): SessionPayload {
    const now = this.#nowSeconds();
    const p: SessionPayload = { v: 1, sid: randomBytes(16).toString('base64url'), id, name, p: mode, iat: now, exp: now + this.#o.ttlSeconds };
    if (cred !== undefined) p.cred = cred;
    return p;
  }

  /**
   * The same session with a fresh expiry, or undefined when it needs none yet (more than
   * half its life left and signed with the current key) or may have none (past the maximum age).
   */
  renewal(p: SessionPayload, signedWithPrevious: boolean): SessionPayload | undefined {
    const now = this.#nowSeconds();
    const exp = Math.min(now + this.#o.ttlSeconds, p.iat + this.#o.maxSeconds);
    if (!signedWithPrevious && p.exp - now > this.#o.ttlSeconds / 2) return undefined;
    if (exp <= p.exp && !signedWithPrevious) return undefined;
    return { ...p, exp: Math.max(exp, p.exp) };
  }

  /** The signed cookie value. */
  sign(p: SessionPayload): string {
    const body = PREFIX + Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
    return `${body}.${mac(this.#o.keys[0]!.cookie, body)}`;
  }

  /**
   * The payload of a cookie value; throws a 401 IdentityError saying why not. `previous`:
   * it was signed with a previous secret and should be re-signed.
   */
  verify(value: string, mode: IdentityMode): { session: SessionPayload; previous: boolean } {
    const dot = value.lastIndexOf('.');
    if (!value.startsWith(PREFIX) || dot <= PREFIX.length) throw cookieError('cookie_malformed', 'the session cookie is not one sdfleet issued');
    const body = value.slice(0, dot);
    const sig = value.slice(dot + 1);
    let keyIndex = -1;
    // Every key is tried, so the time taken says nothing about which one (if any) matched.
    this.#o.keys.forEach((k, i) => {
      if (safeEqual(mac(k.cookie, body), sig) && keyIndex < 0) keyIndex = i;
    });
    if (keyIndex < 0) throw cookieError('cookie_bad_signature', 'the session cookie\'s signature does not match (changed, or signed with a key this allocator no longer has); sign in again');
    const session = parsePayload(body.slice(PREFIX.length));
    if (!session) throw cookieError('cookie_malformed', 'the session cookie is signed but its content is not a session; sign in again');
    if (session.p !== mode) throw cookieError('cookie_wrong_mode', `the session cookie comes from ${session.p} sign-in but this allocator uses ${mode}; sign in again`);
    if (session.exp <= this.#nowSeconds()) throw cookieError('cookie_expired', 'the session has expired; sign in again');
    return { session, previous: keyIndex > 0 };
  }

  /** This cookie's value in a Cookie header, or undefined. */
  read(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader) return undefined;
    return parseCookie(cookieHeader)[this.name];
  }

  /** Set-Cookie for a session: HttpOnly, SameSite=Lax, Path=/, Secure per option, Max-Age to its expiry. */
  setCookie(p: SessionPayload): string {
    return stringifySetCookie({
      name: this.name,
      value: this.sign(p),
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: this.#o.secure,
      maxAge: Math.max(0, p.exp - this.#nowSeconds()),
    });
  }

  /** Set-Cookie that removes the session cookie. */
  clear(): string {
    return stringifySetCookie({ name: this.name, value: '', httpOnly: true, sameSite: 'lax', path: '/', secure: this.#o.secure, maxAge: 0 });
  }

  #nowSeconds(): number {
    return Math.floor(this.#o.now() / 1000);
  }
}

function cookieError(reason: 'cookie_malformed' | 'cookie_bad_signature' | 'cookie_expired' | 'cookie_wrong_mode', message: string): IdentityError {
  return new IdentityError(reason, 'cookie', message);
}

const MODES: readonly string[] = ['dev', 'token', 'iap', 'header'];

function parsePayload(b64: string): SessionPayload | undefined {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Record<string, unknown>;
  const ok = o.v === 1 && typeof o.sid === 'string' && typeof o.id === 'string' && o.id !== '' && typeof o.name === 'string'
    && typeof o.p === 'string' && MODES.includes(o.p) && Number.isInteger(o.iat) && Number.isInteger(o.exp)
    && (o.cred === undefined || typeof o.cred === 'string');
  return ok ? (o as unknown as SessionPayload) : undefined;
}
