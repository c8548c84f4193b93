import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { ResolvedOptions } from './options.ts';
import type { Answer } from './responses.ts';

/** How often pools of instances with no connection left are dropped. */
const SWEEP_MS = 30_000;

/** What the HTTP and WebSocket halves share: options, the pools, and what is in flight (for `close`). */
export interface ProxyCore {
  o: ResolvedOptions;
  /** Keep-alive connection pools, one per instance origin (`http://host:port`). */
  pools: Map<string, Pool>;
  /** WebSocket relays, upgrade requests and fast-lane connections in flight; `close()` destroys them. */
  inflight: Set<{ destroy(err?: Error): unknown }>;
  /** The fast lane's idle connections to instances, by `host:port` (`lane.ts`). */
  idle: Map<string, { socket: { destroy(): void }; parked: NodeJS.Timeout | undefined }[]>;
  closed: boolean;
  sweep: NodeJS.Timeout;
}

export function createCore(o: ResolvedOptions): ProxyCore {
  const pools = new Map<string, Pool>();
  // Instances come and go (a new address per session): forget the pools of those gone quiet.
  const sweep = setInterval(() => {
    for (const [origin, pool] of pools) {
      const s = pool.stats;
      if (s.connected === 0 && s.size === 0) {
        pools.delete(origin);
        pool.close().catch(() => undefined);
      }
    }
  }, SWEEP_MS);
  sweep.unref();
  return { o, pools, inflight: new Set(), idle: new Map(), closed: false, sweep };
}

/** The pool for one instance, made on first use. */
export function poolFor(core: ProxyCore, origin: string): Pool {
  let pool = core.pools.get(origin);
  if (!pool) {
    const o = core.o;
    pool = new Pool(origin, {
      connections: o.maxSocketsPerTarget,
      pipelining: 1,
      keepAliveTimeout: o.freeSocketTimeoutMs,
      // A server's Keep-Alive hint (less a second) is followed only when shorter than ours.
      keepAliveMaxTimeout: o.freeSocketTimeoutMs,
      headersTimeout: o.idleTimeoutMs,
      bodyTimeout: o.idleTimeoutMs,
      connect: { timeout: o.connectTimeoutMs },
      maxHeaderSize: o.maxHeaderSize,
    });
    core.pools.set(origin, pool);
  }
  return pool;
}

/** Ends every pool (requests in flight fail at once) and the sweep. */
export async function closeCore(core: ProxyCore): Promise<void> {
  core.closed = true;
  clearInterval(core.sweep);
  for (const f of [...core.inflight]) f.destroy();
  core.inflight.clear();
  for (const list of core.idle.values()) {
    for (const u of list) {
      clearTimeout(u.parked);
      u.socket.destroy();
    }
  }
  core.idle.clear();
  const pools = [...core.pools.values()];
  core.pools.clear();
  await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
}

/** Sends one of the proxy's own answers on an HTTP response and counts it. */
export function sendAnswer(core: ProxyCore, res: ServerResponse, a: Answer, startMs: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(a.status, a.headers);
  res.end(a.body);
  core.o.metrics?.request(a.status, (performance.now() - startMs) / 1000, 'proxy');
}

/** The path without its query, for log lines (queries may hold tokens). */
export function logPath(req: IncomingMessage | string): string {
  const url = typeof req === 'string' ? req : (req.url ?? '');
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).slice(0, 200);
}
