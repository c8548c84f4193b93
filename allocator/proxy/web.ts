import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { errorMessage } from '../../common/errors.ts';
import { logPath, poolFor, sendAnswer, type ProxyCore } from './core.ts';
import { clientResponseHeaders, hostHeader, upstreamRequestHeaders } from './headers.ts';
import { checkRequest } from './request-check.ts';
import { errorAnswer, goneAnswer, noSessionAnswer, refusalAnswer, startingAnswer } from './responses.ts';
import type { Route } from './types.ts';
import { errorCode, isUnreachable } from './upstream-errors.ts';

type Target = Extract<Route, { kind: 'target' }>;

/** Methods safe to send twice: one that met a keep-alive connection the instance was closing is retried once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Handles one HTTP request: check, resolve, then answer or forward. Never throws. */
export function handleWeb(core: ProxyCore, req: IncomingMessage, res: ServerResponse): void {
  const start = performance.now();
  const o = core.o;
  if (core.closed) {
    sendAnswer(core, res, errorAnswer(503, 'proxy_closed', 'the allocator is shutting down: try again in a moment.', req.headers.accept, o.startPage), start);
    return;
  }
  const checked = checkRequest(req.method, req.url, req.headers);
  if (checked.refusal) {
    sendAnswer(core, res, refusalAnswer(checked.refusal.code, checked.refusal.message, req.headers.accept), start);
    return;
  }
  const path = checked.path;
  let route: Route | Promise<Route>;
  try {
    route = o.resolve(req);
  } catch (err) {
    resolveFailed(core, req, res, err, start);
    return;
  }
  if (route instanceof Promise) {
    route.then(
      (r) => { if (!res.destroyed) dispatch(core, req, res, r, path, start); },
      (err: unknown) => resolveFailed(core, req, res, err, start),
    );
  } else {
    dispatch(core, req, res, route, path, start);
  }
}

function resolveFailed(core: ProxyCore, req: IncomingMessage, res: ServerResponse, err: unknown, start: number): void {
  core.o.log.error({ err: errorMessage(err), method: req.method, path: logPath(req) }, 'proxy: resolving the route failed');
  sendAnswer(core, res, errorAnswer(500, 'internal', 'the allocator could not look up your instance: try again; if it persists, tell the administrator.', req.headers.accept, core.o.startPage), start);
}

function dispatch(core: ProxyCore, req: IncomingMessage, res: ServerResponse, route: Route, path: string, start: number): void {
  const o = core.o;
  const accept = req.headers.accept;
  switch (route.kind) {
    case 'target':
      forward(core, req, res, route, path, start, 0);
      return;
    case 'no-session':
      sendAnswer(core, res, noSessionAnswer(o.startPage, accept, route.signedIn === true), start);
      return;
    case 'gone':
      sendAnswer(core, res, goneAnswer(o.startPage, accept, route.reason), start);
      return;
    case 'starting':
      sendAnswer(core, res, startingAnswer(accept, o.startingRetryAfterSec), start);
      return;
    default:
      resolveFailed(core, req, res, new Error(`resolve returned an unknown route ${JSON.stringify(route)}; expected kind target, no-session, gone or starting`), start);
  }
}

/**
 * Sends the request to the instance through its keep-alive pool, streaming the body, and
 * streams the response back. Both directions apply backpressure: the request body is read
 * only as fast as the instance takes it, and a response chunk the client cannot take yet
 * pauses the instance's connection until the client drains.
 */
function forward(core: ProxyCore, req: IncomingMessage, res: ServerResponse, target: Target, path: string, start: number, attempt: number): void {
  const o = core.o;
  const contentLength = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0');
  const authority = hostHeader(target.host, target.port);
  const headers = upstreamRequestHeaders(
    {
      rawHeaders: req.rawHeaders,
      contentLength,
      host: req.headers.host,
      remoteAddress: req.socket.remoteAddress,
      encrypted: (req.socket as TLSSocket).encrypted === true,
      trusted: o.trusted(req.socket.remoteAddress ?? ''),
    },
    authority,
    o,
    false,
  );
  const x = new Exchange(core, req, res, target, path, start, attempt, hasBody);
  if (hasBody) {
    // Counted on the way; undici resumes the stream when it starts writing the body.
    req.on('data', (chunk: Buffer) => { x.bytesIn += chunk.length; });
    req.pause();
  }
  poolFor(core, `http://${authority}`).dispatch(
    { path, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null },
    x,
  );
}

/** One request/response exchange with an instance: undici's handler for it. */
class Exchange implements Dispatcher.DispatchHandlers {
  bytesIn = 0;
  bytesOut = 0;
  readonly #core: ProxyCore;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #target: Target;
  readonly #path: string;
  readonly #start: number;
  readonly #attempt: number;
  readonly #hasBody: boolean;
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #drainHooked = false;
  /** The instance's response head arrived (and was written to the client). */
  #answered = false;
  /** The client went away, or this exchange handed over: what undici reports next is nobody's concern. */
  #done = false;

  constructor(core: ProxyCore, req: IncomingMessage, res: ServerResponse, target: Target, path: string, start: number, attempt: number, hasBody: boolean) {
    this.#core = core;
    this.#req = req;
    this.#res = res;
    this.#target = target;
    this.#path = path;
    this.#start = start;
    this.#attempt = attempt;
    this.#hasBody = hasBody;
    res.once('close', () => {
      if (!res.writableFinished && !this.#done) {
        // The client went away (or the response was cut off): stop the instance's side too.
        this.#done = true;
        this.#abort?.();
      }
      const m = core.o.metrics;
      if (m) {
        if (this.bytesIn > 0) m.bytes('in', this.bytesIn);
        if (this.bytesOut > 0) m.bytes('out', this.bytesOut);
      }
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.#done) return false;
    const o = this.#core.o;
    const res = this.#res;
    this.#resume = resume;
    this.#answered = true;
    if (status < 300) o.onActivity?.(this.#target.key, 'http');
    const strings = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) strings[i] = raw[i]!.toString('latin1');
    try {
      let h = clientResponseHeaders(strings, o, false);
      // writeHead replaces headers set before it; a Set-Cookie the allocator set (a renewed
      // session) must survive the instance's own Set-Cookie.
      if (res.hasHeader('set-cookie')) h = appendSetCookies(res, h);
      if (statusText) res.writeHead(status, statusText, h);
      else res.writeHead(status, h);
    } catch (err) {
      // undici accepted a header that Node's server refuses to send.
      o.log.error({ key: this.#target.key, err: errorMessage(err), path: logPath(this.#req) }, 'proxy: the instance sent a response header that cannot be forwarded');
      this.#done = true;
      this.#abort?.();
      sendAnswer(this.#core, res, errorAnswer(500, 'bad_upstream_response', 'your instance sent a response that cannot be forwarded.', this.#req.headers.accept, o.startPage), this.#start);
      return false;
    }
    o.metrics?.request(status, (performance.now() - this.#start) / 1000, 'upstream');
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#done) return false;
    this.bytesOut += chunk.length;
    if (this.#res.write(chunk)) return true;
    // The client is slower: undici stops reading the instance's connection until it drains.
    if (!this.#drainHooked) {
      this.#drainHooked = true;
      this.#res.on('drain', () => this.#resume?.());
    }
    return false;
  }

  onComplete(): void {
    if (!this.#done) this.#res.end();
  }

  onError(err: Error): void {
    if (this.#done) return;
    const res = this.#res;
    if (this.#answered || res.headersSent) {
      // Cut off mid-body: the client must not take a truncated body for a whole one.
      res.destroy();
      return;
    }
    const core = this.#core;
    const o = core.o;
    const req = this.#req;
    const target = this.#target;
    const code = errorCode(err);
    if (this.#attempt === 0 && !this.#hasBody && IDEMPOTENT.has(req.method ?? '') && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') && !core.closed) {
      // Most likely a pooled connection the instance closed as the request went out: once more.
      this.#done = true;
      forward(core, req, res, target, this.#path, this.#start, 1);
      return;
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      sendAnswer(core, res, errorAnswer(400, 'cannot_forward', `the request cannot be forwarded to your instance: ${err.message}.`, req.headers.accept, o.startPage), this.#start);
    } else if (core.closed) {
      sendAnswer(core, res, errorAnswer(503, 'proxy_closed', 'the allocator is shutting down: try again in a moment.', req.headers.accept, o.startPage), this.#start);
    } else if (isUnreachable(err)) {
      o.log.warn({ key: target.key, target: `${target.host}:${target.port}`, code, method: req.method, path: logPath(req) }, `proxy: instance unreachable (${errorMessage(err)})`);
      o.onGone?.(target.key);
      sendAnswer(core, res, errorAnswer(503, 'instance_unreachable', 'your instance is not answering: it may have ended or be restarting. Try again in a moment.', req.headers.accept, o.startPage), this.#start);
    } else {
      o.log.error({ key: target.key, err: errorMessage(err), code, method: req.method, path: logPath(req) }, 'proxy: request to the instance failed');
      sendAnswer(core, res, errorAnswer(500, 'proxy_error', 'the request to your instance failed: try again; if it persists, tell the administrator.', req.headers.accept, o.startPage), this.#start);
    }
  }
}

/** Moves the Set-Cookie entries of `h` onto `res` (after the ones already there); returns the rest. */
function appendSetCookies(res: ServerResponse, h: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < h.length; i += 2) {
    if (h[i]!.toLowerCase() === 'set-cookie') res.appendHeader('Set-Cookie', h[i + 1]!);
    else rest.push(h[i]!, h[i + 1]!);
  }
  return rest;
}
