import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The agent's phases, in order; each one's last duration is a gauge. */
export const PHASES = ['metadata', 'inspect', 'create', 'attach', 'device', 'mount', 'verify', 'marker', 'taint', 'total'] as const;
export type Phase = (typeof PHASES)[number];

export class LibDiskMetrics {
  readonly phaseSeconds: Gauge<'phase'>;
  readonly ready: Gauge;
  readonly passes: Counter<'result'>;

  constructor(registry: Registry) {
    this.phaseSeconds = new Gauge({
      name: 'sdfleet_lib_disk_phase_seconds',
      help: 'How long each phase of the last pass took that ran it (metadata, inspect, create, attach, device, mount, verify, marker, taint, total).',
      labelNames: ['phase'],
      registers: [registry],
    });
    this.ready = new Gauge({ name: 'sdfleet_lib_disk_ready', help: '1 when the lib disk is mounted, verified and marked ready on this node.', registers: [registry] });
    this.passes = new Counter({ name: 'sdfleet_lib_disk_passes_total', help: 'Passes of the agent, by result (ok, error).', labelNames: ['result'], registers: [registry] });
  }
}

export interface MetricsServer {
  url: string;
  stop(): Promise<void>;
}

/** GET /metrics (Prometheus text) and GET /healthz (200 once ready, else 503). */
export async function serveMetrics(o: { registry: Registry; metrics: LibDiskMetrics; port: number; host: string }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': o.registry.contentType });
        res.end(await o.registry.metrics());
      } else if (req.url === '/healthz') {
        const ready = (await o.metrics.ready.get()).values[0]?.value === 1;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ready ? 'lib disk ready\n' : 'lib disk not ready yet\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: GET /metrics or /healthz\n');
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
