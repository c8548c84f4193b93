import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import type { FastLane, FastLaneOptions } from './lane.ts';

/**
 * Where one request goes, decided by the allocator for each request (never per
 * connection: behind a load balancer one connection carries many users' requests).
 */
export type Route =
  /** The user's own instance. `key` names it in activity, `onGone` and logs (e.g. the GameServer name). */
  | { kind: 'target'; host: string; port: number; key: string }
  /**
   * No session: 302 to `startPage` for HTML navigations, else JSON 401 `not_signed_in`,
   * or 404 `no_session` when `signedIn` (signed in, but no instance: nothing to route to).
   */
  | { kind: 'no-session'; signedIn?: boolean }
  /** The instance has ended: 503 page "your instance has ended: <reason>" with a link to start again, or JSON. */
  | { kind: 'gone'; reason: string }
  /** Allocated but not answering yet: 503 with Retry-After and a small page that refreshes itself. */
  | { kind: 'starting' };

/**
 * Metric hooks, called on the hot path (keep them cheap). `prometheusProxyMetrics` in
 * `metrics.ts` gives ones backed by a prom-client Registry.
 */
export interface ProxyMetrics {
  /**
   * One HTTP request answered: `seconds` from the request reaching the proxy to the response
   * head (the body may stream for minutes after). `source`: the instance answered, or the
   * proxy itself (its pages, refusals, an unreachable instance).
   */
  request(status: number, seconds: number, source: 'upstream' | 'proxy'): void;
  /**
   * Body bytes relayed: `in` from clients to instances, `out` back. Per HTTP request when it
   * ends; per WebSocket at most once a `webSocketActivityMs` while it carries data, and when it closes.
   */
  bytes(direction: 'in' | 'out', n: number): void;
  /** A proxied WebSocket opened (+1) or closed (−1). */
  websockets(delta: 1 | -1): void;
  /** A request the fast lane sent to an instance itself (the rest went through the HTTP server). */
  fastLane?(): void;
}

/**
 * Options of `createProxy`. Only `resolve`, `startPage` and `stripCookies` are required;
 * every other field's default is given beside it (and in `PROXY_DEFAULTS`).
 */
export interface ProxyOptions {
  /** Where this request goes. Called once per HTTP request and once per WebSocket upgrade. A throw or rejection answers 500. */
  resolve(req: IncomingMessage): Promise<Route> | Route;
  /** Where a browser without a session is sent (302), and what the "start again" links point at, e.g. `/_sdfleet/`. */
  startPage: string;
  /**
   * Names of the allocator's own cookies (the session cookie, at least): never sent to an
   * instance, and a Set-Cookie for one of them from an instance is dropped. Other cookies pass.
   */
  stripCookies: readonly string[];
  /** The instance answered under 300, or a WebSocket carried data (at most once a `webSocketActivityMs` per socket). */
  onActivity?(key: string, kind: 'http' | 'ws'): void;
  /**
   * The instance could not be reached (refused, reset, unreachable, connect timeout) or
   * stopped answering (`idleTimeoutMs`): the allocator tells the user over socket.io (after
   * checking the GameServer, if it wants to be sure). Called for every such failure; may
   * repeat for one key.
   */
  onGone?(key: string): void;
  /** Hooks, or a prom-client Registry to register `sdfleet_proxy_*` metrics in. Default: none. */
  metrics?: ProxyMetrics | Registry;
  /** Default: a silent logger. Unreachable instances are one `warn` line each, without a stack. */
  logger?: Logger;

  /** Headers never sent to an instance (lower case). Default `PROXY_DEFAULTS.stripHeaders`. Replaces the default list. */
  stripHeaders?: readonly string[];
  /**
   * Peers whose X-Forwarded-* (and Forwarded) headers are believed: `true` for every peer,
   * a list of addresses and CIDRs (`'10.0.0.0/8'`, `'::1'`), or a function of the peer's
   * address. From a trusted peer the proxy appends to X-Forwarded-For and keeps its
   * Proto/Host/Port; from others those headers are dropped and set afresh.
   * Default `false`: nobody (the allocator's own socket is the truth).
   */
  trustedProxies?: boolean | readonly string[] | ((remoteAddress: string) => boolean);
  /** Send X-Forwarded-For/Proto/Host/Port to the instance. Default true. */
  xForwarded?: boolean;
  /** Give up connecting to an instance after this long (→ 503 and `onGone`). Default 5,000 ms. */
  connectTimeoutMs?: number;
  /**
   * An instance that sends no response head for this long after a request, or no byte of
   * its body for this long, is given up on (→ 503 before a response, a dropped connection
   * after). Default 600,000 ms: an image generation through the API answers only when
   * done, and may take minutes.
   */
  idleTimeoutMs?: number;
  /** Concurrent connections to one instance (kept alive between requests); more requests wait for one. Default 256. */
  maxSocketsPerTarget?: number;
  /**
   * An idle keep-alive connection to an instance is closed after this long, or after the
   * instance's own Keep-Alive hint less a second if that is shorter. Default 4,000 ms: under
   * uvicorn's (the WebUI's server) 5 s, so the proxy closes first and rarely sends a request
   * on a connection the instance is closing (a GET that meets one anyway is retried once).
   */
  freeSocketTimeoutMs?: number;
  /** Largest response head accepted from an instance, bytes. Default 16,384 (Node's default). */
  maxHeaderSize?: number;
  /** Retry-After seconds (and the page's refresh) of the "starting" answer. Default 2. */
  startingRetryAfterSec?: number;
  /** Least time between two `onActivity(key, 'ws')` for one WebSocket. Default 1,000 ms. */
  webSocketActivityMs?: number;
}

/** What `createProxy` returns; wire `web` to the server's 'request' and `upgrade` to its 'upgrade'. */
export interface Proxy {
  /** Answers one HTTP request (never throws; every failure becomes a response or a dropped connection). */
  web(req: IncomingMessage, res: ServerResponse): void;
  /** Proxies one Upgrade request (WebSocket only; anything else is answered 400 and closed). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * The fast lane (`lane.ts`): give it every connection the listening socket accepts; it
   * relays the requests `route` sends to an instance itself and hands the connection to
   * `fallback` (the server wired to `web` and `upgrade`) for anything else.
   */
  fastLane(opts: FastLaneOptions): FastLane;
  /**
   * Ends everything in flight (requests to instances, WebSockets) and the connection pool,
   * and resolves when done. Afterwards `web` answers 503 and `upgrade` closes the socket.
   */
  close(): Promise<void>;
}

/** The defaults of the optional fields, as documented on `ProxyOptions`. */
export const PROXY_DEFAULTS = {
  stripHeaders: ['x-sdfleet-csrf', 'authorization', 'proxy-authorization', 'x-goog-iap-jwt-assertion'] as readonly string[],
  trustedProxies: false as ProxyOptions['trustedProxies'],
  xForwarded: true,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 600_000,
  maxSocketsPerTarget: 256,
  freeSocketTimeoutMs: 4_000,
  maxHeaderSize: 16_384,
  startingRetryAfterSec: 2,
  webSocketActivityMs: 1_000,
};
