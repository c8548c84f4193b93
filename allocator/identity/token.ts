import type { IncomingMessage } from 'node:http';
import { IdentityError } from './errors.ts';
import { mac, safeEqual, type DerivedKeys } from './keys.ts';
import { NAME_RULE, validName } from './names.ts';

/** A token must be at least this long: SDFLEET_TOKENS is a password list. */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN = /^[\x21-\x2b\x2d-\x7e]+$/; // printable ASCII except space and comma

/**
 * `alice:<token>,bob:<token>` (SDFLEET_TOKENS) as user → token. A token may contain `:`
 * (the first one separates). Errors name the entry and the user, never the token.
 */
export function parseTokens(raw: string): Map<string, string> {
  const tokens = new Map<string, string>();
  const entries = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`SDFLEET_TOKENS entry ${i + 1} has no ":"; expected "user:token,user:token"`);
    const user = validName(entry.slice(0, colon));
    if (user === undefined) throw new Error(`SDFLEET_TOKENS entry ${i + 1}: the user name must be ${NAME_RULE}`);
    if (tokens.has(user)) throw new Error(`SDFLEET_TOKENS names ${user} twice`);
    tokens.set(user, entry.slice(colon + 1).trim());
  });
  return tokens;
}

/** Checks a token list the way createIdentity needs it: not empty, long, printable, distinct. */
export function checkTokens(tokens: ReadonlyMap<string, string>): void {
  if (tokens.size === 0) throw new Error('token mode needs at least one user in SDFLEET_TOKENS ("alice:<token>,bob:<token>")');
  const seen = new Set<string>();
  for (const [user, token] of tokens) {
    if (validName(user) !== user) throw new Error(`token user "${user}" is not a valid name (${NAME_RULE})`);
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${user}'s token is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} random ones (e.g. \`openssl rand -base64 24\`)`);
    if (!TOKEN.test(token)) throw new Error(`${user}'s token may contain only printable ASCII without spaces or commas`);
    if (seen.has(token)) throw new Error(`${user}'s token is also another user's; every user needs their own`);
    seen.add(token);
  }
}

/**
 * The bearer token of a request: undefined without an Authorization header or with another
 * scheme (not ours to judge); a 401 for `Bearer` without a usable token.
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^(\S+)(?:\s+(.*))?$/.exec(h.trim());
  if (!m || m[1]!.toLowerCase() !== 'bearer') return undefined;
  const token = (m[2] ?? '').trim();
  if (!TOKEN.test(token)) throw new IdentityError('bearer_malformed', 'bearer', 'the Authorization header says Bearer but carries no usable token; send "Authorization: Bearer <token>"');
  return token;
}

/** Which user a token belongs to. Constant time in the token and the list: every entry is compared. */
export class TokenVerifier {
  readonly #tokens: ReadonlyMap<string, string>;
  readonly #keys: readonly DerivedKeys[];

  constructor(tokens: ReadonlyMap<string, string>, keys: readonly DerivedKeys[]) {
    checkTokens(tokens);
    this.#tokens = new Map(tokens);
    this.#keys = keys;
  }

  userOf(token: string): string | undefined {
    let found: string | undefined;
    for (const [user, t] of this.#tokens) {
      if (safeEqual(t, token) && found === undefined) found = user;
    }
    return found;
  }

  has(user: string): boolean {
    return this.#tokens.has(user);
  }

  /** The fingerprint of a user's current token that their session cookie carries. */
  fingerprint(user: string): string | undefined {
    const t = this.#tokens.get(user);
    return t === undefined ? undefined : mac(this.#keys[0]!.credential, t);
  }

  /** Whether a cookie's fingerprint is of the user's current token (under any key, for rotation). */
  matches(user: string, cred: string | undefined): boolean {
    const t = this.#tokens.get(user);
    if (t === undefined || cred === undefined) return false;
    let ok = false;
    for (const k of this.#keys) ok = safeEqual(mac(k.credential, t), cred) || ok;
    return ok;
  }
}
