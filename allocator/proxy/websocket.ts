import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { errorMessage } from '../../common/errors.ts';
import { logPath, type ProxyCore } from './core.ts';
import { clientResponseHeaders, hostHeader, upstreamRequestHeaders } from './headers.ts';
import { checkRequest } from './request-check.ts';
import { errorAnswer, goneAnswer, noSessionAnswer, rawAnswer, refusalAnswer, startingAnswer, type Answer } from './responses.ts';
import type { Route } from './types.ts';
import { errorCode, isUnreachable, timeoutError } from './upstream-errors.ts';

type Target = Extract<Route, { kind: 'target' }>;

/** Detects a dead peer on a quiet WebSocket (a tab left open): TCP keep-alive probes after this long. */
const TCP_KEEPALIVE_MS = 30_000;

/**
 * Handles one Upgrade request: WebSocket only. The connection to the instance is a fresh
 * one (not from the pool: an upgraded connection never returns to it); after the 101 the
 * proxy relays bytes both ways with backpressure (frames, pings and closes pass unchanged),
 * half-closes follow each other, and either side's end or error ends the other.
 */
export function handleUpgrade(core: ProxyCore, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const start = performance.now();
  // Until relaying starts, a client error (reset, EPIPE) only ends this socket.
  socket.on('error', () => socket.destroy());
  const o = core.o;
  if (core.closed) {
    socket.destroy();
    return;
  }
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    answerRaw(core, socket, refusalAnswer('upgrade_refused', `only WebSocket upgrades are proxied, got Upgrade: ${JSON.stringify(req.headers.upgrade ?? '')}.`, undefined));
    return;
  }
  const checked = checkRequest(req.method, req.url, req.headers);
  if (checked.refusal) {
    answerRaw(core, socket, refusalAnswer(checked.refusal.code, checked.refusal.message, undefined));
    return;
  }
  const path = checked.path;
  const failed = (err: unknown): void => {
    o.log.error({ err: errorMessage(err), path: logPath(req) }, 'proxy: resolving the route of a WebSocket failed');
    answerRaw(core, socket, errorAnswer(500, 'internal', 'the allocator could not look up your instance: try again.', undefined, o.startPage));
  };
  const go = (route: Route): void => {
    if (socket.destroyed) return;
    switch (route.kind) {
      case 'target':
        connect(core, req, socket, head, route, path, start);
        return;
      case 'no-session':
        answerRaw(core, socket, noSessionAnswer(o.startPage, undefined, route.signedIn === true));
        return;
      case 'gone':
        answerRaw(core, socket, goneAnswer(o.startPage, undefined, route.reason));
        return;
      case 'starting':
        answerRaw(core, socket, startingAnswer(undefined, o.startingRetryAfterSec));
        return;
      default:
        failed(new Error(`resolve returned an unknown route ${JSON.stringify(route)}`));
    }
  };
  try {
    const route = o.resolve(req);
    if (route instanceof Promise) route.then(go, failed);
    else go(route);
  } catch (err) {
    failed(err);
  }
}

/** Answers on the raw socket and closes it. */
function answerRaw(core: ProxyCore, socket: Duplex, a: Answer): void {
  if (socket.destroyed) return;
  socket.end(rawAnswer(a));
  core.o.metrics?.request(a.status, 0, 'proxy');
}

function connect(core: ProxyCore, req: IncomingMessage, socket: Duplex, head: Buffer, target: Target, path: string, start: number): void {
  const o = core.o;
  const headers = upstreamRequestHeaders(
    {
      rawHeaders: req.rawHeaders,
      contentLength: undefined,
      host: req.headers.host,
      remoteAddress: req.socket.remoteAddress,
      encrypted: (req.socket as TLSSocket).encrypted === true,
      trusted: o.trusted(req.socket.remoteAddress ?? ''),
    },
    hostHeader(target.host, target.port),
    o,
    true,
  );
  const up = http.request({ host: target.host, port: target.port, method: req.method, path, headers, agent: false, setHost: false, maxHeaderSize: o.maxHeaderSize });
  core.inflight.add(up);
  let upgraded = false;
  let connectTimer: NodeJS.Timeout | undefined;
  up.on('socket', (s) => {
    connectTimer = setTimeout(() => up.destroy(timeoutError('connect', o.connectTimeoutMs)), o.connectTimeoutMs);
    s.once('connect', () => clearTimeout(connectTimer));
  });
  // Waiting for the 101 (or a refusal) is bounded like any request.
  up.setTimeout(o.idleTimeoutMs, () => up.destroy(timeoutError('idle', o.idleTimeoutMs)));
  const clientClosedEarly = (): void => { if (!upgraded) up.destroy(); };
  socket.once('close', clientClosedEarly);

  up.on('upgrade', (ures, upSocket, upHead) => {
    upgraded = true;
    clearTimeout(connectTimer);
    core.inflight.delete(up);
    socket.off('close', clientClosedEarly);
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    let headText = `HTTP/1.1 101 ${ures.statusMessage || 'Switching Protocols'}\r\n`;
    const h = clientResponseHeaders(ures.rawHeaders, o, true);
    for (let i = 0; i < h.length; i += 2) headText += `${h[i]}: ${h[i + 1]}\r\n`;
    socket.write(headText + '\r\n');
    o.metrics?.request(101, (performance.now() - start) / 1000, 'upstream');
    relay(core, target, socket, upSocket, head, upHead);
  });

  // The instance answered without upgrading (a 404, a 403…): pass that answer on, then close.
  up.on('response', (ures) => {
    clearTimeout(connectTimer);
    if (socket.destroyed) {
      up.destroy();
      return;
    }
    const status = ures.statusCode ?? 502;
    let headText = `HTTP/1.1 ${status} ${ures.statusMessage ?? ''}\r\n`;
    const h = clientResponseHeaders(ures.rawHeaders, o, false);
    for (let i = 0; i < h.length; i += 2) headText += `${h[i]}: ${h[i + 1]}\r\n`;
    socket.write(headText + 'Connection: close\r\n\r\n');
    ures.pipe(socket);
    ures.on('error', () => socket.destroy());
    o.metrics?.request(status, (performance.now() - start) / 1000, 'upstream');
  });

  up.on('error', (err) => {
    clearTimeout(connectTimer);
    if (upgraded || socket.destroyed) return;
    const code = errorCode(err);
    if (isUnreachable(err)) {
      o.log.warn({ key: target.key, target: `${target.host}:${target.port}`, code, path: logPath(req) }, `proxy: instance unreachable for a WebSocket (${errorMessage(err)})`);
      o.onGone?.(target.key);
      answerRaw(core, socket, errorAnswer(503, 'instance_unreachable', 'your instance is not answering: it may have ended or be restarting.', undefined, o.startPage));
    } else {
      o.log.error({ key: target.key, err: errorMessage(err), code, path: logPath(req) }, 'proxy: WebSocket request to the instance failed');
      answerRaw(core, socket, errorAnswer(500, 'proxy_error', 'the WebSocket to your instance failed: try again.', undefined, o.startPage));
    }
  });
  up.on('close', () => {
    clearTimeout(connectTimer);
    core.inflight.delete(up);
  });
  up.end();
}

/** Relays bytes between the two sockets until either ends. */
function relay(core: ProxyCore, target: Target, client: Duplex, upstream: Socket, clientHead: Buffer, upstreamHead: Buffer): void {
  const o = core.o;
  // Bytes not yet reported to the metrics; reported at most once a webSocketActivityMs, and at the end.
  let bytesIn = 0;
  let bytesOut = 0;
  let last = 0;
  const flush = (): void => {
    if (!o.metrics) return;
    if (bytesIn > 0) o.metrics.bytes('in', bytesIn);
    if (bytesOut > 0) o.metrics.bytes('out', bytesOut);
    bytesIn = 0;
    bytesOut = 0;
  };
  const tick = o.onActivity || o.metrics
    ? (): void => {
        const now = Date.now();
        if (now - last < o.webSocketActivityMs) return;
        last = now;
        o.onActivity?.(target.key, 'ws');
        flush();
      }
    : undefined;
  const pair = {
    destroy(): void {
      client.destroy();
      upstream.destroy();
    },
  };
  core.inflight.add(pair);
  o.metrics?.websockets(1);
  tick?.();

  for (const s of [client, upstream]) {
    const sock = s as Partial<Socket>;
    sock.setNoDelay?.(true);
    sock.setTimeout?.(0);
    sock.setKeepAlive?.(true, TCP_KEEPALIVE_MS);
  }
  let closed = 0;
  const onClose = (): void => {
    pair.destroy();
    if (++closed === 2) {
      core.inflight.delete(pair);
      flush();
      o.metrics?.websockets(-1);
    }
  };
  client.on('error', () => pair.destroy());
  upstream.on('error', () => pair.destroy());
  client.on('close', onClose);
  upstream.on('close', onClose);
  // A half-close (FIN) passes on as one; the other side may still send its last frames.
  client.on('end', () => upstream.end());
  upstream.on('end', () => client.end());

  client.on('data', (chunk: Buffer) => {
    bytesIn += chunk.length;
    tick?.();
    if (!upstream.write(chunk)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (chunk: Buffer) => {
    bytesOut += chunk.length;
    tick?.();
    if (!client.write(chunk)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());

  if (upstreamHead.length > 0) {
    bytesOut += upstreamHead.length;
    client.write(upstreamHead);
  }
  if (clientHead.length > 0) {
    bytesIn += clientHead.length;
    upstream.write(clientHead);
  }
  // Sockets paused by Node's HTTP machinery start flowing once there is a 'data' listener; make sure.
  client.resume();
  upstream.resume();
}
