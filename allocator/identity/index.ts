// The identity layer's public surface; the allocator imports from here.
export type { Authentication, AuthVia, HeaderOptions, IapOptions, Identity, IdentityMode, IdentityOptions } from './types.ts';
export { createIdentity, requireAdmin, type IdentityService } from './service.ts';
export { IdentityError, type IdentityCredential, type IdentityFailure } from './errors.ts';
export { userKey } from './user-key.ts';
export { identityOptionsFromEnv } from './from-env.ts';
export { parseTokens } from './token.ts';
export { CSRF_HEADER, isSafeMethod } from './csrf.ts';
export { IAP_HEADER } from './iap.ts';
