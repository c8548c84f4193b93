import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { errorMessage } from '../../common/errors.ts';
import { IdentityError, identityUnavailable, type IdentityFailure } from './errors.ts';
import { emailId } from './names.ts';
import type { IapOptions } from './types.ts';

/** The header IAP puts its signed assertion in, on every request it lets through. */
export const IAP_HEADER = 'x-goog-iap-jwt-assertion';
export const GOOGLE_IAP_JWKS_URL = 'https://www.gstatic.com/iap/verify/public_key-jwk';
export const IAP_ISSUER = 'https://cloud.google.com/iap';
/** IAP's assertions live 10 minutes; one issued longer ago than this is refused whatever its exp. */
const MAX_TOKEN_AGE_SECONDS = 3600;
const MAX_JWT_LENGTH = 8192;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Validates IapOptions; throws saying what is wrong. */
export function checkIapOptions(o: IapOptions | undefined): asserts o is IapOptions {
  if (!o || !o.audience) throw new Error('iap mode needs the audience IAP signs for (SDFLEET_IAP_AUDIENCE=/projects/<number>/global/backendServices/<id>)');
  if (!/^\/projects\/[^/]+\/.+/.test(o.audience)) {
    throw new Error(`the IAP audience must look like /projects/<number>/global/backendServices/<id> (or /projects/<number>/apps/<project-id>), got "${o.audience}"`);
  }
  const url = new URL(o.jwksUrl ?? GOOGLE_IAP_JWKS_URL);
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`the IAP keys URL must be https (plain http only on loopback, for tests), got ${url.href}`);
  }
}

/**
 * Verifies IAP's JWT (ES256) against IAP's published keys: signature, `aud`, `iss`, `exp`,
 * `iat` and an `email`. The keys are fetched on first use, cached, and fetched again when a
 * JWT names a key id not in the cache (IAP rotates its keys), at most once per cooldown.
 */
export class IapVerifier {
  readonly #jwks: JWTVerifyGetKey;
  readonly #audience: string;
  readonly #issuer: string;
  readonly #tolerance: number;
  readonly #now: () => number;
  /**
   * Assertions already verified, by their text: IAP sends the same one with every request
   * of a browser for minutes, and an ES256 signature check on every proxied request costs
   * far more than the proxying. The signature, audience and issuer do not change with time.
   */
  readonly #verified = new LRUCache<string, { email: string; untilMs: number }>({ max: 20_000 });

  constructor(o: IapOptions, now: () => number = Date.now) {
    checkIapOptions(o);
    this.#jwks = createRemoteJWKSet(new URL(o.jwksUrl ?? GOOGLE_IAP_JWKS_URL), {
      cooldownDuration: (o.jwksRefreshCooldownSeconds ?? 30) * 1000,
      timeoutDuration: 5000,
    });
    this.#audience = o.audience;
    this.#issuer = o.issuer ?? IAP_ISSUER;
    this.#tolerance = o.clockToleranceSeconds ?? 30;
    this.#now = now;
  }

  /** The identity id of an assertion `verify` has already accepted and that is still good; undefined otherwise (never an error). */
  known(jwt: string): string | undefined {
    const k = this.#verified.get(jwt);
    return k && this.#now() < k.untilMs ? k.email : undefined;
  }

  /** The identity id (the e-mail, lower-cased) an assertion proves; a 401 IdentityError saying why not, a 503 when the keys are unreachable. */
  async verify(jwt: string): Promise<string> {
    const known = this.known(jwt);
    if (known !== undefined) return known;
    if (jwt.length > MAX_JWT_LENGTH || !JWT_SHAPE.test(jwt)) throw iapError('iap_malformed', 'is not a JWT');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, this.#jwks, {
        algorithms: ['ES256'],
        audience: this.#audience,
        issuer: this.#issuer,
        clockTolerance: this.#tolerance,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(this.#now()),
      }));
    } catch (err) {
      throw translate(err);
    }
    const email = typeof payload.email === 'string' ? emailId(payload.email) : undefined;
    if (email === undefined) throw iapError('iap_no_email', 'carries no usable email claim (IAP puts the signed-in user\'s address there)');
    // Good until it would fail a check that depends on the time (its exp, its age), with no tolerance.
    this.#verified.set(jwt, { email, untilMs: Math.min(Number(payload.exp), Number(payload.iat) + MAX_TOKEN_AGE_SECONDS) * 1000 });
    return email;
  }
}

function iapError(reason: IdentityFailure, what: string, cause?: unknown): IdentityError {
  return new IdentityError(reason, 'iap', `the IAP assertion (${IAP_HEADER}) ${what}; requests must come through Identity-Aware Proxy`, { cause });
}

/** jose's error as our reason. Messages never include the JWT. */
function translate(err: unknown): Error {
  if (err instanceof errors.JWTExpired) {
    return err.claim === 'iat' ? iapError('iap_expired', 'was issued too long ago', err) : iapError('iap_expired', 'has expired', err);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud': return iapError('iap_wrong_audience', 'is for another audience (check SDFLEET_IAP_AUDIENCE against the backend service)', err);
      case 'iss': return iapError('iap_wrong_issuer', `was not issued by ${IAP_ISSUER}`, err);
      case 'nbf':
      case 'iat': return err.reason === 'missing' ? iapError('iap_malformed', `lacks the ${err.claim} claim`, err) : iapError('iap_not_yet_valid', 'is not valid yet (is this machine\'s clock right?)', err);
      default: return iapError('iap_malformed', `has a bad ${err.claim} claim`, err);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return iapError('iap_bad_algorithm', 'is not signed with ES256', err);
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return iapError('iap_unknown_key', 'is signed with a key IAP does not publish', err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return iapError('iap_bad_signature', 'has a signature that does not verify (forged?)', err);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return iapError('iap_malformed', 'is not a valid JWT', err);
  // Anything else is about getting the keys: a timeout, an unreachable or malformed JWKS.
  return identityUnavailable(`could not get IAP's public keys to verify the sign-in (${errorMessage(err)}); check that the allocator can reach the keys URL`, err);
}
