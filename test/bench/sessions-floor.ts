/**
 * The floor of `sdfleet bench sessions`: a stand-in for the allocator that makes the same
 * hops and nothing else, in a process of its own. POST /_sdfleet/api/v1/sessions is one
 * GameServerAllocation through client-node (the allocator's own API clients and transport,
 * allocator/kube/clients.ts) and a 201; any other path is relayed with node:http to the
 * instance the caller was given. No Express, no identity (the cookie is the user's name),
 * no CSRF, no informer, no queue, no locks, no metrics: what is left is the three
 * processes, the loopback round trips and the control plane's work, so its latency is the
 * least this machine can give the measured chain, whatever the allocator does.
 *
 * The load client signs in as it does with the allocator: POST /signin sets the cookie, GET
 * /me answers a token (unchecked). Stops on SIGTERM or when its parent goes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALLOCATION, kubeClients } from '../../allocator/kube/clients.ts';
import { LABEL_USER } from '../../fleet/agones/metadata.ts';

interface Allocated { status?: { state?: string; address?: string; ports?: { name: string; port: number }[] } }

const [kubeconfig] = process.argv.slice(2) as [string];
const k = kubeClients({ kubeconfig, namespace: 'default' });
const upstream = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** The user (cookie value) → their instance. */
const targets = new Map<string, { host: string; port: number }>();

function userOf(req: http.IncomingMessage): string | undefined {
  return /(?:^|;\s*)floor=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
}

function answer(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

async function start(req: http.IncomingMessage, res: http.ServerResponse, user: string): Promise<void> {
  await readBody(req);
  const gsa = (await k.custom.createNamespacedCustomObject({
    ...ALLOCATION, namespace: 'default',
    body: {
      apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation',
      spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' }, gameServerState: 'Ready' }], metadata: { labels: { [LABEL_USER]: user } } },
    },
  })) as Allocated;
  const port = gsa.status?.ports?.find((p) => p.name === 'webui')?.port;
  if (gsa.status?.state !== 'Allocated' || !gsa.status.address || !port) return answer(res, 503, { error: { code: 'no_instance', message: gsa.status?.state ?? 'no answer' } });
  targets.set(user, { host: gsa.status.address, port });
  answer(res, 201, { session: { state: 'active', address: gsa.status.address, port } });
}

function relay(req: http.IncomingMessage, res: http.ServerResponse, to: { host: string; port: number }): void {
  const up = http.request({ host: to.host, port: to.port, method: req.method, path: req.url, headers: req.headers, agent: upstream }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => answer(res, 502, { error: { code: 'upstream', message: 'the instance did not answer' } }));
  req.pipe(up);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const user = userOf(req);
  if (req.method === 'POST' && url === '/_sdfleet/api/v1/signin') {
    void readBody(req).then((b) => answer(res, 200, { user: {} }, { 'set-cookie': `floor=${encodeURIComponent((JSON.parse(b) as { name: string }).name)}; Path=/` }));
    return;
  }
  if (!user) return answer(res, 401, { error: { code: 'unauthenticated', message: 'no cookie' } });
  if (url === '/_sdfleet/api/v1/me') return answer(res, 200, { csrfToken: 'floor' });
  if (req.method === 'POST' && url === '/_sdfleet/api/v1/sessions') {
    start(req, res, user).catch((err: unknown) => answer(res, 503, { error: { code: 'control_plane', message: (err as Error).message } }));
    return;
  }
  const to = targets.get(user);
  if (!to) return answer(res, 404, { error: { code: 'no_session', message: 'no session' } });
  relay(req, res, to);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
const stop = (): void => {
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.on('message', (m: { type: string }) => {
  if (m.type === 'rss') process.send!({ type: 'rss', rssMb: Math.round(process.memoryUsage().rss / 1048576) });
});
