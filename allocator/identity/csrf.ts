import type { IncomingMessage } from 'node:http';
import { IdentityError } from './errors.ts';
import { mac, safeEqual, type DerivedKeys } from './keys.ts';

/** The header a page sends its CSRF token back in. */
export const CSRF_HEADER = 'x-sdfleet-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Whether a method changes nothing (by HTTP's rules; routes must keep to them). */
export function isSafeMethod(method: string | undefined): boolean {
  return SAFE_METHODS.has((method ?? 'GET').toUpperCase());
}

/** The CSRF token of a session: an HMAC of its id, so only this server can make one. */
export function csrfTokenFor(keys: DerivedKeys, sid: string): string {
  return mac(keys.csrf, `csrf:${sid}`);
}

/** Whether a token is the session's under any key (the current or a previous secret). */
export function csrfTokenMatches(keys: readonly DerivedKeys[], sid: string, token: string): boolean {
  let ok = false;
  for (const k of keys) ok = safeEqual(csrfTokenFor(k, sid), token) || ok;
  return ok;
}

/** The configured public origins, normalised (`https://sd.example.com`). */
export function normaliseOrigins(origins: readonly string[] | undefined): string[] | undefined {
  if (!origins || origins.length === 0) return undefined;
  return origins.map((o) => {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new Error(`allowed origin "${o}" is not a URL; expected e.g. https://sd.example.com`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`allowed origin "${o}" must be http(s)`);
    return u.origin;
  });
}

/**
 * Refuses (403 origin_mismatch) a request whose Origin, or failing that Referer, is another
 * site than this one: the configured origins, or else the request's own Host. `Origin: null`
 * (sandboxed frames, cross-site redirects) is refused too. Without either header there is
 * nothing to compare and the request passes; browsers send Origin on every POST, PUT, PATCH
 * and DELETE and on WebSocket handshakes, so only non-browser clients get there.
 */
export function checkOrigin(req: IncomingMessage, origins: readonly string[] | undefined): void {
  const origin = single(req.headers.origin);
  let source: string | undefined;
  if (origin !== undefined) {
    source = origin;
  } else {
    const referer = single(req.headers.referer);
    if (referer !== undefined) source = referer;
  }
  if (source === undefined) return;
  let u: URL | undefined;
  try {
    u = source === 'null' ? undefined : new URL(source);
  } catch {
    u = undefined;
  }
  const ok = u !== undefined && (origins
    ? origins.includes(u.origin)
    : (u.protocol === 'https:' || u.protocol === 'http:') && hostOnly(u.host) === hostOnly(single(req.headers.host) ?? ''));
  if (!ok) {
    throw new IdentityError('origin_mismatch', 'csrf', `this request comes from another site (${origin !== undefined ? 'Origin' : 'Referer'} ${u ? u.origin : 'null'}); only pages of this allocator may change things`);
  }
}

/** host[:port] lower-cased, without a default port (TLS may end before us, so the scheme is unknown). */
function hostOnly(host: string): string {
  return host.toLowerCase().replace(/:(80|443)$/, '');
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
