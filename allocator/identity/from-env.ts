import type { SdfleetEnv } from '../../common/env.ts';
import type { Logger } from '../../common/log.ts';
import { parseTokens } from './token.ts';
import type { IdentityMode, IdentityOptions } from './types.ts';

/**
 * IdentityOptions from the environment (common/env.ts reads it). `defaults` is what the
 * command supplies when a variable is unset: `sdfleet up` passes mode dev and the cookie
 * secret it generated and keeps in its data directory. Throws saying which variable is
 * missing; createIdentity then checks the values themselves.
 */
export function identityOptionsFromEnv(
  env: SdfleetEnv,
  defaults: { mode?: IdentityMode; cookieSecret?: string | Buffer; logger?: Logger } = {},
): IdentityOptions {
  const mode = env.identityMode ?? defaults.mode;
  if (!mode) throw new Error('no identity mode: set SDFLEET_IDENTITY to dev, token, iap or header');
  const cookieSecret = env.cookieSecret ?? defaults.cookieSecret;
  if (cookieSecret === undefined) throw new Error('no cookie secret: set SDFLEET_COOKIE_SECRET to 32 or more random bytes (e.g. `openssl rand -base64 32`)');
  const opts: IdentityOptions = { mode, cookieSecret, admins: env.admins };
  if (env.previousCookieSecret !== undefined) opts.previousCookieSecrets = [env.previousCookieSecret];
  if (defaults.logger) opts.logger = defaults.logger;
  if (env.origins.length > 0) opts.origins = env.origins;
  if (mode === 'token') {
    if (env.tokens === undefined) throw new Error('token mode needs SDFLEET_TOKENS="alice:<token>,bob:<token>"');
    opts.tokens = parseTokens(env.tokens);
  }
  if (mode === 'iap') {
    if (env.iapAudience === undefined) throw new Error('iap mode needs SDFLEET_IAP_AUDIENCE=/projects/<number>/global/backendServices/<id>');
    opts.iap = { audience: env.iapAudience };
    if (env.iapJwksUrl !== undefined) opts.iap.jwksUrl = env.iapJwksUrl;
  }
  if (mode === 'header') {
    if (env.identityHeader === undefined) throw new Error('header mode needs SDFLEET_IDENTITY_HEADER (e.g. x-forwarded-email)');
    opts.header = { enabled: env.identityHeaderEnabled, name: env.identityHeader, trustedProxies: env.trustedProxies };
  }
  return opts;
}
