/**
 * The sdfleet proxy under test, in its own process (forked with IPC; sends `{ port }` once
 * listening), as the allocator configures it (metrics on, activity recorded, the fast lane
 * in front of the HTTP server) but with a fixed route instead of sign-in and Kubernetes: it
 * measures the proxy itself. SDFLEET_BENCH_NO_FAST_LANE=1 leaves the lane out (every request
 * through Node's server and undici), for comparison.
 * Environment: TARGET_PORT (the backend on 127.0.0.1). Exits when its parent does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { createProxy, type Route } from '../../allocator/proxy/index.ts';

function main(): void {
  const port = Number(process.env.TARGET_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`TARGET_PORT must be the backend's port, got ${String(process.env.TARGET_PORT)}`);
  const route: Route = { kind: 'target', host: '127.0.0.1', port, key: 'bench' };
  const lastTraffic = new Map<string, number>();
  const proxy = createProxy({
    resolve: () => route,
    startPage: '/_sdfleet/',
    stripCookies: ['sdfleet_session'],
    onActivity: (key) => lastTraffic.set(key, Date.now()),
    metrics: new Registry(),
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.upgrade(req, socket, head));
  server.keepAliveTimeout = 65_000;
  if (process.env.SDFLEET_BENCH_NO_FAST_LANE !== '1') proxy.fastLane({ route: () => route, server });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
