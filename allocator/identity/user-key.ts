import { createHash } from 'node:crypto';

/**
 * The GameServer label `sdfleet.dev/user` and the user store's folder name for an identity:
 * `u-` and the first 20 hex digits (80 bits) of SHA-256 of the id's UTF-8 bytes. 22
 * characters of [a-z0-9-], so a valid Kubernetes label value and a safe folder name on
 * every file system.
 *
 * Provider-independent: the same e-mail gives the same key under iap and header, so
 * switching between them keeps a user's images. Collisions are negligible: with n users
 * the chance of any is about n²/2⁸¹ — below 10⁻¹² for a million users.
 *
 * The key is a pseudonym, not a secret: anyone who guesses an id can compute it. Nothing
 * grants access by it; the allocator compares it to the signed-in identity's own key.
 */
export function userKey(id: string): string {
  if (id === '') throw new Error('userKey needs a non-empty identity id');
  return 'u-' + createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 20);
}
