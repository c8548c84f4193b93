import { BlockList, isIP } from 'node:net';
import { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../common/log.ts';
import { prometheusProxyMetrics } from './metrics.ts';
import { PROXY_DEFAULTS, type ProxyMetrics, type ProxyOptions, type Route } from './types.ts';
import type { IncomingMessage } from 'node:http';

/** `ProxyOptions` with every default filled in and lists turned into what the hot path uses. */
export interface ResolvedOptions {
  resolve(req: IncomingMessage): Promise<Route> | Route;
  startPage: string;
  /** Allocator cookie names. */
  cookies: ReadonlySet<string>;
  /** Lower-case names never forwarded. */
  strip: ReadonlySet<string>;
  trusted: (remoteAddress: string) => boolean;
  xForwarded: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxSocketsPerTarget: number;
  freeSocketTimeoutMs: number;
  maxHeaderSize: number;
  startingRetryAfterSec: number;
  webSocketActivityMs: number;
  onActivity: ((key: string, kind: 'http' | 'ws') => void) | undefined;
  onGone: ((key: string) => void) | undefined;
  metrics: ProxyMetrics | undefined;
  log: Logger;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`proxy option ${name} must be a positive number, got ${String(v)}`);
  return n;
}

/** Validates the options (throwing with what was expected) and fills in the defaults. */
export function resolveOptions(o: ProxyOptions): ResolvedOptions {
  if (typeof o.resolve !== 'function') throw new Error('proxy option resolve must be a function (req) => Route');
  if (typeof o.startPage !== 'string' || !o.startPage.startsWith('/')) {
    throw new Error(`proxy option startPage must be a path starting with "/", e.g. "/_sdfleet/", got ${JSON.stringify(o.startPage)}`);
  }
  const cookies = [...(o.stripCookies ?? [])];
  if (cookies.length === 0 || cookies.some((c) => typeof c !== 'string' || c === '')) {
    throw new Error('proxy option stripCookies must list the allocator\'s cookie names (its session cookie at least), so that instances never see them');
  }
  const metrics = o.metrics instanceof Registry ? prometheusProxyMetrics(o.metrics) : o.metrics;
  return {
    resolve: o.resolve,
    startPage: o.startPage,
    cookies: new Set(cookies),
    strip: new Set((o.stripHeaders ?? PROXY_DEFAULTS.stripHeaders).map((h) => h.toLowerCase())),
    trusted: trustFunction(o.trustedProxies ?? PROXY_DEFAULTS.trustedProxies),
    xForwarded: o.xForwarded ?? PROXY_DEFAULTS.xForwarded,
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, PROXY_DEFAULTS.connectTimeoutMs),
    idleTimeoutMs: positive('idleTimeoutMs', o.idleTimeoutMs, PROXY_DEFAULTS.idleTimeoutMs),
    maxSocketsPerTarget: positive('maxSocketsPerTarget', o.maxSocketsPerTarget, PROXY_DEFAULTS.maxSocketsPerTarget),
    freeSocketTimeoutMs: positive('freeSocketTimeoutMs', o.freeSocketTimeoutMs, PROXY_DEFAULTS.freeSocketTimeoutMs),
    maxHeaderSize: positive('maxHeaderSize', o.maxHeaderSize, PROXY_DEFAULTS.maxHeaderSize),
    startingRetryAfterSec: positive('startingRetryAfterSec', o.startingRetryAfterSec, PROXY_DEFAULTS.startingRetryAfterSec),
    webSocketActivityMs: positive('webSocketActivityMs', o.webSocketActivityMs, PROXY_DEFAULTS.webSocketActivityMs),
    onActivity: o.onActivity,
    onGone: o.onGone,
    metrics,
    log: o.logger ?? silentLogger(),
  };
}

/** `trustedProxies` as a predicate on the peer's address. */
export function trustFunction(t: ProxyOptions['trustedProxies']): (remoteAddress: string) => boolean {
  if (typeof t === 'function') return t;
  if (t === true) return () => true;
  if (!t || t.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of t) {
    const [addr, bits, extra] = entry.split('/');
    const family = addr ? isIP(addr) : 0;
    if (!addr || family === 0 || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
      throw new Error(`proxy option trustedProxies: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (remote) => {
    // IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d.
    const a = remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4 ? remote.slice(7) : remote;
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
}
