import type { Logger } from '../../common/log.ts';

/** How users prove who they are; one per allocator. */
export type IdentityMode = 'dev' | 'token' | 'iap' | 'header';

/** Which credential a request was authenticated with. */
export type AuthVia = 'cookie' | 'bearer' | 'iap' | 'header';

/** Who a request is from. */
export interface Identity {
  /** Stable identity: the e-mail (lower-cased) for iap and header, the name for token and dev. */
  id: string;
  /** Display name. */
  name: string;
  /** From `IdentityOptions.admins`, evaluated on every request (not stored in the cookie). */
  admin: boolean;
  provider: IdentityMode;
}

/** What `IdentityService.authenticate` found. */
export interface Authentication {
  identity: Identity;
  via: AuthVia;
  /**
   * A Set-Cookie value the response should carry, or undefined: a fresh session cookie
   * when an iap/header request came without a matching one, a renewed cookie when the
   * current one is past half its life or was signed with a previous secret.
   */
  setCookie: string | undefined;
  /**
   * The CSRF token of this browser session, to hand to the page (which sends it back in
   * the `x-sdfleet-csrf` header). Undefined for bearer requests, which need none.
   */
  csrfToken: string | undefined;
}

export interface IapOptions {
  /** The `aud` IAP puts in its JWT: `/projects/<number>/global/backendServices/<id>`. */
  audience: string;
  /** Where IAP's public keys are (a JWKS). Default Google's; tests serve their own. */
  jwksUrl?: string;
  /** Expected `iss`. Default `https://cloud.google.com/iap`. */
  issuer?: string;
  /** Leeway for `exp`, `iat` and `nbf`. Default 30 s. */
  clockToleranceSeconds?: number;
  /**
   * The shortest time between two JWKS fetches that a JWT with an unknown `kid` may cause
   * (so forged kids cannot make us hammer the key server). Default 30 s.
   */
  jwksRefreshCooldownSeconds?: number;
}

export interface HeaderOptions {
  /**
   * Must be `true`: header mode believes whoever can set this header, so it exists only
   * when an operator turned it on deliberately, behind an auth proxy.
   */
  enabled: boolean;
  /** The header the proxy puts the user in, e.g. `x-forwarded-email` (oauth2-proxy). */
  name: string;
  /**
   * Addresses or CIDRs (`10.0.0.0/8`, `::1`) of the proxies allowed to set the header; from
   * any other peer it is ignored. Empty or unset: every peer (warned about at start), for
   * deployments where a NetworkPolicy already lets only the proxy reach the allocator.
   */
  trustedProxies?: readonly string[];
}

/** How the identity layer is configured; one object per allocator. */
export interface IdentityOptions {
  mode: IdentityMode;
  /** Identity ids (names or e-mails) that are admins. E-mails compare case-insensitively. Default none. */
  admins?: readonly string[];
  /**
   * The key session cookies and CSRF tokens are derived from: ≥ 32 bytes, from the
   * environment (SDFLEET_COOKIE_SECRET) or a file the caller generated; never from the repo.
   */
  cookieSecret: string | Buffer;
  /** Secrets used before a rotation: cookies signed with them are still accepted (and re-signed). */
  previousCookieSecrets?: readonly (string | Buffer)[];
  /**
   * Cookie name. Default `__Host-sdfleet_session` with Secure cookies (the prefix makes the
   * browser refuse the cookie from a sibling subdomain), `sdfleet_session` without.
   */
  cookieName?: string;
  /** Lifetime of a session cookie. Default 12 h. A cookie past half its life is renewed. */
  sessionTtlSeconds?: number;
  /** Renewal never extends a session past this age from sign-in. Default 7 days. */
  sessionMaxSeconds?: number;
  /** The cookie's Secure flag. Default true, except in dev mode (plain http on one machine). */
  secureCookies?: boolean;
  /**
   * The origins the allocator is reached at, e.g. `https://sd.example.com`, for the Origin
   * check. Default: an origin whose host equals the request's Host header (any scheme,
   * since TLS often ends at a load balancer in front of us).
   */
  origins?: readonly string[];
  /** token mode: user name → token (SDFLEET_TOKENS). Each token ≥ 16 characters, all distinct. */
  tokens?: ReadonlyMap<string, string>;
  /** iap mode. */
  iap?: IapOptions;
  /** header mode. */
  header?: HeaderOptions;
  logger?: Logger;
  /** Clock in ms since the epoch; tests move it. Default Date.now. */
  now?: () => number;
}
