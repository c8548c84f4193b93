/**
 * Shared parts of the HTTP fuzz tests: the case count and seed from the environment, a
 * keep-alive loopback client, arbitraries for methods, paths, queries, headers and bodies,
 * and the rule every answer must keep (no 5xx; a 4xx carries a JSON error with a message).
 *
 * SDFLEET_FUZZ_RUNS sets the cases per property (default 10000); SDFLEET_FUZZ_SEED (and
 * SDFLEET_FUZZ_PATH, both printed by fast-check on a failure) replays one.
 */
import http from 'node:http';
import fc from 'fast-check';
import { Pool } from 'undici';

export const RUNS = Number(process.env.SDFLEET_FUZZ_RUNS ?? 10_000);

/** fast-check parameters: the run count, and a replay when the environment asks for one. */
export function fuzzParams<T>(): fc.Parameters<T> {
  const seed = process.env.SDFLEET_FUZZ_SEED;
  const path = process.env.SDFLEET_FUZZ_PATH;
  return {
    numRuns: RUNS,
    ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
    ...(path !== undefined && path !== '' ? { path } : {}),
    // Bounded, so a failure (or a hang, each a 10 s timeout while shrinking) is reported with
    // its seed before the test's own time limit; running out of time is a failure too.
    interruptAfterTimeLimit: 150_000,
    markInterruptAsFailure: true,
    includeErrorInReport: true,
  };
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body of a 4xx or 5xx, and of a success when asked for (some are endless streams). */
  text: string | undefined;
}

/** Every method Node's HTTP parser knows but CONNECT (a tunnel, not a request). */
export const METHODS: readonly string[] = http.METHODS.filter((m) => m !== 'CONNECT');

export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') },
  { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
);

/** Path segments that trip decoders and routers. */
const TRICKY_SEGMENTS = [
  '', '.', '..', '...', '%25', 'a%25zz.png', '%2525', '%2e%2e', '%2E%2E%2F', '%2F', '%2f..%2f', '%5C', '%00', '%', '%%', '%zz', '%e0%a4%a', '%C0%AE', '%FF%FE', '%ff',
  '%E2%80%AE', '%F0%9F%98%80', 'a%2Fb', '~', '@', ';', ';x=1', ',', '$', '*', '!', "'", '(', ')', '+', '=', '&', ':', '::',
  '\\', '..\\..', 'con', 'NUL', 'a'.repeat(300), '0', '-1', '1e309', '__proto__', 'constructor', 'prototype', 'toString',
];

/** One path segment: known words of the API under test, tricks, or random printable ASCII. */
export function segmentArb(words: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...words) },
    { weight: 3, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.~!$&\'()*+,;=:@%'.split('')), maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => encodeURIComponent(s)) },
    // Any printable ASCII but the characters that end a path.
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)).filter((c) => c !== '?' && c !== '#' && c !== '/'), maxLength: 10 }) },
  );
}

/** A path under one of `bases`, made of segments; sometimes with doubled or trailing slashes. */
export function pathArb(bases: readonly string[], words: readonly string[], extraPaths: readonly string[] = []): fc.Arbitrary<string> {
  const built = fc
    .tuple(fc.constantFrom(...bases), fc.array(segmentArb(words), { maxLength: 5 }), fc.constantFrom('', '', '', '/', '//'), fc.boolean())
    .map(([base, segs, tail, doubled]) => {
      const p = `${base}${segs.length > 0 ? '/' : ''}${segs.join(doubled ? '//' : '/')}${tail}`;
      return p.startsWith('/') ? p : `/${p}`;
    });
  return extraPaths.length > 0 ? fc.oneof({ weight: 9, arbitrary: built }, { weight: 1, arbitrary: fc.constantFrom(...extraPaths) }) : built;
}

/** `?k=v&…` from known keys (with junk values) and random pairs; or nothing. */
export function queryArb(keys: readonly string[], values: readonly string[] = []): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom('', 'true', '1', '0', '-1', 'All', 'x', '%', '%zz', '%00', '1e309', '99999999999999999999', 'a%3Db', '%E2%80%AE', ...values),
    fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
  );
  const pair = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...keys), value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: fc.constantFrom(...'ab[]=%.&_'.split('')), maxLength: 8 }), value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: fc.constantFrom('&', '=', '==', 'a', 'a[b]=1', 'a[][c]=1', '__proto__[x]=1', 'constructor[prototype][x]=1') },
  );
  return fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }).map((ps) => `?${ps.join('&')}`) });
}

/** A header value Node will send: printable Latin-1, no CR/LF. */
export const headerValueArb: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }) }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
}).map((s) => s.trim());

export const CONTENT_TYPES = [
  'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1',
  'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/*+json', 'application/merge-patch+json', 'application/json-patch+json',
  'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/yaml', 'text/yaml', 'application/vnd.kubernetes.protobuf',
  'text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'multipart/form-data', 'application/octet-stream',
  '*/*', 'json', ';', 'application/json;;', 'application/json; boundary="', 'a/b/c',
];

export const ACCEPTS = [
  'application/json', '*/*', 'text/html', 'text/html,application/xhtml+xml', 'application/yaml', 'application/vnd.kubernetes.protobuf',
  'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=Table;v=v9;g=meta.k8s.io', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'image/png', ';;,', ',', 'application/json;q=0',
];

/** Content-Type and Accept variants (usually there), now and then one more odd header. */
export const headersArb: fc.Arbitrary<Record<string, string>> = fc
  .record({
    type: fc.option(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: headerValueArb }), { freq: 6 }),
    accept: fc.option(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ACCEPTS) }, { weight: 1, arbitrary: headerValueArb }), { freq: 3 }),
    odd: fc.option(
      fc.oneof(
        fc.tuple(fc.constant('content-encoding'), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus', 'gzip, gzip')),
        fc.tuple(fc.constant('accept-encoding'), fc.constantFrom('gzip', '*', 'identity;q=0', 'bogus')),
        fc.tuple(fc.constant('x-forwarded-for'), fc.constantFrom('1.2.3.4', 'garbage', '::1, 10.0.0.1')),
        fc.tuple(fc.constantFrom('x-fuzz', 'if-none-match', 'range', 'x-http-method-override'), headerValueArb),
      ),
      { freq: 5, nil: undefined },
    ),
  })
  .map(({ type, accept, odd }) => {
    const out: Record<string, string> = {};
    if (type) out['content-type'] = type;
    if (accept) out.accept = accept;
    if (odd && odd[1] !== '') out[odd[0]] = odd[1];
    return out;
  });

/** Numbers JSON can spell that code often mishandles. */
const ODD_NUMBERS = ['1e309', '9007199254740991', '"9007199254740991"', '"-9007199254740991"', '"1e3"', '" 12 "', '-1e309', '1e-400', '-0', '0.5', '9007199254740993', '123456789012345678901234567890', '1E2', '-1', '1000000', '2147483648', '0x10', 'NaN', 'Infinity'];

/** A JSON text that nests `depth` levels. */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * Bodies: random JSON shapes, objects with the API's own keys holding any value (wrong
 * types, huge numbers), deep nesting (bounded), invalid JSON and invalid UTF-8, empty
 * bodies, and bodies over the limit.
 */
export function bodyArb(keys: readonly string[], opts: { overLimit?: number; samples?: readonly unknown[] } = {}): fc.Arbitrary<string | Buffer | undefined> {
  const anyValue = fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, '', ' ', 'a'.repeat(70), '0', -1, 0, 1.5, 1e21, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, [], {}, ['x'], { a: 1 }) },
  );
  const keyed = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), anyValue, { maxKeys: 4 });
  const withOddNumber = fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...ODD_NUMBERS)).map(([k, n]) => `{"${k}":${n}}`);
  const samples = opts.samples ?? [];
  const arbs: fc.WeightedArbitrary<string | Buffer | undefined>[] = [
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '0', '""', 'true') },
    { weight: 6, arbitrary: keyed.map((o) => JSON.stringify(o)) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: withOddNumber },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom<'array' | 'object'>('array', 'object')).map(([d, k]) => nested(d, k)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":}', '{"a" 1}', "{'a':1}", '{"a":1,}', '[1,]', '{"a":1}{"b":2}', '\uFEFF{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"a":1e999999}') },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"name":"\xc3\x28"}', 'latin1'), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), Buffer.from('1f8b0800', 'hex')) },
  ];
  if (samples.length > 0) arbs.push({ weight: 4, arbitrary: fc.constantFrom(...samples).chain((s) => mutated(s)).map((v) => JSON.stringify(v)) });
  if (opts.overLimit !== undefined) arbs.push({ weight: 1, arbitrary: fc.constant(`{"a":"${'x'.repeat(opts.overLimit)}"}`) });
  return fc.oneof(...arbs);
}

/** A valid sample with one part replaced by a random value, or removed. */
export function mutated(sample: unknown): fc.Arbitrary<unknown> {
  const paths: string[][] = [];
  const walk = (v: unknown, p: string[]): void => {
    paths.push(p);
    if (p.length >= 5 || typeof v !== 'object' || v === null) return;
    for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(sample, []);
  const replacement = fc.oneof(
    fc.constant<unknown>(undefined),
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom<unknown>(null, -1, 1.5, 1e300, '', 'x', true, [], {}, 'a'.repeat(300), Number.MAX_SAFE_INTEGER, '9007199254740991', Number.MAX_SAFE_INTEGER + 2, 2 ** 31, '__proto__'),
  );
  return fc.tuple(fc.constantFrom(...paths), replacement, fc.boolean()).map(([p, value, keep]) => {
    if (keep) return structuredClone(sample);
    const copy = structuredClone(sample) as Record<string, unknown>;
    if (p.length === 0) return value;
    let cur: Record<string, unknown> = copy;
    for (const k of p.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
    const last = p[p.length - 1]!;
    if (value === undefined) delete cur[last];
    else cur[last] = value;
    return copy;
  });
}

/** A keep-alive client to one server; answers are read as `Answer`s. */
export class FuzzClient {
  readonly #pool: Pool;

  constructor(origin: string, connections = 4) {
    this.#pool = new Pool(origin, { connections, keepAliveTimeout: 30_000, pipelining: 1 });
  }

  async send(r: FuzzRequest, opts: { timeoutMs?: number; readSuccess?: boolean } = {}): Promise<Answer> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const res = await this.#pool.request({
      method: r.method as 'GET',
      path: r.path,
      headers: r.headers,
      ...(r.body !== undefined && r.method !== 'HEAD' ? { body: r.body } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode < 400 && !(opts.readSuccess && res.headers['content-length'] !== undefined)) {
      // Streams (watches) never end: drop what is left instead of reading it.
      if (res.headers['content-length'] === undefined) {
        res.body.on('error', () => undefined);
        res.body.destroy();
      }
      else await res.body.dump({ limit: 1 << 20 });
      return { status: res.statusCode, headers: res.headers, text: undefined };
    }
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** The message of a JSON error body, in any of the shapes sdfleet's servers use. */
export type ErrorShape = (body: unknown) => string | undefined;

/** `{"error":{"code","message"}}` (allocator, webhook). */
export const sdfleetError: ErrorShape = (b) => {
  const e = (b as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string' ? e.message : undefined;
};

/** A Kubernetes Status (`{kind:"Status", status:"Failure", message, reason, code}`). */
export const kubeStatus: ErrorShape = (b) => {
  const s = b as { kind?: unknown; status?: unknown; message?: unknown; code?: unknown } | null;
  return s?.kind === 'Status' && s.status === 'Failure' && typeof s.message === 'string' && typeof s.code === 'number' ? s.message : undefined;
};

/** grpc-gateway's `{code, message, details}`. */
export const gatewayError: ErrorShape = (b) => {
  const s = b as { code?: unknown; message?: unknown; details?: unknown } | null;
  return typeof s?.code === 'number' && typeof s.message === 'string' && Array.isArray(s.details) ? s.message : undefined;
};

/**
 * What is wrong with an answer, or undefined when it keeps the rule: below 500 (unless
 * `allow5xx` says this one is meant), a redirect has a Location, and a 4xx is JSON with a
 * non-empty message in the server's error shape (HEAD answers have no body to check).
 */
export function problemWith(req: FuzzRequest, a: Answer, shape: ErrorShape, allow5xx: (req: FuzzRequest, a: Answer) => boolean = () => false): string | undefined {
  const what = `${a.status} ${a.text?.slice(0, 300) ?? ''}`;
  if (a.status >= 500 && !allow5xx(req, a)) return `a server error: ${what}`;
  if (a.status >= 300 && a.status < 400 && a.status !== 304 && !a.headers.location) return `a redirect without a Location: ${what}`;
  if (a.status < 400 || req.method === 'HEAD') return undefined;
  const type = String(a.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) return `an error that is not JSON (content-type "${type}"): ${what}`;
  let body: unknown;
  try {
    body = JSON.parse(a.text ?? '');
  } catch {
    return `an error body that does not parse as JSON: ${what}`;
  }
  const message = shape(body);
  if (!message || message.trim() === '') return `an error without a message in the expected shape: ${what}`;
  return undefined;
}

/** A short line describing a request, for failure reports. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : Buffer.isBuffer(r.body) ? ` <${r.body.length} bytes>` : ` ${r.body.slice(0, 200)}${r.body.length > 200 ? `…(${r.body.length})` : ''}`;
  return `${r.method} ${r.path} ${JSON.stringify(r.headers)}${body}`;
}

/** Status counts, so a test can check the mix reached past routing. */
export class Tally {
  readonly codes = new Map<number, number>();
  add(status: number): void {
    this.codes.set(status, (this.codes.get(status) ?? 0) + 1);
  }
  count(status: number): number {
    return this.codes.get(status) ?? 0;
  }
  toString(): string {
    return JSON.stringify(Object.fromEntries([...this.codes].sort((a, b) => a[0] - b[0])));
  }
}
