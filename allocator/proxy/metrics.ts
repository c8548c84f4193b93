import { Gauge, type Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.ts';
import type { ProxyMetrics } from './types.ts';

/** Seconds to the response head: from a few hundred µs (an asset) to minutes (a generation through the API). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** The registry's metric of this name if it is of the kind wanted, else a new one (which throws on a clash). */
function metric<T>(registry: Registry, name: string, kind: abstract new (...a: never[]) => T, make: () => T): T {
  const had = registry.getSingleMetric(name) as unknown;
  return had instanceof kind ? had : make();
}

/**
 * `ProxyMetrics` in `registry`. A second proxy on the same registry shares them. The two
 * counters and the histogram are counted on every request (`hot-metrics.ts`: plain numbers,
 * read by the registry when scraped):
 * - `sdfleet_proxy_requests_total{code}`: `code` is the status class, `2xx` … `5xx`.
 * - `sdfleet_proxy_request_duration_seconds`: request → response head.
 * - `sdfleet_proxy_bytes_total{direction}`: body bytes `in` from clients, `out` to them (HTTP and WebSocket).
 * - `sdfleet_proxy_websockets`: WebSockets being relayed now.
 * - `sdfleet_proxy_fast_lane_requests_total`: requests the fast lane sent to an instance
 *   itself (the share of `requests_total` that took no HTTP server, Express or undici).
 */
export function prometheusProxyMetrics(registry: Registry): ProxyMetrics {
  const requests = metric(registry, 'sdfleet_proxy_requests_total', HotCounter, () => new HotCounter({
    name: 'sdfleet_proxy_requests_total', help: 'Proxied requests by status class', label: 'code', values: CLASSES, registry,
  }));
  const seconds = metric(registry, 'sdfleet_proxy_request_duration_seconds', HotHistogram, () => new HotHistogram({
    name: 'sdfleet_proxy_request_duration_seconds', help: 'Proxied request latency to the response head', buckets: DURATION_BUCKETS, registry,
  }));
  const bytes = metric(registry, 'sdfleet_proxy_bytes_total', HotCounter, () => new HotCounter({
    name: 'sdfleet_proxy_bytes_total', help: 'Bytes relayed by the proxy', label: 'direction', values: ['in', 'out'], registry,
  }));
  const open = metric(registry, 'sdfleet_proxy_websockets', Gauge, () => new Gauge({
    name: 'sdfleet_proxy_websockets', help: 'Open proxied WebSocket connections', registers: [registry],
  }));
  const lane = metric(registry, 'sdfleet_proxy_fast_lane_requests_total', HotCounter, () => new HotCounter({
    name: 'sdfleet_proxy_fast_lane_requests_total', help: 'Requests the proxy fast lane sent to an instance itself', registry,
  }));
  const dirIn = bytes.index('in');
  const dirOut = bytes.index('out');
  return {
    request(status, s) {
      requests.add(Math.min(4, Math.max(0, Math.floor(status / 100) - 1)));
      seconds.observe(s);
    },
    bytes(direction, n) {
      bytes.add(direction === 'in' ? dirIn : dirOut, n);
    },
    websockets(delta) {
      open.inc(delta);
    },
    fastLane() {
      lane.add(0);
    },
  };
}
