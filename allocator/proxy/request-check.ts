import type { IncomingHttpHeaders } from 'node:http';

/** Why a request is not forwarded: always a 400 with a code and a message for the client. */
export interface Refusal {
  status: 400;
  code: string;
  message: string;
}

export type Checked = { path: string; refusal?: undefined } | { path?: undefined; refusal: Refusal };

const refuse = (code: string, message: string): Checked => ({ refusal: { status: 400, code, message } });

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/i;

/**
 * The checks made before a request is forwarded, and the path to send (origin-form).
 *
 * The target is one fixed host:port per user, so no path can reach another user's
 * instance; what is guarded against is confusing the instance or anything between:
 * - CONNECT, and `OPTIONS *`: nothing to forward.
 * - absolute-form (`GET http://evil/ HTTP/1.1`): taken only for the host the request
 *   names in Host (rewritten to origin-form); any other host is refused.
 * - `..` segments, after percent-decoding (repeated, so `%252e%252e` counts), with `\` and
 *   `=` taken as separators too: the WebUI serves files by path (`/file=<path>`, the
 *   route of Gradio's path traversal bugs), and a browser never sends these (it resolves
 *   them). Encoded slashes (`%2F`) alone pass: the WebUI puts file paths in URLs that way.
 * - NUL (`%00`) in the path.
 * - Content-Length together with Transfer-Encoding (request smuggling). Node's parser
 *   already refuses that, duplicate Content-Lengths and CR/LF in header values with a 400
 *   of its own; this repeats the first in case the server runs with `insecureHTTPParser`.
 * The path itself is forwarded as received, never re-encoded.
 */
export function checkRequest(method: string | undefined, url: string | undefined, headers: IncomingHttpHeaders): Checked {
  if (method === 'CONNECT') return refuse('connect_refused', 'CONNECT is not proxied: send ordinary requests to this host.');
  if (!url) return refuse('bad_path', 'the request has no path.');
  let path = url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE_FORM.exec(url);
    if (!m) return refuse('bad_path', `expected a path starting with "/", got ${JSON.stringify(url.slice(0, 100))}.`);
    const authority = m[1] ?? '';
    if (authority.toLowerCase() !== (headers.host ?? '').toLowerCase()) {
      return refuse('absolute_url', `a request for another host (${JSON.stringify(authority.slice(0, 100))}) is not proxied: send a path to this host.`);
    }
    path = m[2] || '/';
    if (path.charCodeAt(0) !== 47) path = '/' + path;
  }
  if (headers['transfer-encoding'] !== undefined && headers['content-length'] !== undefined) {
    return refuse('bad_framing', 'the request has both Content-Length and Transfer-Encoding: send one of them.');
  }
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  // Fast path: nothing to decode and no dot segment or backslash possible.
  if (p.indexOf('%') === -1 && p.indexOf('.') === -1 && p.indexOf('\\') === -1) return { path };
  const decoded = decodeRepeatedly(p);
  if (decoded.includes('\0')) return refuse('bad_path', 'the path contains a NUL byte (%00).');
  if (DOT_DOT.test(decoded)) return refuse('bad_path', 'the path contains a ".." segment (after decoding): send the resolved path.');
  return { path };
}

const PERCENT = /%([0-9a-fA-F]{2})/g;

/** `..` as a whole segment, with `/`, `\` and `=` (the WebUI's `/file=<path>`) as separators. */
const DOT_DOT = /(?:^|[/\\=])\.\.(?:[/\\]|$)/;

/** Percent-decodes up to three times; malformed escapes stay as they are (never throws). */
function decodeRepeatedly(s: string): string {
  let cur = s;
  for (let i = 0; i < 3 && cur.indexOf('%') !== -1; i++) {
    const next = cur.replace(PERCENT, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === cur) break;
    cur = next;
  }
  return cur;
}
