import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { badRequest, notFound } from '../../common/errors.ts';
import { silentLogger } from '../../common/log.ts';
import { CSRF_HEADER, checkOrigin, csrfTokenFor, csrfTokenMatches, isSafeMethod, normaliseOrigins } from './csrf.ts';
import { IdentityError } from './errors.ts';
import { HeaderIdentity } from './header.ts';
import { IAP_HEADER, IapVerifier } from './iap.ts';
import { deriveKeys, sameToken, type DerivedKeys } from './keys.ts';
import { NAME_RULE, emailId, validName } from './names.ts';
import { SessionCookies, type SessionPayload } from './session-cookie.ts';
import { TokenVerifier, bearerToken } from './token.ts';
import type { AuthVia, Authentication, Identity, IdentityMode, IdentityOptions } from './types.ts';

/**
 * Who is making a request, for the allocator's HTTP routes, its proxy and its socket.io
 * handshakes (all of which hand over a Node IncomingMessage).
 *
 * Lifecycle: `createIdentity` checks the options and throws on anything unsafe or
 * incomplete (so a misconfigured allocator does not start); the service then has no state
 * but the IAP key cache and needs no closing. Per request: `authenticate` (or `require`),
 * then `verifyCsrf` before anything that changes state, then `requireAdmin` on admin routes.
 */
export interface IdentityService {
  readonly mode: IdentityMode;
  /** The session cookie's name; the proxy removes it (see stripCredentials) before an instance sees the request. */
  readonly cookieName: string;
  /** Text the sign-in page and the session bar must show, or undefined: dev mode says anyone can be anyone. */
  readonly banner: string | undefined;

  /**
   * Who makes this request. undefined: nobody (no credential at all). A credential that is
   * there but proves nothing (tampered, expired, forged, unknown) is a 401 IdentityError
   * whose `reason` says which; `credential === 'cookie'` means answer with clearCookie().
   * A 503 when IAP's keys cannot be fetched.
   *
   * dev and token: a bearer token (token mode) when one is sent, else the session cookie.
   * iap and header: the proxy's credential on every request (so a revoked user is out at
   * once and going around the proxy gets nowhere); the cookie only carries the browser
   * session (CSRF) and is minted here when missing or someone else's (`setCookie`).
   */
  authenticate(req: IncomingMessage): Promise<Authentication | undefined>;
  /** authenticate, but nobody is a 401 (`no_credential`) saying how to sign in in this mode. */
  require(req: IncomingMessage): Promise<Authentication>;
  /**
   * Who makes this request, when that is known at once and `authenticate` would answer the
   * same with no Set-Cookie: in dev and token modes a session cookie (no bearer token sent)
   * already verified by `authenticate`; in iap mode an assertion it has already verified and
   * that is still good, and in header mode the trusted header, each with the browser's
   * session cookie of that same identity, already verified. Cookies must be unexpired and not
   * due for renewal; a proxy credential sent twice is not known. undefined otherwise: then
   * `authenticate` decides (with its errors, renewals and logs). For the proxy's fast lane;
   * never an error.
   */
  knownIdentity(req: KnownRequest): Identity | undefined;
  /** Set-Cookie for a newly signed-in identity (HttpOnly, SameSite=Lax, Path=/, Secure per option, Max-Age). */
  issueCookie(identity: Identity): string;
  /** Set-Cookie that signs the browser out. */
  clearCookie(): string;
  /** dev mode: sign in by name (1–64 letters, digits, spaces, `._-@`). 404 in other modes, 400 for a bad name. */
  devSignIn(name: string): Identity;
  /** token mode: sign a browser in with its token (a form), then issueCookie. 404 in other modes, 401 for an unknown token. */
  tokenSignIn(token: string): Identity;
  /**
   * Throws 403 unless a state-changing request (not GET/HEAD/OPTIONS) is safe from CSRF: its
   * Origin (or Referer) is this site's, and, for a browser session (cookie, IAP, header),
   * its `x-sdfleet-csrf` header is the session's `csrfToken`. Bearer requests need no
   * token (browsers never add Authorization by themselves). Call it on every
   * state-changing route, signed-in or not (sign-in forms: it checks the origin).
   */
  verifyCsrf(req: IncomingMessage, auth: Authentication | undefined): void;
  /** The Origin/Referer check alone, for WebSocket handshakes and proxied instance traffic, which cannot carry our token. */
  verifyOrigin(req: IncomingMessage): void;
  /** Whether an identity id is in the admins list (ids of e-mails compare case-insensitively). */
  isAdmin(id: string): boolean;
  /** Removes sdfleet's credentials from headers about to be forwarded to an instance. */
  stripCredentials(headers: IncomingHttpHeaders): void;
}

/** What `knownIdentity` reads: lower-case header names (the first value of each, cookies joined), as received, and the peer. */
export interface KnownRequest {
  headers: Readonly<Record<string, string | undefined>>;
  rawHeaders: readonly string[];
  remoteAddress: string | undefined;
}

const DAY = 24 * 3600;
/** Credentials kept verified (one per signed-in browser or IAP assertion in use). */
const VERIFIED_MAX = 20_000;

export function createIdentity(opts: IdentityOptions): IdentityService {
  const log = opts.logger ?? silentLogger();
  const mode = opts.mode;
  const now = opts.now ?? Date.now;
  const keys: DerivedKeys[] = [
    deriveKeys(opts.cookieSecret),
    ...(opts.previousCookieSecrets ?? []).map((s, i) => deriveKeys(s, `previous cookie secret #${i + 1}`)),
  ];
  const secure = opts.secureCookies ?? mode !== 'dev';
  const cookieName = opts.cookieName ?? (secure ? '__Host-sdfleet_session' : 'sdfleet_session');
  if (cookieName.startsWith('__Host-') && !secure) throw new Error(`cookie name ${cookieName} needs Secure cookies (browsers drop __Host- cookies without it)`);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(cookieName)) throw new Error(`cookie name "${cookieName}" is not a valid cookie name`);
  const cookies = new SessionCookies({
    keys,
    name: cookieName,
    secure,
    ttlSeconds: opts.sessionTtlSeconds ?? DAY / 2,
    maxSeconds: opts.sessionMaxSeconds ?? 7 * DAY,
    now,
  });
  const origins = normaliseOrigins(opts.origins);
  const admins = new Set((opts.admins ?? []).map(adminId));

  let tokens: TokenVerifier | undefined;
  let iap: IapVerifier | undefined;
  let header: HeaderIdentity | undefined;
  switch (mode) {
    case 'dev':
      log.warn('identity: dev sign-in — anyone who can reach the allocator can sign in as anyone; for one machine only');
      break;
    case 'token':
      if (!opts.tokens) throw new Error('token mode needs tokens (SDFLEET_TOKENS="alice:<token>,bob:<token>")');
      tokens = new TokenVerifier(opts.tokens, keys);
      break;
    case 'iap':
      iap = new IapVerifier(opts.iap ?? { audience: '' }, now);
      break;
    case 'header':
      header = new HeaderIdentity(opts.header);
      if (!header.restricted) log.warn({ header: header.name }, 'identity: header mode believes the header from every peer; make sure only the auth proxy can reach the allocator (NetworkPolicy), or set trusted proxies');
      break;
    default:
      throw new Error(`identity mode must be dev, token, iap or header, got "${String(mode)}"`);
  }
  log.info({ mode, admins: admins.size, previousSecrets: keys.length - 1, secureCookies: secure }, 'identity ready');

  /** The session id each authentication's request carried in its cookie (not one minted for it). */
  const requestSids = new WeakMap<Authentication, string>();
  /**
   * Cookies already verified, by value, until they expire: what verifying one costs (an
   * HMAC and two hashes per secret, the token's fingerprint, the CSRF token's HMAC) was
   * paid again on every proxied request of a WebUI. The keys and tokens are fixed for the
   * life of this service, so a value verified once stays good until its `exp`.
   */
  const verifiedCookies = new LRUCache<string, { session: SessionPayload; previous: boolean; csrfToken: string }>({ max: VERIFIED_MAX });

  function identityOf(id: string, name: string): Identity {
    return { id, name, admin: admins.has(adminId(id)), provider: mode };
  }

  /** The verified entry of a cookie value, if cached and not expired. */
  function cachedCookie(value: string): { session: SessionPayload; previous: boolean; csrfToken: string } | undefined {
    const v = verifiedCookies.get(value);
    if (v && v.session.exp <= Math.floor(now() / 1000)) {
      verifiedCookies.delete(value);
      return undefined;
    }
    return v;
  }

  /** `cachedCookie`, or the value verified now (an IdentityError when it is no good) and cached. */
  function verifiedCookie(value: string): { session: SessionPayload; previous: boolean; csrfToken: string } {
    let v = cachedCookie(value);
    if (!v) {
      const { session, previous } = cookies.verify(value, mode);
      if (tokens && !tokens.matches(session.id, session.cred)) {
        throw new IdentityError('session_revoked', 'cookie', 'the token this session signed in with has been changed or removed; sign in again');
      }
      v = { session, previous, csrfToken: csrfTokenFor(keys[0]!, session.sid) };
      verifiedCookies.set(value, v);
    }
    return v;
  }

  function fromCookie(value: string): Authentication {
    const v = verifiedCookie(value);
    const { session, previous, csrfToken } = v;
    const renewed = cookies.renewal(session, previous);
    const auth: Authentication = {
      identity: identityOf(session.id, session.name),
      via: 'cookie',
      setCookie: renewed ? cookies.setCookie(renewed) : undefined,
      csrfToken,
    };
    requestSids.set(auth, session.sid);
    return auth;
  }

  /** iap/header: the proxy said who; keep the browser's session if it is this identity's, else start one. */
  function withSession(id: string, via: AuthVia, cookieValue: string | undefined): Authentication {
    let session: SessionPayload | undefined;
    let csrfToken: string | undefined;
    let setCookie: string | undefined;
    if (cookieValue !== undefined) {
      try {
        // Cached: known from now on to the fast lane (knownIdentity), which still compares the identity.
        const v = verifiedCookie(cookieValue);
        if (v.session.id === id) {
          ({ session, csrfToken } = v);
          const renewed = cookies.renewal(v.session, v.previous);
          if (renewed) setCookie = cookies.setCookie(renewed);
        }
      } catch (err) {
        // A stale or foreign cookie next to a valid proxy credential is simply replaced.
        if (!(err instanceof IdentityError)) throw err;
      }
    }
    const fromRequest = session !== undefined;
    if (!session) {
      session = cookies.create(id, id, mode);
      setCookie = cookies.setCookie(session);
      csrfToken = csrfTokenFor(keys[0]!, session.sid);
    }
    const auth: Authentication = { identity: identityOf(id, id), via, setCookie, csrfToken };
    if (fromRequest) requestSids.set(auth, session.sid);
    return auth;
  }

  function knownIdentity(req: KnownRequest): Identity | undefined {
    const h = req.headers;
    let proxyId: string | undefined;
    switch (mode) {
      case 'dev':
        break;
      case 'token':
        if (h.authorization !== undefined) return undefined;
        break;
      case 'iap': {
        const jwt = h[IAP_HEADER];
        if (jwt === undefined || sentTwice(req.rawHeaders, IAP_HEADER)) return undefined;
        proxyId = iap!.known(jwt);
        if (proxyId === undefined) return undefined;
        break;
      }
      case 'header': {
        if (sentTwice(req.rawHeaders, header!.name)) return undefined;
        try {
          proxyId = header!.readValue(h[header!.name], req.remoteAddress);
        } catch {
          return undefined;
        }
        if (proxyId === undefined) return undefined;
        break;
      }
    }
    const value = cookies.read(h.cookie);
    if (value === undefined) return undefined;
    const v = cachedCookie(value);
    if (!v || cookies.renewal(v.session, v.previous)) return undefined;
    // iap/header: the browser's session must be this identity's, or authenticate mints another.
    if (proxyId !== undefined) return v.session.id === proxyId ? identityOf(proxyId, proxyId) : undefined;
    return identityOf(v.session.id, v.session.name);
  }

  async function authenticate(req: IncomingMessage): Promise<Authentication | undefined> {
    try {
      const cookieValue = cookies.read(req.headers.cookie);
      switch (mode) {
        case 'dev':
          return cookieValue === undefined ? undefined : fromCookie(cookieValue);
        case 'token': {
          const token = bearerToken(req);
          if (token !== undefined) {
            const user = tokens!.userOf(token);
            if (user === undefined) throw new IdentityError('token_unknown', 'bearer', 'the bearer token is not one of SDFLEET_TOKENS; check it, or ask an admin for yours');
            return { identity: identityOf(user, user), via: 'bearer', setCookie: undefined, csrfToken: undefined };
          }
          return cookieValue === undefined ? undefined : fromCookie(cookieValue);
        }
        case 'iap': {
          const jwt = req.headers[IAP_HEADER];
          if (jwt === undefined) return undefined;
          const id = await iap!.verify(Array.isArray(jwt) ? jwt.join(',') : jwt);
          return withSession(id, 'iap', cookieValue);
        }
        case 'header': {
          const id = header!.read(req);
          return id === undefined ? undefined : withSession(id, 'header', cookieValue);
        }
      }
    } catch (err) {
      if (err instanceof IdentityError) {
        log.info({ reason: err.reason, credential: err.credential, peer: req.socket.remoteAddress }, 'identity: credential refused');
      } else {
        log.warn({ err }, 'identity: could not check a credential');
      }
      throw err;
    }
  }

  const signInHint: Record<IdentityMode, string> = {
    dev: 'not signed in; sign in with a name (development sign-in)',
    token: 'not signed in; send "Authorization: Bearer <token>" or sign in with your token',
    iap: `no ${IAP_HEADER} header; requests must come through Identity-Aware Proxy`,
    header: `no ${header?.name ?? 'identity'} header from a trusted proxy; requests must come through the auth proxy`,
  };

  return {
    mode,
    cookieName,
    banner: mode === 'dev' ? 'Development sign-in: a name is enough, there is no password. For one machine only.' : undefined,
    authenticate,
    knownIdentity,

    async require(req) {
      const auth = await authenticate(req);
      if (!auth) throw new IdentityError('no_credential', 'none', signInHint[mode]);
      return auth;
    },

    issueCookie(identity) {
      if (identity.provider !== mode) throw new Error(`issueCookie got a ${identity.provider} identity in ${mode} mode`);
      let cred: string | undefined;
      if (tokens) {
        cred = tokens.fingerprint(identity.id);
        if (cred === undefined) throw new Error(`issueCookie: ${identity.id} has no token`);
      }
      return cookies.setCookie(cookies.create(identity.id, identity.name, mode, cred));
    },

    clearCookie: () => cookies.clear(),

    devSignIn(name) {
      if (mode !== 'dev') throw notFound(`sign-in by name exists only in dev mode; this allocator uses ${mode}`);
      const valid = validName(name);
      if (valid === undefined) throw badRequest(`a name is ${NAME_RULE}`);
      return identityOf(valid, valid);
    },

    tokenSignIn(token) {
      if (!tokens) throw notFound(`sign-in with a token exists only in token mode; this allocator uses ${mode}`);
      const user = tokens.userOf(token.trim());
      if (user === undefined) {
        log.info({ reason: 'token_unknown' }, 'identity: token sign-in refused');
        throw new IdentityError('token_unknown', 'bearer', 'that token is not one of SDFLEET_TOKENS; check it, or ask an admin for yours');
      }
      return identityOf(user, user);
    },

    verifyCsrf(req, auth) {
      if (isSafeMethod(req.method)) return;
      checkOrigin(req, origins);
      if (!auth || auth.via === 'bearer') return;
      const raw = req.headers[CSRF_HEADER];
      const sent = Array.isArray(raw) ? raw[0] : raw;
      if (!sent) throw new IdentityError('csrf_missing', 'csrf', `a request that changes something needs the page's CSRF token in the ${CSRF_HEADER} header; reload the page`);
      const sid = requestSids.get(auth);
      // The current secret's token is known with the verified cookie; previous secrets' only by computing each.
      if (sid === undefined || !((auth.csrfToken !== undefined && sameToken(auth.csrfToken, sent)) || csrfTokenMatches(keys, sid, sent))) {
        throw new IdentityError('csrf_mismatch', 'csrf', `the ${CSRF_HEADER} header is not this session's token; reload the page`);
      }
    },

    verifyOrigin: (req) => checkOrigin(req, origins),

    isAdmin: (id) => admins.has(adminId(id)),

    stripCredentials(headers) {
      if (headers.cookie) {
        const rest = headers.cookie.split(';').map((c) => c.trim()).filter((c) => c !== '' && !c.startsWith(`${cookieName}=`));
        if (rest.length > 0) headers.cookie = rest.join('; ');
        else delete headers.cookie;
      }
      if (headers.authorization && /^bearer\s/i.test(headers.authorization)) delete headers.authorization;
      delete headers[IAP_HEADER];
      delete headers[CSRF_HEADER];
      if (header) delete headers[header.name];
    },
  };
}

/** 403 admin_required unless the identity is an admin. */
export function requireAdmin(identity: Identity | undefined): void {
  if (!identity?.admin) {
    throw new IdentityError('admin_required', 'none', 'this needs an admin; admins are listed in SDFLEET_ADMINS');
  }
}

/** An admins-list entry as an identity id: e-mails lower-cased like iap/header ids, names NFC-trimmed like dev/token ids. */
function adminId(entry: string): string {
  if (entry.includes('@')) return emailId(entry) ?? entry.trim();
  return validName(entry) ?? entry.trim();
}

/** Whether a header (lower-case name) appears more than once in a raw header list. */
function sentTwice(raw: readonly string[], name: string): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toLowerCase() === name && ++seen > 1) return true;
  }
  return false;
}
