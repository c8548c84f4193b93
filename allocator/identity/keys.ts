import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** The keys derived from one cookie secret: one per purpose, so a value made for one is useless for the other. */
export interface DerivedKeys {
  cookie: Buffer;
  csrf: Buffer;
  /** Fingerprints a bearer token inside a session cookie (token mode). */
  credential: Buffer;
}

export const MIN_SECRET_BYTES = 32;

/**
 * HKDF-SHA256 subkeys of a secret. Throws when the secret is shorter than 32 bytes: a
 * short key makes the HMAC guessable offline from any cookie.
 */
export function deriveKeys(secret: string | Buffer, what = 'cookie secret'): DerivedKeys {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (ikm.length < MIN_SECRET_BYTES) {
    throw new Error(`the ${what} is ${ikm.length} bytes; it needs at least ${MIN_SECRET_BYTES} random bytes (e.g. \`openssl rand -base64 32\` into SDFLEET_COOKIE_SECRET)`);
  }
  const key = (info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, 'sdfleet', info, 32));
  return { cookie: key('sdfleet session cookie v1'), csrf: key('sdfleet csrf v1'), credential: key('sdfleet credential v1') };
}

/** HMAC-SHA256 of text, base64url. */
export function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
}

/**
 * Equality of two tokens of a public, fixed length (an HMAC in base64url) in time that does
 * not depend on where they differ; strings of different lengths are unequal at once (the
 * length of such a token is no secret).
 */
export function sameToken(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/**
 * Equality that takes the same time wherever the strings differ. Both sides are hashed
 * first, so lengths leak nothing either.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
