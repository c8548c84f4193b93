/**
 * Header rewriting, both ways, on flat raw header lists (`[name, value, name, value, …]`
 * as in `IncomingMessage.rawHeaders`): order, case and repeated headers are kept.
 */

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, RFC 7230 §6.1, plus the de-facto Proxy-Connection),
 * never forwarded in either direction; neither is a header the Connection header names.
 * Framing is set from the parsed message instead (Content-Length, or chunked by the
 * client), Upgrade and Connection again for a WebSocket. Expect is answered by Node's
 * server itself.
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect', 'content-length', 'host',
]);

export interface RequestHeaderInput {
  rawHeaders: readonly string[];
  /**
   * Content-Length as Node parsed it (authoritative framing), if any. Without one, a body
   * goes chunked: the client (undici) frames what it is given to stream itself.
   */
  contentLength: string | undefined;
  /** The Host header the client sent. */
  host: string | undefined;
  remoteAddress: string | undefined;
  encrypted: boolean;
  /** The peer is a trusted proxy: its X-Forwarded-* are kept and appended to. */
  trusted: boolean;
}

export interface HeaderPolicy {
  /** Allocator cookie names. */
  cookies: ReadonlySet<string>;
  /** Lower-case header names never forwarded. */
  strip: ReadonlySet<string>;
  xForwarded: boolean;
}

/** Lower-case names listed in Connection headers (`Connection: close, X-Foo`). */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = raw[i + 1]!;
    // The usual values name no header: skip the split.
    if (value.length <= 10 && /^(?:keep-alive|close|upgrade)$/i.test(value)) continue;
    for (const t of value.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok !== '' && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade') (out ??= new Set()).add(tok);
    }
  }
  return out;
}

/**
 * The headers to send to the instance: hop-by-hop ones and the allocator's credentials
 * (its cookies, `strip` headers) removed, Host set to the target, framing from the parsed
 * request, X-Forwarded-* added; for a WebSocket, `Connection: Upgrade` and `Upgrade: websocket`.
 */
export function upstreamRequestHeaders(inp: RequestHeaderInput, targetHost: string, policy: HeaderPolicy, webSocket: boolean): string[] {
  const raw = inp.rawHeaders;
  const named = connectionTokens(raw);
  const out: string[] = [];
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let xfPort: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || policy.strip.has(lower) || named?.has(lower)) continue;
    if (lower === 'cookie') {
      const kept = withoutCookies(value, policy.cookies);
      if (kept !== '') out.push(name, kept);
      continue;
    }
    if (lower.startsWith('x-forwarded-') || lower === 'forwarded' || lower === 'x-real-ip') {
      if (!inp.trusted) continue;
      if (policy.xForwarded) {
        // Kept from a trusted peer, merged with ours below.
        if (lower === 'x-forwarded-for') { xff = xff === undefined ? value : `${xff}, ${value}`; continue; }
        if (lower === 'x-forwarded-proto') { xfProto ??= value; continue; }
        if (lower === 'x-forwarded-host') { xfHost ??= value; continue; }
        if (lower === 'x-forwarded-port') { xfPort ??= value; continue; }
      }
    }
    out.push(name, value);
  }
  out.push('Host', targetHost);
  if (inp.contentLength !== undefined) out.push('Content-Length', inp.contentLength);
  if (webSocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  if (policy.xForwarded) {
    const peer = plainAddress(inp.remoteAddress);
    out.push('X-Forwarded-For', xff === undefined ? peer : `${xff}, ${peer}`);
    const proto = xfProto ?? (inp.encrypted ? 'https' : 'http');
    out.push('X-Forwarded-Proto', proto);
    if (xfHost !== undefined || inp.host !== undefined) out.push('X-Forwarded-Host', xfHost ?? inp.host!);
    out.push('X-Forwarded-Port', xfPort ?? portOf(inp.host) ?? (proto === 'https' ? '443' : '80'));
  }
  return out;
}

/**
 * The instance's response headers for the client: hop-by-hop ones removed (Node sets the
 * framing itself from Content-Length, or chunks), and any Set-Cookie for an allocator
 * cookie dropped, so an instance can neither replace nor clear the user's session.
 */
export function clientResponseHeaders(raw: readonly string[], policy: HeaderPolicy, webSocket: boolean): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if ((HOP_BY_HOP.has(lower) && lower !== 'content-length') || named?.has(lower)) continue;
    const value = raw[i + 1]!;
    if (lower === 'set-cookie' && policy.cookies.has(cookieName(value))) continue;
    out.push(name, value);
  }
  if (webSocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  return out;
}

/** A Cookie header without the named cookies ('' when none is left). */
export function withoutCookies(value: string, names: ReadonlySet<string>): string {
  let any = false;
  for (const n of names) if (value.includes(n)) { any = true; break; }
  if (!any) return value;
  const kept: string[] = [];
  for (const part of value.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    if (!names.has(cookieName(p))) kept.push(p);
  }
  return kept.join('; ');
}

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; a missing address (socket gone) → `unknown`. */
function plainAddress(a: string | undefined): string {
  if (!a) return 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The port in a Host header (`example.com:8443`, `[::1]:8080`), if any. */
function portOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const colon = host.lastIndexOf(':');
  if (colon === -1 || host.lastIndexOf(']') > colon) return undefined;
  const port = host.slice(colon + 1);
  return /^\d{1,5}$/.test(port) ? port : undefined;
}

/** `host:port` for a Host header, bracketing IPv6 literals. */
export function hostHeader(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
