/**
 * The fast lane: the proxy at the level of the connection. The allocator's listening
 * socket hands every new connection here first; the lane parses each request head with
 * Node's own parser (`llhttp.ts`) and, when the allocator's `route` names the instance at
 * once (a signed-in user with a session, nothing to answer itself), writes the request to
 * that instance and the response back with the same header policy as `web.ts`, but
 * without Node's IncomingMessage/ServerResponse and undici around each request. Anything
 * else (the allocator's own paths, a credential to verify, an upgrade, Expect, HTTP/1.0,
 * a refused path) goes to the ordinary server: the connection is handed to it, with the
 * bytes it has not handled, once the instance has answered what was sent before.
 *
 * One connection to the instance per client connection at a time (requests on it go in
 * order; a request for another instance waits for the answers already due, then the lane
 * moves to that instance). Idle instance connections are kept per instance for reuse.
 */
import type http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/errors.ts';
import { logPath, type ProxyCore } from './core.ts';
import { clientResponseHeaders, hostHeader, upstreamRequestHeaders } from './headers.ts';
import { LLHTTP, MessageParser, type Head, type HeadVerdict, type ParseError } from './llhttp.ts';
import { checkRequest } from './request-check.ts';
import { errorAnswer, rawAnswer, type Answer } from './responses.ts';
import type { Route } from './types.ts';
import { errorCode, isUnreachable, timeoutError } from './upstream-errors.ts';

type Target = Extract<Route, { kind: 'target' }>;

/** What `route` sees of a request: its head, with the headers also by lower-case name (Cookie values joined by "; "). */
export interface LaneRequest {
  method: string;
  url: string;
  rawHeaders: readonly string[];
  headers: Readonly<Record<string, string | undefined>>;
  remoteAddress: string | undefined;
}

export interface FastLaneOptions {
  /**
   * The instance for this request, decided without waiting (a verified credential, a
   * session in memory), or undefined: the ordinary server takes the request, and the
   * connection from then on. Only `target` routes are served here.
   */
  route(req: LaneRequest): Route | undefined;
  /**
   * The ordinary server (Express routes, socket.io, `Proxy.web` and `upgrade`). The lane
   * takes over its 'connection' event (before it listens): every accepted connection comes
   * to the lane first, and what the lane hands over goes to Node's own connection handling,
   * which keeps its timeouts, `closeAllConnections` and the rest. Its `keepAliveTimeout` and
   * `headersTimeout` apply to the lane's connections too.
   */
  server: http.Server;
}

export interface FastLane {
  /** False when this Node's parser binding is not usable: every connection then goes straight to the server. */
  readonly enabled: boolean;
}

/** Methods safe to send twice: one that met an instance connection closing under it is sent once more. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const SWEEP_MS = 5_000;

/** One request sent to the instance, until its response has been relayed whole. */
interface Exchange {
  start: number;
  method: string;
  /** The path without its query, for log lines (queries may hold tokens). */
  path: string;
  key: string;
  accept: string | undefined;
  /** The request as sent, kept for a GET without a body (sent once more if the connection was closing). */
  resend: string | undefined;
  retried: boolean;
  reqChunked: boolean;
  /** The client asked to close after this response. */
  clientClose: boolean;
  /** The instance closes after this response (it said so, or its body runs until it does). */
  upClose: boolean;
  bytesIn: number;
  bytesOut: number;
  /** A 1xx was relayed: the final response is still to come. */
  informational: boolean;
  answered: boolean;
  resChunked: boolean;
  closeAfter: boolean;
}

/** A connection to an instance, owned by one lane at a time or parked idle. */
class Upstream {
  readonly socket: net.Socket;
  readonly origin: string;
  owner: Lane | undefined;
  error: Error | undefined;
  parked: NodeJS.Timeout | undefined;
  #parser: MessageParser;
  readonly #maxHeaderSize: number;
  /** The head just parsed announced a body of this many bytes, to pass on as they come. */
  #rawNext: number | undefined;
  /** Body bytes still to pass on as they come (not through the parser, which copies each). */
  #rawLeft = 0;

  constructor(core: ProxyCore, target: Target, origin: string) {
    this.origin = origin;
    this.#maxHeaderSize = core.o.maxHeaderSize;
    this.#parser = this.#newParser();
    this.socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const connectTimer = setTimeout(() => this.socket.destroy(timeoutError('connect', core.o.connectTimeoutMs)), core.o.connectTimeoutMs);
    this.socket.once('connect', () => clearTimeout(connectTimer));
    this.socket.on('data', (d: Buffer) => {
      // An idle connection has nothing to say: bytes now would be taken for the next answer.
      if (this.owner) this.owner.upstreamData(this, d);
      else this.socket.destroy();
    });
    this.socket.on('error', (err) => { this.error ??= err; });
    this.socket.on('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(this.parked);
      if (this.owner) this.owner.upstreamClosed(this);
      else unpark(core, this);
    });
    // (setTimeout's callback form listens once: this one must hold for the connection's life.)
    this.socket.setTimeout(core.o.idleTimeoutMs);
    this.socket.on('timeout', () => {
      if (this.owner?.waitingOn(this)) this.socket.destroy(timeoutError('idle', core.o.idleTimeoutMs));
    });
  }

  #newParser(): MessageParser {
    return new MessageParser('response', this.#maxHeaderSize, {
      head: (h) => {
        const v = this.owner?.responseHead(h) ?? 'stop';
        if (typeof v === 'string') return v;
        this.#rawNext = v;
        return 'stop';
      },
      body: (b) => this.owner?.responseBody(b),
      complete: () => {
        // A head stopped for a raw body completes at once: its body is still to come.
        if (this.#rawNext !== undefined) return;
        this.owner?.responseComplete();
      },
    });
  }

  /**
   * The instance's bytes: heads (and chunked bodies) through Node's parser; a body with a
   * Content-Length passed on as it is, past the parser, which then reads the next head. A
   * parse error is returned.
   */
  feed(d: Buffer): ParseError | undefined {
    while (d.length > 0) {
      if (!this.owner) {
        this.socket.destroy(); // bytes nobody asked for
        return undefined;
      }
      if (this.#rawLeft > 0) {
        const take = Math.min(this.#rawLeft, d.length);
        this.#rawLeft -= take;
        this.owner.responseBody(take === d.length ? d : d.subarray(0, take));
        d = d.subarray(take);
        if (this.#rawLeft === 0) this.owner?.responseComplete();
        continue;
      }
      const n = this.#parser.execute(d);
      if (typeof n !== 'number') return n;
      if (this.#rawNext === undefined) return undefined;
      this.#rawLeft = this.#rawNext;
      this.#rawNext = undefined;
      d = d.subarray(n);
    }
    return undefined;
  }

  /** The instance closed: a body that runs until then ends (or the parse error of a cut one). */
  finish(): ParseError | undefined {
    if (this.#rawLeft > 0) return Object.assign(new Error(`the instance closed with ${this.#rawLeft} bytes of the body still due`), { code: 'ECONNRESET' });
    return this.#parser.finish();
  }

  close(): void {
    this.#parser.close();
  }
}

export function createFastLane(core: ProxyCore, opts: FastLaneOptions): FastLane {
  if (!LLHTTP.available) {
    core.o.log.warn({ why: LLHTTP.why }, 'proxy: fast lane off, every request takes the ordinary path');
    return { enabled: false };
  }
  const server = opts.server;
  // Node's own handling of a new connection (the HTTP parser, timeouts, connection tracking).
  const ordinary = server.listeners('connection') as ((socket: net.Socket) => void)[];
  const cfg: LaneConfig = {
    route: opts.route,
    fallback: (socket) => { for (const l of ordinary) l.call(server, socket); },
    keepAliveTimeoutMs: () => server.keepAliveTimeout,
    headersTimeoutMs: () => server.headersTimeout,
  };
  const lanes = new Set<Lane>();
  let sweep: NodeJS.Timeout | undefined;
  let sweepDue = 0;
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    if (core.closed) {
      cfg.fallback(socket);
      return;
    }
    const lane = new Lane(core, cfg, socket, lanes);
    lanes.add(lane);
    core.inflight.add(lane);
    // Slow heads (Node's headersTimeout), checked a few times per timeout rather than per
    // request; sooner when the timeout was lowered since the last check was planned.
    const tick = (): void => {
      sweep = undefined;
      const now = performance.now();
      for (const l of lanes) l.checkHeadTimeout(now);
      if (lanes.size > 0) plan(now);
    };
    const plan = (now: number): void => {
      const ms = Math.max(50, Math.min(SWEEP_MS, cfg.headersTimeoutMs() / 4));
      if (sweep && sweepDue <= now + ms) return;
      clearTimeout(sweep);
      sweepDue = now + ms;
      sweep = setTimeout(tick, ms).unref();
    };
    plan(performance.now());
  });
  return { enabled: true };
}

interface LaneConfig {
  route: FastLaneOptions['route'];
  fallback(socket: net.Socket): void;
  keepAliveTimeoutMs(): number;
  headersTimeoutMs(): number;
}

class Lane {
  readonly #core: ProxyCore;
  readonly #cfg: LaneConfig;
  readonly #c: net.Socket;
  readonly #lanes: Set<Lane>;
  #parser: MessageParser;
  #up: Upstream | undefined;
  #target: Target | undefined;
  /** Sent to the instance, response not yet relayed whole (in order). */
  readonly #pending: Exchange[] = [];
  /** The request whose body is being read from the client. */
  #reading: Exchange | undefined;
  /** A request that waits for the pending answers: its head re-serialized and the bytes after it. */
  #held: Buffer | undefined;
  /** Where the held request goes: an instance, or (undefined) the ordinary server. */
  #heldRoute: Target | undefined;
  #stopped = false;
  /** The head just parsed has a method without a name. */
  #unnamed = false;
  /** The head just parsed announced a body of this many bytes, to pass on as they come. */
  #rawInNext = 0;
  /** Request body bytes still to pass on as they come. */
  #rawIn = 0;
  #upFull = false;
  #done = false;
  /** Since when a request head is awaited or arriving (performance.now()): from the connection's start, and from each head's first byte; 0 while a request is in hand or the connection idles between requests. */
  #headSince = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;
  /** The client connection's listeners, added together and removed together (hand-over, end). */
  readonly #listeners: [string, (chunk: Buffer) => void][] = [
    ['data', (d: Buffer) => this.#clientData(d)],
    ['end', () => this.#clientEnd()],
    ['close', () => this.destroy()],
    ['drain', () => { this.#up?.socket.resume(); }],
    // keepAliveTimeout: an idle connection between requests closes (a head on its way is the head timeout's).
    ['timeout', () => { if (this.#pending.length === 0 && !this.#reading && this.#headSince === 0) this.destroy(); }],
    ['error', () => undefined],
  ];

  constructor(core: ProxyCore, cfg: LaneConfig, c: net.Socket, lanes: Set<Lane>) {
    this.#core = core;
    this.#cfg = cfg;
    this.#c = c;
    this.#lanes = lanes;
    this.#parser = this.#requestParser();
    c.setNoDelay(true);
    c.setTimeout(cfg.keepAliveTimeoutMs());
    for (const [event, fn] of this.#listeners) c.on(event, fn);
  }

  #requestParser(): MessageParser {
    return new MessageParser('request', this.#core.o.maxHeaderSize, {
      head: (h) => this.#requestHead(h),
      body: (b) => this.#requestBody(b),
      complete: () => this.#requestComplete(),
    });
  }

  checkHeadTimeout(now: number): void {
    const limit = this.#cfg.headersTimeoutMs();
    if (this.#headSince !== 0 && limit > 0 && now - this.#headSince > limit) {
      this.#c.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.#end(false);
    }
  }

  /** True while the instance owes this lane a response (its idle timeout counts then). */
  waitingOn(u: Upstream): boolean {
    return u === this.#up && this.#pending.length > 0;
  }

  // ---------------------------------------------------------------------------------
  // client → instance

  #clientData(d: Buffer): void {
    if (this.#done) return;
    if (this.#held) {
      // Arrived before the pause took effect: kept with the held request.
      this.#held = Buffer.concat([this.#held, d]);
      return;
    }
    while (d.length > 0) {
      if (this.#rawIn > 0) {
        // A sized request body goes past the parser (which copies every slice it reports).
        const take = Math.min(this.#rawIn, d.length);
        this.#rawIn -= take;
        this.#reading!.bytesIn += take;
        this.#write(take === d.length ? d : d.subarray(0, take));
        d = d.subarray(take);
        if (this.#rawIn === 0) this.#reading = undefined;
        continue;
      }
      if (this.#headSince === 0 && !this.#reading) this.#headSince = performance.now();
      const up = this.#up?.socket;
      up?.cork();
      const n = this.#parser.execute(d);
      up?.uncork();
      if (typeof n !== 'number') {
        this.#refuse(n);
        return;
      }
      if (this.#unnamed) {
        if (this.#pending.length === 0) this.#c.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        this.#end(this.#pending.length > 0);
        return;
      }
      if (this.#stopped) {
        this.#stopped = false;
        this.#held = Buffer.concat([this.#held ?? Buffer.alloc(0), d.subarray(n)]);
        this.#c.pause();
        this.#proceed();
        return;
      }
      if (this.#rawInNext === 0) return;
      this.#rawIn = this.#rawInNext;
      this.#rawInNext = 0;
      d = d.subarray(n);
    }
  }

  #requestHead(h: Head): HeadVerdict {
    this.#headSince = 0;
    if (h.method === '') {
      // A method llhttp takes but Node does not name: neither path could pass it on.
      this.#unnamed = true;
      return 'stop';
    }
    const headers = byName(h.rawHeaders);
    const route = this.#decide(h, headers);
    if (route && this.#pending.length === 0 && this.#up && this.#target && !sameTarget(route, this.#target)) this.#leave();
    if (route && (!this.#up || sameTarget(route, this.#target!))) {
      const length = this.#send(h, headers, route);
      if (length === 0) return 'body';
      this.#rawInNext = length;
      return 'stop';
    }
    // Another instance while answers are due, or the ordinary server: wait, then re-read it.
    this.#held = Buffer.from(serializeHead(h), 'latin1');
    this.#heldRoute = route;
    this.#stopped = true;
    return 'stop';
  }

  #decide(h: Head, headers: Record<string, string | undefined>): Target | undefined {
    if (this.#core.closed || h.upgrade || h.versionMajor !== 1 || h.versionMinor !== 1) return undefined;
    // Node's server answers these itself (100 Continue; 400 without a Host, as requireHostHeader).
    if (h.url.charCodeAt(0) !== 47 /* / */ || headers.expect !== undefined || headers.host === undefined) return undefined;
    if (checkRequest(h.method, h.url, headers).refusal) return undefined;
    let r: Route | undefined;
    try {
      r = this.#cfg.route({ method: h.method, url: h.url, rawHeaders: h.rawHeaders, headers, remoteAddress: this.#c.remoteAddress });
    } catch (err) {
      this.#core.o.log.error({ err: errorMessage(err) }, 'proxy: the fast lane route failed; the request takes the ordinary path');
      return undefined;
    }
    return r?.kind === 'target' ? r : undefined;
  }

  /** Sends the head; returns the length of a sized body to pass on raw (0: none, or chunked through the parser). */
  #send(h: Head, headers: Record<string, string | undefined>, target: Target): number {
    const o = this.#core.o;
    const contentLength = headers['content-length'];
    const reqChunked = headers['transfer-encoding'] !== undefined;
    const out = upstreamRequestHeaders(
      { rawHeaders: h.rawHeaders, contentLength, host: headers.host, remoteAddress: this.#c.remoteAddress, encrypted: false, trusted: o.trusted(this.#c.remoteAddress ?? '') },
      hostHeader(target.host, target.port),
      o,
      false,
    );
    let head = `${h.method} ${h.url} HTTP/1.1\r\n`;
    for (let i = 0; i < out.length; i += 2) head += `${out[i]}: ${out[i + 1]}\r\n`;
    head += reqChunked ? 'Transfer-Encoding: chunked\r\n\r\n' : '\r\n';
    const bodiless = !reqChunked && (contentLength === undefined || contentLength === '0');
    const x: Exchange = {
      start: performance.now(), method: h.method, path: logPath(h.url), key: target.key, accept: headers.accept,
      resend: bodiless && IDEMPOTENT.has(h.method) ? head : undefined, retried: false, reqChunked, clientClose: !h.keepAlive,
      bytesIn: 0, bytesOut: 0, informational: false, answered: false, resChunked: false, closeAfter: false, upClose: false,
    };
    if (!this.#up) this.#take(target);
    clearTimeout(this.#idleTimer);
    this.#pending.push(x);
    this.#reading = x;
    this.#write(head);
    o.metrics?.fastLane?.();
    const length = reqChunked || contentLength === undefined ? 0 : Number(contentLength);
    return length > 0 ? length : 0;
  }

  #requestBody(b: Buffer): void {
    const x = this.#reading;
    if (!x) return;
    x.bytesIn += b.length;
    if (x.reqChunked) this.#write(`${b.length.toString(16)}\r\n`);
    this.#write(b);
    if (x.reqChunked) this.#write('\r\n');
  }

  #requestComplete(): void {
    // A stopped head completes at once (no body is parsed): nothing was sent for it, or its
    // body is still to come (raw).
    if (this.#stopped || this.#rawInNext > 0) return;
    if (this.#reading?.reqChunked) this.#write('0\r\n\r\n');
    this.#reading = undefined;
  }

  /** To the instance; strings are heads and framing, written as latin1 (the bytes as received). */
  #write(data: string | Buffer): void {
    const s = this.#up!.socket;
    const ok = typeof data === 'string' ? s.write(data, 'latin1') : s.write(data);
    if (!ok && !this.#upFull) {
      // The instance reads slower than the client sends: stop reading the client until it drains.
      this.#upFull = true;
      this.#c.pause();
      s.once('drain', () => {
        this.#upFull = false;
        if (!this.#held && !this.#done) this.#c.resume();
      });
    }
  }

  /** A parse error in the client's bytes: 400 (431 for a head too large) and close, as Node's server. */
  #refuse(err: ParseError): void {
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (this.#pending.length === 0) this.#c.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    this.destroy();
  }

  /** The client half-closed: as Node's server (without httpAllowHalfOpen), what is in flight is abandoned. */
  #clientEnd(): void {
    if (this.#pending.length > 0 || this.#reading) this.#dropUpstream();
    this.#c.end();
    this.#end(false);
  }

  // ---------------------------------------------------------------------------------
  // instance → client

  upstreamData(u: Upstream, d: Buffer): void {
    if (u !== this.#up || this.#done) return;
    this.#c.cork();
    const err = u.feed(d);
    this.#c.uncork();
    if (err) this.#upstreamFailed(u, err500(err));
  }

  /** The verdict on the body, or its length when it is to be passed on raw (Content-Length). */
  responseHead(h: Head): HeadVerdict | number {
    const x = this.#pending[0];
    if (!x || h.status === 101) {
      this.#upstreamFailed(this.#up!, new Error(x ? 'the instance switched protocols unasked' : 'the instance answered a request it was not sent'));
      return 'stop';
    }
    const o = this.#core.o;
    const raw = clientResponseHeaders(h.rawHeaders, o, false);
    if (h.status < 200) {
      x.informational = true;
      this.#c.write(responseHead(h, raw, ''), 'latin1');
      return 'body';
    }
    x.answered = true;
    const noBody = x.method === 'HEAD' || h.status === 204 || h.status === 304;
    let length: number | undefined;
    let chunked = false;
    for (let i = 0; i < h.rawHeaders.length; i += 2) {
      const name = h.rawHeaders[i]!;
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(h.rawHeaders[i + 1]);
      else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = true;
    }
    const framed = length !== undefined;
    x.resChunked = chunked && !noBody;
    x.upClose = !h.keepAlive || (!noBody && !chunked && !framed);
    x.closeAfter = x.clientClose || x.upClose;
    this.#c.write(responseHead(h, raw, (x.resChunked ? 'Transfer-Encoding: chunked\r\n' : '') + (x.closeAfter ? 'Connection: close\r\n' : '')), 'latin1');
    if (h.status < 300) o.onActivity?.(x.key, 'http');
    o.metrics?.request(h.status, (performance.now() - x.start) / 1000, 'upstream');
    if (x.method === 'HEAD') return 'no-body';
    // Node's parser copies every body slice it reports: a sized body goes past it.
    return !noBody && !chunked && length !== undefined && length > 0 ? length : 'body';
  }

  responseBody(b: Buffer): void {
    const x = this.#pending[0];
    if (!x) return;
    x.bytesOut += b.length;
    if (x.resChunked) this.#c.write(`${b.length.toString(16)}\r\n`, 'latin1');
    const ok = this.#c.write(b);
    if (x.resChunked) this.#c.write('\r\n', 'latin1');
    // The client reads slower than the instance sends: stop reading the instance until it drains.
    if (!ok) this.#up?.socket.pause();
  }

  responseComplete(): void {
    const x = this.#pending[0];
    if (!x) return;
    if (x.informational) {
      x.informational = false;
      return;
    }
    if (x.resChunked) this.#c.write('0\r\n\r\n', 'latin1');
    this.#pending.shift();
    const m = this.#core.o.metrics;
    if (m) {
      if (x.bytesIn > 0) m.bytes('in', x.bytesIn);
      if (x.bytesOut > 0) m.bytes('out', x.bytesOut);
    }
    if (x.closeAfter) {
      this.#c.end();
      if (x.upClose) this.#dropUpstream();
      this.#end(false);
      return;
    }
    if (this.#pending.length > 0) return;
    if (this.#held) {
      this.#proceed();
      return;
    }
    // Idle: close the instance connection before its own keep-alive runs out (uvicorn: 5 s).
    const u = this.#up;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (u === this.#up && this.#pending.length === 0) this.#dropUpstream();
    }, this.#core.o.freeSocketTimeoutMs);
    this.#idleTimer.unref();
  }

  upstreamClosed(u: Upstream): void {
    if (u !== this.#up || this.#done) return;
    // A body that runs until the connection closes ends here.
    if (this.#pending.length > 0 && this.#pending[0]!.answered) {
      const err = u.finish();
      if (err) {
        this.#upstreamFailed(u, err500(err));
        return;
      }
    }
    if (this.#pending.length === 0) {
      this.#up = undefined;
      this.#target = undefined;
      return;
    }
    this.#upstreamFailed(u, u.error ?? Object.assign(new Error('the instance closed the connection before answering'), { code: 'ECONNRESET' }));
  }

  #upstreamFailed(u: Upstream, err: Error): void {
    if (this.#done) return;
    const o = this.#core.o;
    const x = this.#pending[0];
    this.#up = undefined;
    u.owner = undefined;
    u.socket.destroy();
    u.close();
    if (!x || x.answered) {
      // Cut off mid-body (or nothing was due): the client must not take a truncated body for a whole one.
      this.destroy();
      return;
    }
    const code = errorCode(err);
    if (x.resend !== undefined && !x.retried && this.#pending.length === 1 && (code === 'ECONNRESET' || code === 'EPIPE') && !this.#core.closed && this.#target) {
      // Most likely an idle connection the instance closed as the request went out: once more.
      x.retried = true;
      this.#take(this.#target);
      this.#write(x.resend);
      return;
    }
    const target = this.#target;
    let status = 500;
    let answer: Answer;
    if (this.#core.closed) {
      status = 503;
      answer = errorAnswer(503, 'proxy_closed', 'the allocator is shutting down: try again in a moment.', x.accept, o.startPage);
    } else if (isUnreachable(err)) {
      status = 503;
      o.log.warn({ key: x.key, target: target ? `${target.host}:${target.port}` : undefined, code, method: x.method, path: x.path }, `proxy: instance unreachable (${errorMessage(err)})`);
      o.onGone?.(x.key);
      answer = errorAnswer(503, 'instance_unreachable', 'your instance is not answering: it may have ended or be restarting. Try again in a moment.', x.accept, o.startPage);
    } else {
      o.log.error({ key: x.key, err: errorMessage(err), code, method: x.method, path: x.path }, 'proxy: request to the instance failed');
      answer = errorAnswer(500, 'proxy_error', 'the request to your instance failed: try again; if it persists, tell the administrator.', x.accept, o.startPage);
    }
    o.metrics?.request(status, (performance.now() - x.start) / 1000, 'proxy');
    this.#c.end(rawAnswer(answer));
    this.#end(false);
  }

  // ---------------------------------------------------------------------------------
  // instance connections

  #take(target: Target): void {
    const origin = hostHeader(target.host, target.port);
    const idle = this.#core.idle.get(origin) as Upstream[] | undefined;
    let u: Upstream | undefined;
    while (idle && idle.length > 0 && !u) {
      const c = idle.pop()!;
      clearTimeout(c.parked);
      if (!c.socket.destroyed) u = c;
    }
    u ??= new Upstream(this.#core, target, origin);
    u.owner = this;
    this.#up = u;
    this.#target = target;
  }

  /** Gives the (idle) instance connection back to the pool for the next lane that needs it. */
  #leave(): void {
    const u = this.#up;
    this.#up = undefined;
    this.#target = undefined;
    clearTimeout(this.#idleTimer);
    if (!u) return;
    u.owner = undefined;
    if (u.socket.destroyed || this.#core.closed || this.#upFull) {
      u.socket.destroy();
      return;
    }
    u.socket.resume();
    let list = this.#core.idle.get(u.origin);
    if (!list) this.#core.idle.set(u.origin, (list = []));
    list.push(u);
    u.parked = setTimeout(() => u.socket.destroy(), this.#core.o.freeSocketTimeoutMs);
    u.parked.unref();
  }

  #dropUpstream(): void {
    const u = this.#up;
    this.#up = undefined;
    this.#target = undefined;
    clearTimeout(this.#idleTimer);
    if (u) {
      u.owner = undefined;
      u.socket.destroy();
    }
  }

  // ---------------------------------------------------------------------------------
  // the held request

  /** Once nothing is due from the instance: the held request goes on (another instance) or the connection goes to the ordinary server. */
  #proceed(): void {
    if (this.#done || !this.#held || this.#pending.length > 0 || this.#reading) return;
    const held = this.#held;
    this.#held = undefined;
    this.#parser.close();
    if (this.#heldRoute === undefined) {
      this.#handOver(held);
      return;
    }
    this.#heldRoute = undefined;
    this.#leave();
    this.#parser = this.#requestParser();
    this.#clientData(held);
    if (!this.#held && !this.#done && !this.#upFull) this.#c.resume();
  }

  #handOver(bytes: Buffer): void {
    this.#leave();
    this.#detach();
    const c = this.#c;
    // What arrived while paused waits in the stream's buffer: it follows the held bytes.
    const parts = [bytes];
    for (let chunk = c.read() as Buffer | null; chunk !== null; chunk = c.read() as Buffer | null) parts.push(chunk);
    this.#cfg.fallback(c);
    // Given to Node's parser at once (not unshifted: the server reads the socket's handle
    // directly, and bytes left in the stream's buffer would wait for the next read).
    const all = parts.length === 1 ? bytes : Buffer.concat(parts);
    if (all.length > 0) c.emit('data', all);
  }

  #detach(): void {
    this.#done = true;
    this.#lanes.delete(this);
    this.#core.inflight.delete(this);
    clearTimeout(this.#idleTimer);
    const c = this.#c;
    c.setTimeout(0);
    for (const [event, fn] of this.#listeners) c.off(event, fn);
  }

  /** Ends the lane and both its connections (`close()`, errors, timeouts). */
  destroy(): void {
    this.#end(true);
  }

  /** Ends the lane: its instance connection (parked for reuse when idle), and the client connection unless it is being ended gracefully. */
  #end(destroyClient: boolean): void {
    if (this.#done) return;
    if (this.#pending.length === 0 && !this.#reading) this.#leave();
    else this.#dropUpstream();
    this.#detach();
    this.#parser.close();
    if (destroyClient) this.#c.destroy();
    else this.#c.on('error', () => undefined);
  }
}

/** Takes a parked connection out of the idle lists (it closed). */
function unpark(core: ProxyCore, u: Upstream): void {
  const list = core.idle.get(u.origin);
  const i = list?.indexOf(u) ?? -1;
  if (i === -1) return;
  list!.splice(i, 1);
  if (list!.length === 0) core.idle.delete(u.origin);
}

/** Headers by lower-case name; repeated Cookie headers joined as Node joins them. */
function byName(raw: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    const had = out[k];
    if (had === undefined) out[k] = v;
    else if (k === 'cookie') out[k] = `${had}; ${v}`;
  }
  return out;
}

function sameTarget(a: Target, b: Target): boolean {
  return a.host === b.host && a.port === b.port && a.key === b.key;
}

/** A request head as received (for the ordinary server, or for this lane once more). */
function serializeHead(h: Head): string {
  let s = `${h.method} ${h.url} HTTP/${h.versionMajor}.${h.versionMinor}\r\n`;
  for (let i = 0; i < h.rawHeaders.length; i += 2) s += `${h.rawHeaders[i]}: ${h.rawHeaders[i + 1]}\r\n`;
  return `${s}\r\n`;
}

function responseHead(h: Head, raw: readonly string[], extra: string): string {
  let s = `HTTP/1.1 ${h.status} ${h.statusText}\r\n`;
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${s}${extra}\r\n`;
}

/** A response the parser refused: a bug of the instance's, answered 500 like undici's parse errors. */
function err500(err: ParseError): Error {
  return Object.assign(new Error(`the instance sent a response that cannot be parsed (${err.code})`), { code: err.code });
}
