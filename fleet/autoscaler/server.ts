/**
 * `sdfleet autoscaler`: the webhook on its own port, for a cluster that runs it apart from
 * the allocator. POST /review (and the allocator's path, WEBHOOK_PATH) answers
 * FleetAutoscaleReviews; GET /status lists the last decision of each fleet with its
 * reason; /healthz, and /metrics when a registry is given.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import type { AutoscalerService } from './service.ts';
import { WEBHOOK_PATH, webhookHandler } from './webhook.ts';

export interface AutoscalerServerOptions {
  service: AutoscalerService;
  /** Default 8082; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1 (0.0.0.0 in a pod). */
  host?: string;
  metrics?: Registry;
  log: Logger;
}

export interface RunningAutoscalerServer {
  url: string;
  port: number;
  /** Stops listening, then the service (its history is saved). */
  stop(): Promise<void>;
}

export async function startAutoscalerServer(o: AutoscalerServerOptions): Promise<RunningAutoscalerServer> {
  const review = webhookHandler(o.service, o.log);
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body, null, 2);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/review' || path === WEBHOOK_PATH) return review(req, res);
    if (req.method === 'GET' && path === '/status') return json(res, 200, { fleets: o.service.status() });
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (req.method === 'GET' && path === '/metrics' && o.metrics) {
      void o.metrics.metrics().then((text) => res.writeHead(200, { 'content-type': o.metrics!.contentType }).end(text));
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: `nothing at ${path}: POST /review, GET /status, /healthz${o.metrics ? ', /metrics' : ''}` } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8082, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${port}`;
  o.log.info({ url: `${url}/review` }, 'autoscaler webhook listening');
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () =>
      (stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await o.service.stop();
      })()),
  };
}
