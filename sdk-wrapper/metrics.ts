import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The wrapper's Prometheus metrics, in a registry of its own. */
export class WrapperMetrics {
  readonly registry = new Registry();
  readonly phaseSeconds = new Gauge({
    name: 'sdfleet_wrapper_phase_seconds',
    help: 'Duration of each start-up phase of this instance',
    labelNames: ['phase'],
    registers: [this.registry],
  });
  readonly state = new Gauge({
    name: 'sdfleet_wrapper_state',
    help: '1 for the GameServer state the wrapper last saw',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly generating = new Gauge({
    name: 'sdfleet_wrapper_generating',
    help: '1 while the WebUI runs a generation',
    registers: [this.registry],
  });
  readonly sessions = new Counter({
    name: 'sdfleet_wrapper_sessions_total',
    help: 'Allocations this instance served',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sdfleet_wrapper_' });
  }

  setState(state: string): void {
    this.state.reset();
    this.state.set({ state }, 1);
  }

  /** Serves GET /metrics; resolves with the bound port. */
  async serve(port: number, host = '0.0.0.0'): Promise<{ port: number; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
