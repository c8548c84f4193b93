import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProxyMetrics } from './types.ts';

/** Seconds to the response head: from a few hundred µs (an asset) to minutes (a generation through the API). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120];

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * `ProxyMetrics` backed by prom-client in `registry`. A metric of the same name already
 * there (another proxy, or the allocator's own definitions) is used as it is, so its
 * labels must be these:
 * - `sdfleet_proxy_requests_total{code}`: `code` is the status class, `2xx` … `5xx`.
 * - `sdfleet_proxy_request_duration_seconds`: request → response head.
 * - `sdfleet_proxy_bytes_total{direction}`: body bytes `in` from clients, `out` to them (HTTP and WebSocket).
 * - `sdfleet_proxy_websockets`: WebSockets being relayed now.
 */
export function prometheusProxyMetrics(registry: Registry): ProxyMetrics {
  const requests = metric(registry, 'sdfleet_proxy_requests_total', () => new Counter({
    name: 'sdfleet_proxy_requests_total', help: 'Proxied requests by status class', labelNames: ['code'] as const, registers: [registry],
  }));
  const seconds = metric(registry, 'sdfleet_proxy_request_duration_seconds', () => new Histogram({
    name: 'sdfleet_proxy_request_duration_seconds', help: 'Proxied request latency to the response head', buckets: DURATION_BUCKETS, registers: [registry],
  }));
  const bytes = metric(registry, 'sdfleet_proxy_bytes_total', () => new Counter({
    name: 'sdfleet_proxy_bytes_total', help: 'Bytes relayed by the proxy', labelNames: ['direction'] as const, registers: [registry],
  }));
  const open = metric(registry, 'sdfleet_proxy_websockets', () => new Gauge({
    name: 'sdfleet_proxy_websockets', help: 'Open proxied WebSocket connections', registers: [registry],
  }));
  // Label look-ups are the costly part of an increment: resolve each child once.
  const byClass = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => requests.labels(c));
  const dir = { in: bytes.labels('in'), out: bytes.labels('out') };
  return {
    request(status, s) {
      byClass[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]!.inc();
      seconds.observe(s);
    },
    bytes(direction, n) {
      dir[direction].inc(n);
    },
    websockets(delta) {
      open.inc(delta);
    },
  };
}
