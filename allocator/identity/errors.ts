import { SdfleetError } from '../../common/errors.ts';

/** Why a request was refused. Stable strings: tests, metrics and pages use them. */
export type IdentityFailure =
  // 401: no credential, or one that does not prove anything
  | 'no_credential'
  | 'cookie_malformed' | 'cookie_bad_signature' | 'cookie_expired' | 'cookie_wrong_mode' | 'session_revoked'
  | 'bearer_malformed' | 'token_unknown'
  | 'iap_malformed' | 'iap_bad_algorithm' | 'iap_unknown_key' | 'iap_bad_signature' | 'iap_wrong_audience'
  | 'iap_wrong_issuer' | 'iap_expired' | 'iap_not_yet_valid' | 'iap_no_email'
  | 'header_invalid'
  // 403: known, but not allowed to do this
  | 'csrf_missing' | 'csrf_mismatch' | 'origin_mismatch' | 'admin_required';

/** The credential an error is about; `cookie` tells the caller to clear it (`clearCookie()`). */
export type IdentityCredential = 'cookie' | 'bearer' | 'iap' | 'header' | 'csrf' | 'none';

const FORBIDDEN: ReadonlySet<IdentityFailure> = new Set(['csrf_missing', 'csrf_mismatch', 'origin_mismatch', 'admin_required']);

/**
 * A refused request: 401 (code `unauthenticated`) or 403 (code `forbidden`), with the
 * reason. Messages never contain the credential itself.
 */
export class IdentityError extends SdfleetError {
  readonly reason: IdentityFailure;
  readonly credential: IdentityCredential;

  constructor(reason: IdentityFailure, credential: IdentityCredential, message: string, opts: { cause?: unknown } = {}) {
    const forbidden = FORBIDDEN.has(reason);
    super(forbidden ? 'forbidden' : 'unauthenticated', message, { status: forbidden ? 403 : 401, cause: opts.cause, details: { reason } });
    this.name = 'IdentityError';
    this.reason = reason;
    this.credential = credential;
  }
}

/** The identity provider itself is unreachable (IAP keys could not be fetched): 503. */
export function identityUnavailable(message: string, cause: unknown): SdfleetError {
  return new SdfleetError('identity_unavailable', message, { status: 503, cause });
}
