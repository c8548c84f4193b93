/**
 * Node's own HTTP/1 parser (llhttp, strict: the one behind `http.createServer`), as Node's
 * `_http_common` module hands it to `http`. The fast lane (`lane.ts`) parses with it so it
 * refuses exactly what Node's server refuses (Content-Length with Transfer-Encoding, bad
 * chunk sizes, CR/LF in values, …). The binding is not a documented API: `LLHTTP.available`
 * says whether this Node's binding behaves as this file expects (a self-test at load), and
 * without it the fast lane stays off and every request takes the ordinary path.
 */
import { createRequire } from 'node:module';

/** One message head, as the parser reports it. */
export interface Head {
  versionMajor: number;
  versionMinor: number;
  /** Flat `[name, value, …]`, as received. */
  rawHeaders: string[];
  /** Requests only; '' for a method Node does not name (none that llhttp takes, as of Node 20). */
  method: string;
  url: string;
  /** Responses only. */
  status: number;
  statusText: string;
  /** An Upgrade (or CONNECT) request, or a 101. */
  upgrade: boolean;
  keepAlive: boolean;
}

/**
 * What the head callback returns: `body` (parse the body as framed), `no-body` (a
 * response to HEAD: no body whatever the headers say), `stop` (parse no further: execute
 * returns the bytes up to the end of this head, and the parser takes the next byte it is
 * given as the first of the next message: a body the caller passes on itself, or bytes
 * for another protocol, are never shown to it).
 */
export type HeadVerdict = 'body' | 'no-body' | 'stop';

export interface Hooks {
  head(h: Head): HeadVerdict;
  /** A slice of the body (chunked framing already removed). */
  body(b: Buffer): void;
  complete(): void;
}

export interface ParseError extends Error {
  code: string;
  bytesParsed?: number;
}

interface Binding {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): ParseError | undefined;
  close(): void;
  [slot: number]: unknown;
}
interface BindingClass {
  new (): Binding;
  REQUEST: number;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const VERDICT: Record<HeadVerdict, number> = { body: 0, 'no-body': 1, stop: 2 };

let binding: { HTTPParser: BindingClass; methods: readonly string[] } | undefined;
try {
  binding = createRequire(import.meta.url)('_http_common') as { HTTPParser: BindingClass; methods: readonly string[] };
} catch {
  binding = undefined;
}

/**
 * Method names by llhttp's method number. `_http_common.methods` lists the names Node
 * supports, but not by number (QUERY is 34th there, 46 in llhttp): each name is parsed once
 * here to learn its number.
 */
const METHOD_NAMES: string[] = [];

/** The name of llhttp's method number `n` ('' when Node does not name it). */
export function methodName(n: number): string {
  return METHOD_NAMES[n] ?? '';
}
function learnMethods(): void {
  const { HTTPParser, methods } = binding!;
  for (const name of methods) {
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, 0, 0);
    p[HTTPParser.kOnHeaders] = (): void => undefined;
    p[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, method: number): number => {
      METHOD_NAMES[method] = name;
      return 2;
    };
    p[HTTPParser.kOnBody] = (): void => undefined;
    p[HTTPParser.kOnMessageComplete] = (): void => undefined;
    p.execute(Buffer.from(`${name} / HTTP/1.1\r\nHost: h\r\n\r\n`, 'latin1'));
    p.close();
  }
}

/** A request or response parser over one connection's bytes. */
export class MessageParser {
  readonly #p: Binding;
  /** Header lines flushed before the head completed (long heads, heads over several reads). */
  #pending: string[] = [];
  #pendingUrl = '';

  constructor(kind: 'request' | 'response', maxHeaderSize: number, hooks: Hooks) {
    const { HTTPParser } = binding!;
    const p = new HTTPParser();
    p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, maxHeaderSize, 0);
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string): void => {
      for (const h of headers) this.#pending.push(h);
      this.#pendingUrl += url;
    };
    p[HTTPParser.kOnHeadersComplete] = (versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number | undefined, url: string | undefined, status: number | undefined, statusText: string | undefined, upgrade: boolean, keepAlive: boolean): number => {
      let rawHeaders = headers ?? [];
      if (this.#pending.length > 0) {
        rawHeaders = [...this.#pending, ...rawHeaders];
        this.#pending = [];
      }
      const u = (url || '') + '';
      const fullUrl = this.#pendingUrl + u;
      this.#pendingUrl = '';
      return VERDICT[hooks.head({
        versionMajor, versionMinor, rawHeaders,
        method: method === undefined ? '' : (METHOD_NAMES[method] ?? ''), url: fullUrl,
        status: status ?? 0, statusText: statusText ?? '', upgrade, keepAlive,
      })];
    };
    p[HTTPParser.kOnBody] = (b: Buffer): void => hooks.body(b);
    p[HTTPParser.kOnMessageComplete] = (): void => hooks.complete();
    this.#p = p;
  }

  /** Bytes consumed (less than given after a `stop`), or the parse error. */
  execute(data: Buffer): number | ParseError {
    return this.#p.execute(data);
  }

  /** End of input: completes a body that runs until the connection closes. */
  finish(): ParseError | undefined {
    return this.#p.finish();
  }

  close(): void {
    this.#p.close();
  }
}

/** Whether this Node's parser binding works as expected; `why` when not. */
export const LLHTTP: { available: boolean; why?: string } = selfTest();

function selfTest(): { available: boolean; why?: string } {
  if (!binding || typeof binding.HTTPParser !== 'function' || !Array.isArray(binding.methods)) return { available: false, why: "node's _http_common has no HTTPParser" };
  try {
    learnMethods();
    if (METHOD_NAMES[1] !== 'GET' || !METHOD_NAMES.includes('POST')) return { available: false, why: `node's HTTPParser numbers methods differently (${JSON.stringify(METHOD_NAMES.slice(0, 5))})` };
    const seen: string[] = [];
    const req = new MessageParser('request', 16_384, {
      head: (h) => { seen.push(`${h.method} ${h.url} ${h.rawHeaders.join('=')}`); return 'body'; },
      body: (b) => seen.push(b.toString()),
      complete: () => seen.push('end'),
    });
    const reqBytes = Buffer.from('POST /a?b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    const n = req.execute(reqBytes);
    req.close();
    const res = new MessageParser('response', 16_384, {
      head: (h) => { seen.push(`${h.status} ${h.statusText} ${String(h.keepAlive)}`); return h.status === 200 ? 'stop' : 'body'; },
      body: (b) => seen.push(b.toString()),
      complete: () => seen.push('end'),
    });
    // After a stop the body is the caller's: the parser goes on with the next head, and
    // still refuses what it must there.
    const resHead = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    const next = Buffer.from('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    const m = res.execute(Buffer.from(`${resHead}ok`));
    const m2 = res.execute(next);
    const bad = res.execute(Buffer.from('HTTP/1.1 202 Accepted\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'));
    res.close();
    const want = ['POST /a?b Host=h=Transfer-Encoding=chunked', 'abc', 'end', '200 OK true', 'end', '201 Created true', 'hi', 'end'];
    if (n !== reqBytes.length || m !== resHead.length || m2 !== next.length || typeof bad === 'number' || seen.join('|') !== want.join('|')) {
      return { available: false, why: `node's HTTPParser binding behaves differently (${String(n)}, ${String(m)}, ${String(m2)}, ${String(bad)}, ${JSON.stringify(seen)})` };
    }
    return { available: true };
  } catch (err) {
    return { available: false, why: `node's HTTPParser binding failed its self-test: ${(err as Error).message}` };
  }
}
