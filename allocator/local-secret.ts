import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The cookie secret `sdfleet up` uses on one machine: generated once and kept in the data
 * dir (mode 0600), so browser sessions survive a restart. Elsewhere it comes from
 * SDFLEET_COOKIE_SECRET.
 */
export function localCookieSecret(dataDir: string): string {
  const file = join(dataDir, 'cookie-secret');
  if (existsSync(file)) {
    const s = readFileSync(file, 'utf8').trim();
    if (s.length >= 43) return s;
  }
  const secret = randomBytes(32).toString('base64');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}
