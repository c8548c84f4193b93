import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express from 'express';
import type { Logger } from '../common/log.ts';
import type { PolicyConfig } from '../fleet/autoscaler/config.ts';
import { fleetLabelsReader } from '../fleet/autoscaler/fleet-labels.ts';
import { AutoscalerService } from '../fleet/autoscaler/service.ts';
import { ConfigMapStore } from '../fleet/autoscaler/store.ts';
import { WEBHOOK_PATH, webhookHandler } from '../fleet/autoscaler/webhook.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { FleetResizer, fleetSizedBySdfleet, sizedBySdfleet, type FleetAutoscalerObject } from './sessions/fleet-resize.ts';
import { sendError, errorHandler } from './api/errors.ts';
import { apiRouter } from './api/routes.ts';
import { AllocatorCore, type CoreOptions } from './core.ts';
import { createIdentity, IdentityError, isSafeMethod, userKey, type Authentication, type IdentityOptions, type IdentityService } from './identity/index.ts';
import type { KubeClients } from './kube/clients.ts';
import { AllocatorMetrics } from './metrics.ts';
import { pagesRouter } from './pages/pages.ts';
import type { Profile } from './profiles.ts';
import { createProxy, PROXY_DEFAULTS, type Route } from './proxy/index.ts';
import type { IdlePolicy } from './reclaim/idle.ts';
import { Realtime, SOCKET_PATH, type RealtimeOptions } from './realtime/socket.ts';

export const PREFIX = '/_sdfleet';

/** The allocator's own paths (Express); everything else is a user's instance traffic. */
const ownPath = (url: string): boolean => url.startsWith(`${PREFIX}/`) || url === PREFIX || url === '/metrics';

export interface AllocatorOptions {
  k: KubeClients;
  identity: IdentityOptions;
  profiles: Profile[];
  policy: IdlePolicy;
  /** Root of the users' output folders, as the wrappers write them. */
  userStore: string;
  /** Default 8080; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1 (0.0.0.0 in a pod). */
  host?: string;
  /** Express's `trust proxy` (behind a load balancer): which X-Forwarded-* to believe. Default false. */
  trustProxy?: boolean | string | number;
  logger: Logger;
  /** Everything else of the core (queue grace, timeouts, replica name). */
  core?: Omit<CoreOptions, 'k' | 'profiles' | 'policy' | 'log' | 'metrics'>;
  /**
   * The demand-aware FleetAutoscaler webhook (fleet/autoscaler/) at POST
   * /_sdfleet/autoscaler/review, fed by this allocator's queue and GameServer informers;
   * `base` is the settings the `sdfleet-autoscaler` ConfigMap is laid over. Default on;
   * false turns it off.
   */
  autoscaler?: false | { base?: PolicyConfig };
  /** socket.io timings (realtime/socket.ts): defaults for production; tests shorten them. */
  realtime?: Pick<RealtimeOptions, 'tickMs' | 'recheckMs'>;
}

export interface RunningAllocator {
  url: string;
  port: number;
  core: AllocatorCore;
  identity: IdentityService;
  metrics: AllocatorMetrics;
  realtime: Realtime;
  /** The FleetAutoscaler webhook's engine (its status() for the admin page), unless turned off. */
  autoscaler: AutoscalerService | undefined;
  stop(): Promise<void>;
}

const AUTH = Symbol('sdfleet.auth');
type WithAuth = http.IncomingMessage & { [AUTH]?: Authentication | undefined };

/**
 * The allocator: REST API and pages under /_sdfleet/, socket.io at /_sdfleet/socket.io,
 * /metrics, and every other path proxied to the signed-in user's instance. Resolves once
 * it listens and its informers have listed.
 */
export async function startAllocator(o: AllocatorOptions): Promise<RunningAllocator> {
  const log = o.logger;
  const metrics = new AllocatorMetrics();
  const identity = createIdentity({ ...o.identity, logger: log.child({ part: 'identity' }) });
  const core = new AllocatorCore({ ...o.core, k: o.k, profiles: o.profiles, policy: o.policy, log, metrics });
  await core.start();

  const app = express();
  app.disable('x-powered-by');
  // The API's answers change with every state change and nobody revalidates them: no SHA-1 ETag of each body.
  app.set('etag', false);
  app.set('trust proxy', o.trustProxy ?? false);
  // Paths of the allocator go to Express; everything else straight to the proxy, which
  // streams it (no Express on the hot path of a user's WebUI traffic).
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (ownPath(url)) app(req, res);
    else void proxied(req, res);
  });
  server.keepAliveTimeout = 65_000;
  // Uploads and long generations may take longer than Node's default 300 s.
  server.requestTimeout = 0;

  app.get(`${PREFIX}/healthz`, (_req, res) => void res.type('text').send('ok\n'));
  app.get(`${PREFIX}/readyz`, (_req, res) => void (core.ready ? res.type('text').send('ok\n') : res.status(503).type('text').send('informers not synced\n')));
  const metricsHandler: express.RequestHandler = async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
  app.get(`${PREFIX}/metrics`, metricsHandler);
  app.get('/metrics', metricsHandler);

  // The FleetAutoscaler webhook: Agones calls it with no credentials, so it sits before
  // sign-in. It only reads (the queue, the GameServers) and answers a number.
  const autoscaler = o.autoscaler === false ? undefined : new AutoscalerService({
    views: { synced: () => core.ready, queue: core.queue, gameServers: core.fleet, profiles: o.profiles, fleetLabels: fleetLabelsReader(o.k.custom) },
    store: new ConfigMapStore(o.k.core),
    isWriter: () => core.isLeader,
    metrics: metrics.registry,
    log: log.child({ part: 'autoscaler' }),
    ...(o.autoscaler?.base ? { base: o.autoscaler.base } : {}),
  });
  if (autoscaler) {
    core.autoscalerReason = (namespace, fleet) => autoscaler.status().find((x) => x.namespace === namespace && x.fleet === fleet)?.reason;
    const review = webhookHandler(autoscaler, log);
    app.post(WEBHOOK_PATH, (req, res) => review(req, res));
    // Between syncs (fleet/autoscaler/README.md): the leader, as a session ends, lowers the
    // Fleet's replicas by the freed slot when the policy would not refill it, and as a user
    // takes an instance or joins the queue, raises them when the policy wants more now
    // (each only when the policy's `shrinkOnRelease` / `growOnArrival` is on; otherwise
    // the service answers undefined).
    const resizer = new FleetResizer({
      k: o.k, decide: { release: (ref, fleet) => autoscaler.release(ref, fleet), arrival: (ref, fleet) => autoscaler.arrival(ref, fleet) },
      specReplicas: (name) => core.fleetSpecReplicas(name), fleets: () => core.fleetNames(), queued: () => core.queue.entries().length,
      gameServers: () => core.fleet.all(), isLeader: () => core.isLeader, log: log.child({ part: 'autoscaler' }),
      // From the FleetAutoscaler informer (its changes arrive as they happen); listed from
      // the API only before it has synced.
      sizedBySdfleet: (fleet) => {
        const fas = core.fleetAutoscalers();
        return fas ? Promise.resolve(fas.some((f) => sizedBySdfleet(f as FleetAutoscalerObject, fleet))) : fleetSizedBySdfleet(o.k, fleet);
      },
      onResize: (fleet, step, result) => metrics.fleetResizes.inc({ fleet, step, result }),
    });
    core.fleet.on('change', (gs: GameServer | undefined, prev) => {
      // The Fleet and FleetAutoscaler informers kick with no object; FleetView says a
      // deletion as (the last object, undefined).
      if (!gs?.metadata?.name) return;
      if (core.fleet.get(gs.metadata.name) === undefined) void resizer.changed(gs, undefined);
      else void resizer.changed(prev, gs);
    });
    core.queue.on('change', () => void resizer.queueChanged());
  }

  // Who is asking, once per request; a Set-Cookie when the identity layer renews or mints one.
  app.use(async (req, res, next) => {
    try {
      const a = await identity.authenticate(req);
      (req as WithAuth)[AUTH] = a;
      res.locals.auth = a;
      if (a?.setCookie) res.append('Set-Cookie', a.setCookie);
      next();
    } catch (err) {
      if (err instanceof IdentityError && err.credential === 'cookie') res.append('Set-Cookie', identity.clearCookie());
      if (req.path.startsWith(`${PREFIX}/api/`) || !(req.headers.accept ?? '').includes('text/html')) return next(err);
      // A browser with a bad cookie goes back to the start page, signed out.
      res.redirect(302, `${PREFIX}/`);
    }
  });

  // What the autoscaler last decided, with the reasons: for admins.
  app.get(`${PREFIX}/autoscaler/status`, (_req, res) => {
    if (!(res.locals.auth as Authentication | undefined)?.identity.admin) return sendError(res, 403, 'forbidden', 'the autoscaler status is for admins only (ask to be added to SDFLEET_ADMINS)');
    res.json({ fleets: autoscaler?.status() ?? [] });
  });
  app.use(`${PREFIX}/api/v1`, apiRouter({ core, identity, metrics, log, userStore: o.userStore }));
  app.use(PREFIX, pagesRouter({ identity }));
  app.use(PREFIX, (_req, res) => sendError(res, 404, 'not_found', `nothing at this /_sdfleet path; the start page is ${PREFIX}/`));

  const realtime = new Realtime({ server, core, identity, metrics, log, ...o.realtime });

  const resolve = async (req: http.IncomingMessage): Promise<Route> => {
    // HTTP requests were authenticated before the proxy (see proxied); upgrades come here first.
    const a = AUTH in req ? (req as WithAuth)[AUTH] : await identity.authenticate(req).catch(() => undefined);
    if (!a) return { kind: 'no-session' };
    const user = userKey(a.identity.id);
    const s = core.sessionOfUser(user);
    if (!s) return { kind: 'no-session', signedIn: true };
    if (s.state === 'gone') return { kind: 'gone', reason: s.reason ?? 'your instance has ended' };
    if (!s.address || !s.port) return { kind: 'starting' };
    return { kind: 'target', host: s.address, port: s.port, key: s.gameServer };
  };
  const proxy = createProxy({
    resolve,
    startPage: `${PREFIX}/`,
    // The instance never sees sdfleet's credentials.
    stripCookies: [identity.cookieName],
    trustedProxies: o.trustProxy === true,
    stripHeaders: [...PROXY_DEFAULTS.stripHeaders, ...(o.identity.header ? [o.identity.header.name.toLowerCase()] : [])],
    onActivity: (key) => core.traffic.touch(key),
    onGone: (key) => realtime.instanceUnreachable(key),
    metrics: metrics.registry,
    logger: log.child({ part: 'proxy' }),
  });
  app.use(errorHandler(log));

  // The fast lane (allocator/proxy/lane.ts): a signed-in user's request with a session goes
  // to the instance without Node's request objects, Express or undici; anything else (our
  // own paths, a credential still to verify or renew, upgrades) goes to the server above,
  // which answers it exactly as before.
  proxy.fastLane({
    server,
    route: (r) => {
      if (ownPath(r.url)) return undefined;
      const viewOf = { headers: r.headers } as unknown as http.IncomingMessage;
      if (!isSafeMethod(r.method)) {
        try {
          identity.verifyOrigin(viewOf);
        } catch {
          return undefined;
        }
      }
      const id = identity.knownIdentity(r);
      if (!id) return undefined;
      const s = core.sessionOfUser(userKey(id.id));
      if (!s || s.state === 'gone' || !s.address || !s.port) return undefined;
      return { kind: 'target', host: s.address, port: s.port, key: s.gameServer };
    },
  });

  async function proxied(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      // Instance traffic cannot carry our CSRF token: a state change must at least come from our origin.
      if (!isSafeMethod(req.method)) identity.verifyOrigin(req);
      const a = await identity.authenticate(req);
      (req as WithAuth)[AUTH] = a;
      if (a?.setCookie) res.appendHeader('set-cookie', a.setCookie);
    } catch (err) {
      const e = err as { status?: number; code?: string; message?: string; credential?: string };
      if (err instanceof IdentityError && err.credential === 'cookie') res.appendHeader('set-cookie', identity.clearCookie());
      if ((req.headers.accept ?? '').includes('text/html') && e.status === 401) {
        res.writeHead(302, { location: `${PREFIX}/` }).end();
        return;
      }
      const body = JSON.stringify({ error: { code: e.code ?? 'error', message: e.message ?? 'refused' } });
      res.writeHead(e.status ?? 500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    proxy.web(req, res);
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').startsWith(`${SOCKET_PATH}/`)) return; // socket.io's own
    try {
      identity.verifyOrigin(req);
    } catch {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    proxy.upgrade(req, socket, head);
  });

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => res());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${port}`;
  log.info({ url: `${url}${PREFIX}/` }, 'allocator listening');

  let stopping: Promise<void> | undefined;
  return {
    url, port, core, identity, metrics, realtime, autoscaler,
    stop: () =>
      (stopping ??= (async () => {
        await realtime.close();
        await proxy.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await autoscaler?.stop();
        await core.stop();
      })()),
  };
}
