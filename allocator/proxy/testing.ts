/**
 * Loopback rigs for the proxy's tests: a backend that shows what reached it, and the proxy
 * on an HTTP server of its own. Not used outside tests.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLogger, type Logger } from '../../common/log.ts';
import { createProxy } from './index.ts';
import type { Proxy, ProxyOptions, Route } from './types.ts';

/** What the backend saw of one request. */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  bodyBytes: number;
  sha256: string;
}

export interface Backend {
  port: number;
  /** Name it answers with in `x-backend` (to tell two backends apart). */
  name: string;
  seen: Seen[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests whose client went away before the response ended. */
  aborted: number;
  /** Extra routes, tried before the built-in ones; return true when handled. */
  routes: ((req: IncomingMessage, res: ServerResponse) => boolean)[];
  wss: WebSocketServer;
  close(): Promise<void>;
}

/**
 * Built-in routes: `/bytes/<n>` streams n bytes (64 KiB writes, honouring backpressure,
 * counting what it wrote in `written`), `/status/<code>`, `/hang` (never answers), `/cut`
 * (promises 1,000 bytes, sends 10, resets), `/set-cookie`; anything else reads the body
 * and answers JSON `Seen`. WebSocket `/ws` echoes, `/ws-close` closes with 4000 "bye",
 * `/ws-flood` sends 256 MiB at once (kept in `flood`), `/ws-refuse` answers 403.
 */
export async function startBackend(name = 'a'): Promise<Backend & { written: number; flood: WebSocket | undefined }> {
  const b = { name, seen: [] as Seen[], connections: 0, aborted: 0, routes: [] as Backend['routes'], written: 0, flood: undefined as WebSocket | undefined };
  const server = http.createServer((req, res) => {
    res.setHeader('x-backend', name);
    res.on('close', () => { if (!res.writableFinished) b.aborted++; });
    for (const r of b.routes) if (r(req, res)) return;
    const url = req.url ?? '/';
    const bytes = /^\/bytes\/(\d+)/.exec(url);
    if (bytes) {
      const total = Number(bytes[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (b.written < total) {
          const n = Math.min(chunk.length, total - b.written);
          b.written += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      b.written = 0;
      pump();
      return;
    }
    const status = /^\/status\/(\d+)/.exec(url);
    if (status) {
      req.resume();
      res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
      res.end(Number(status[1]) === 204 || Number(status[1]) === 304 ? undefined : 'status');
      return;
    }
    if (url === '/hang') return;
    if (url === '/cut') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (url === '/set-cookie') {
      res.setHeader('Set-Cookie', ['sdfleet_session=forged; Path=/', 'webui=1; Path=/']);
      res.end('ok');
      return;
    }
    const hash = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; hash.update(c); });
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url, rawHeaders: req.rawHeaders, bodyBytes: n, sha256: hash.digest('hex') };
      b.seen.push(s);
      res.setHeader('content-type', 'application/json');
      res.setHeader('connection', 'keep-alive, x-hop');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-hop', 'must not pass');
      res.end(JSON.stringify(s));
    });
  });
  server.on('connection', () => { b.connections++; });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/ws-refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nnope');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      b.seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, bodyBytes: 0, sha256: '' });
      if (req.url === '/ws-flood') {
        // 256 MiB at once: what the proxy does not take stays queued here (ws.bufferedAmount).
        const mb = Buffer.alloc(1024 * 1024, 1);
        for (let i = 0; i < 256; i++) ws.send(mb);
        b.flood = ws;
        return;
      }
      if (req.url === '/ws-close') {
        ws.close(4000, 'bye');
        return;
      }
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(b, {
    port,
    wss,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  });
}

export interface LogLines {
  lines: Record<string, unknown>[];
  logger: Logger;
}

/** A real logger whose JSON lines are kept for assertions. */
export function captureLog(): LogLines {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ name: 'proxy-test', level: 'debug', destination }) };
}

export interface ProxyRig {
  port: number;
  url: string;
  proxy: Proxy;
  server: http.Server;
  activity: [string, string][];
  gone: string[];
  close(): Promise<void>;
}

/**
 * Whether the rigs put the fast lane (`lane.ts`) in front of the HTTP server, as the
 * allocator does: `lane.test.ts` runs the proxy's suites again with it on.
 */
export const FAST_LANE = process.env.SDFLEET_TEST_FAST_LANE === '1';

/**
 * The proxy on a loopback HTTP server, with `route` (or a fixed route) and the rest of the
 * options; with `FAST_LANE`, behind the fast lane, which takes a target route when `route`
 * gives one at once (a function answering with a promise sends every request the ordinary way).
 */
export async function startProxy(route: Route | ((req: IncomingMessage) => Route | Promise<Route>), extra: Partial<ProxyOptions> = {}): Promise<ProxyRig> {
  const activity: [string, string][] = [];
  const gone: string[] = [];
  const proxy = createProxy({
    resolve: typeof route === 'function' ? route : () => route,
    startPage: '/_sdfleet/',
    stripCookies: ['sdfleet_session'],
    onActivity: (key, kind) => activity.push([key, kind]),
    onGone: (key) => gone.push(key),
    ...extra,
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.upgrade(req, socket, head));
  if (FAST_LANE) {
    proxy.fastLane({
      server,
      route: (r) => {
        if (typeof route !== 'function') return route;
        const got = route({ method: r.method, url: r.url, headers: r.headers, rawHeaders: r.rawHeaders, socket: { remoteAddress: r.remoteAddress } } as unknown as IncomingMessage);
        if (!(got instanceof Promise)) return got;
        got.catch(() => undefined); // the ordinary path asks again and answers the failure
        return undefined;
      },
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, proxy, server, activity, gone,
    close: async () => {
      await proxy.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** One request with a fresh connection; the whole body as a Buffer. */
export function request(url: string, o: { method?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: Buffer | string; agent?: http.Agent } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: o.agent ?? false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('test request timed out after 10 s')));
    req.end(o.body);
  });
}

/** Writes raw bytes on a fresh connection and reads until the server closes or `ms` pass. */
export function rawExchange(port: number, text: string, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => { clearTimeout(t); s.destroy(); resolve(out); };
    const t = setTimeout(done, ms);
    s.on('data', (c: Buffer) => { out += c.toString('latin1'); });
    s.on('close', done);
    s.on('error', done);
    s.write(text);
  });
}

/** Header values in a raw list, by lower-case name. */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}
