import http from 'node:http';
import type { Logger } from '../../common/log.ts';
import { toGatewayJson } from './convert.ts';
import { GrpcStatus, SdkError, httpStatusOf } from './errors.ts';
import type { Counter, List } from './proto.ts';
import type { SdkCore } from './sdk-core.ts';

const MAX_BODY = 1 << 20;

/**
 * The SDK's REST gateway, as Agones serves it on AGONES_SDK_HTTP_PORT: the same calls as
 * gRPC, JSON with proto field names, 64-bit integers as strings, errors as
 * `{code, message, details}` with grpc-gateway's HTTP statuses.
 */
export function createGatewayServer(core: SdkCore, log: Logger): http.Server {
  const server = http.createServer((req, res) => {
    handle(core, req, res).catch((err: unknown) => {
      const e = err instanceof SdkError ? err : new SdkError(GrpcStatus.INTERNAL, String((err as Error)?.message ?? err));
      if (e.grpcCode === GrpcStatus.INTERNAL) log.error({ err }, 'SDK gateway request failed');
      if (!res.headersSent) sendJson(res, httpStatusOf(e.grpcCode), { code: e.grpcCode, message: e.message, details: [] });
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

async function handle(core: SdkCore, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = requestUrl(req.url);
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const route = `${method} ${path}`;

  switch (route) {
    case 'POST /ready': await readBody(req); await core.ready(); return sendJson(res, 200, {});
    case 'POST /allocate': await readBody(req); await core.allocate(); return sendJson(res, 200, {});
    case 'POST /shutdown': await readBody(req); await core.shutdown(); return sendJson(res, 200, {});
    case 'POST /health': await readBody(req); core.health(); return sendJson(res, 200, {});
    case 'POST /reserve': {
      const body = await readBody(req);
      await core.reserve(int64(body.seconds ?? 0, 'seconds'));
      return sendJson(res, 200, {});
    }
    case 'GET /gameserver': return sendJson(res, 200, toGatewayJson(await core.getGameServer()));
    case 'GET /watch/gameserver': return watch(core, req, res);
    case 'PUT /metadata/label':
    case 'PUT /metadata/annotation': {
      const body = await readBody(req);
      const key = str(body.key, 'key');
      const value = str(body.value ?? '', 'value');
      if (path.endsWith('label')) await core.setLabel(key, value);
      else await core.setAnnotation(key, value);
      return sendJson(res, 200, {});
    }
  }

  if (path.startsWith('/alpha/')) {
    throw new SdkError(GrpcStatus.UNIMPLEMENTED, "player tracking (Agones' alpha PlayerTracking feature) is not offered by sdfleet's SDK server");
  }

  const counter = /^\/v1beta1\/counters\/([^/:]+)$/.exec(path);
  if (counter) {
    const name = decodeName(counter[1]!);
    if (method === 'GET') return sendJson(res, 200, counterJson(await core.getCounter(name)));
    if (method === 'PATCH') {
      const body = await readBody(req);
      const c = await core.updateCounter({
        name,
        count: body.count === undefined || body.count === null ? null : { value: int64(body.count, 'count') },
        capacity: body.capacity === undefined || body.capacity === null ? null : { value: int64(body.capacity, 'capacity') },
        countDiff: body.countDiff === undefined ? 0 : int64(body.countDiff, 'countDiff'),
      });
      return sendJson(res, 200, counterJson(c));
    }
  }

  const list = /^\/v1beta1\/lists\/([^/:]+)(:addValue|:removeValue)?$/.exec(path);
  if (list) {
    const name = decodeName(list[1]!);
    const action = list[2];
    if (!action && method === 'GET') return sendJson(res, 200, listJson(await core.getList(name)));
    if (!action && method === 'PATCH') {
      const body = await readBody(req);
      const mask = url.searchParams.get('update_mask') ?? url.searchParams.get('updateMask');
      const paths = mask ? mask.split(',').map((p) => p.trim()) : Object.keys(body).filter((k) => k === 'capacity' || k === 'values');
      const values = body.values === undefined ? [] : strArray(body.values, 'values');
      const l = await core.updateList({
        list: { name, capacity: body.capacity === undefined ? 0 : int64(body.capacity, 'capacity'), values },
        updateMask: { paths },
      });
      return sendJson(res, 200, listJson(l));
    }
    if (action && method === 'POST') {
      const body = await readBody(req);
      const value = str(body.value, 'value');
      const l = action === ':addValue' ? await core.addListValue(name, value) : await core.removeListValue(name, value);
      return sendJson(res, 200, listJson(l));
    }
  }

  throw Object.assign(new SdkError(GrpcStatus.NOT_FOUND, `no SDK route for ${method} ${path}; see Agones' REST SDK reference`), {});
}

/**
 * The request's URL. The target is read as a path even when it starts with `//` (a URL
 * parser would take what follows for a host, and fail or route elsewhere).
 */
export function requestUrl(target: string | undefined): URL {
  const t = target ?? '/';
  try {
    return new URL(`http://sdk${t.startsWith('/') ? '' : '/'}${t}`);
  } catch {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `the request path ${JSON.stringify(t.slice(0, 200))} is not a valid URL path; see Agones' REST SDK reference for the routes`);
  }
}

/** A counter or list name from the path; a 400 when its %-escapes are malformed. */
function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `the name ${JSON.stringify(raw.slice(0, 200))} in the path has a malformed %-escape; encode it with encodeURIComponent`);
  }
}

function watch(core: SdkCore, req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  const send = (gs: Parameters<typeof toGatewayJson>[0]): void => {
    if (!res.writableEnded) res.write(JSON.stringify({ result: toGatewayJson(gs) }) + '\n');
  };
  const unwatch = core.watch(send);
  const unGone = core.onGone(() => {
    cleanup();
    res.end();
  });
  const cleanup = (): void => {
    unwatch();
    unGone();
  };
  req.on('close', cleanup);
  res.on('close', cleanup);
  core.getGameServer().then(send, (err: unknown) => {
    cleanup();
    res.end(JSON.stringify({ error: { code: GrpcStatus.UNAVAILABLE, message: (err as Error).message } }) + '\n');
  });
}

function counterJson(c: Counter): unknown {
  return { name: c.name, count: String(c.count), capacity: String(c.capacity) };
}

function listJson(l: List): unknown {
  return { name: l.name, capacity: String(l.capacity), values: l.values };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, 'request body must be a JSON object, e.g. {}');
  }
  return parsed as Record<string, unknown>;
}

/** proto3 JSON int64: a number or a decimal string. */
function int64(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `${field} must be a whole number (as a number or a string), got ${JSON.stringify(v)}`);
  }
  return n;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `${field} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function strArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `${field} must be an array of strings`);
  }
  return v as string[];
}
