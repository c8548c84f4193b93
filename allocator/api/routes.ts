import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../common/log.ts';
import { SdfleetError } from '../../common/errors.ts';
import { AGONES, mergePatch, statusOf } from '../kube/clients.ts';
import type { AllocatorCore } from '../core.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import type { Session } from '../sessions/model.ts';
import { userDir } from '../../sdk-wrapper/user-store.ts';
import type { Authentication, IdentityService } from '../identity/index.ts';
import { isSafeMethod, userKey } from '../identity/index.ts';
import { listImages, openImage } from './images.ts';
import { openApiDocument } from './openapi.ts';
import { sendError } from './errors.ts';

export const API_PREFIX = '/_sdfleet/api/v1';

export interface ApiOptions {
  core: AllocatorCore;
  identity: IdentityService;
  metrics: AllocatorMetrics;
  log: Logger;
  /** Root of the users' output folders (the wrapper's --user-store). */
  userStore: string;
  /** Largest JSON body, in bytes. Default 16 KiB. */
  bodyLimit?: number;
}

const startBody = z.object({ profile: z.string().max(40).optional() }).strict();
const signInBody = z.object({ name: z.string().max(64) }).strict();
const scaleBody = z.object({ replicas: z.number().int().min(0).max(1000) }).strict();

function auth(res: Response): Authentication | undefined {
  return res.locals.auth as Authentication | undefined;
}

/** The signed-in caller, or 401. */
function caller(res: Response): Authentication {
  const a = auth(res);
  if (!a) throw new SdfleetError('unauthenticated', 'sign in first: open /_sdfleet/ or send your bearer token', { status: 401 });
  return a;
}

const requireAdmin: RequestHandler = (_req, res, next) => {
  if (!caller(res).identity.admin) throw new SdfleetError('forbidden', 'this is for admins only (ask to be added to SDFLEET_ADMINS)', { status: 403 });
  next();
};

/** The REST API under /_sdfleet/api/v1 (described by its OpenAPI document). */
export function apiRouter(o: ApiOptions): express.Router {
  const r = express.Router();
  const { core, identity } = o;
  const bodyLimit = o.bodyLimit ?? 16 * 1024;
  // A body declared larger than the limit is refused before any of it is read, and the
  // connection closed: the JSON parser would first read (and drop) all of it, so a client
  // declaring gigabytes could hold the connection, and the bandwidth, as long as it likes.
  r.use((req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > bodyLimit)) return next();
    res.setHeader('connection', 'close');
    sendError(res, 413, 'body_too_large', `the request body is ${declared} bytes; the API takes JSON bodies of at most ${bodyLimit} bytes`);
  });
  r.use(express.json({ limit: bodyLimit, strict: true }));

  // State-changing requests: same origin, and a browser session's CSRF token.
  r.use((req: Request, res: Response, next: NextFunction) => {
    if (!isSafeMethod(req.method)) identity.verifyCsrf(req, auth(res));
    next();
  });

  r.get('/openapi.json', (_req, res) => void res.json(openApiDocument()));

  r.post('/signin', (req, res) => {
    if (identity.mode !== 'dev') throw new SdfleetError('not_found', `sign-in is done by ${identity.mode}, not by a form`, { status: 404 });
    const { name } = signInBody.parse(req.body);
    const id = identity.devSignIn(name);
    res.append('Set-Cookie', identity.issueCookie(id));
    res.status(200).json({ user: { id: id.id, name: id.name, admin: id.admin, provider: id.provider } });
  });

  r.post('/signin/token', (req, res) => {
    const { token } = z.object({ token: z.string().max(512) }).strict().parse(req.body);
    const id = identity.tokenSignIn(token);
    res.append('Set-Cookie', identity.issueCookie(id));
    res.status(200).json({ user: { id: id.id, name: id.name, admin: id.admin, provider: id.provider } });
  });

  r.post('/signout', (_req, res) => {
    res.append('Set-Cookie', identity.clearCookie());
    res.status(204).end();
  });

  r.get('/me', (_req, res) => {
    const a = caller(res);
    const user = userKey(a.identity.id);
    const s = core.sessionOfUser(user);
    res.json({
      user: { id: a.identity.id, name: a.identity.name, admin: a.identity.admin, provider: a.identity.provider, key: user },
      csrfToken: a.csrfToken ?? null,
      session: s ? core.sessionView(s) : null,
      queue: core.queueView(user) ?? null,
    });
  });

  r.get('/profiles', (_req, res) => {
    caller(res);
    res.json({ profiles: core.profileViews() });
  });

  r.post('/sessions', async (req, res) => {
    const a = caller(res);
    const body = startBody.parse(req.body ?? {});
    const started = performance.now();
    const result = await core.allocation.start({ user: userKey(a.identity.id), userId: a.identity.id }, body.profile);
    if (result.kind === 'session') {
      o.metrics.sessionStartSeconds.observe((performance.now() - started) / 1000);
      res.status(result.created ? 201 : 200).json({ session: core.sessionView(result.session) });
    } else {
      res.status(202).json({ queue: core.queueView(result.entry.user) ?? { state: 'queued', profile: result.entry.profile, position: result.position, total: result.total, eta: null, queuedAt: result.entry.queuedAt } });
    }
  });

  r.get('/sessions/me', (_req, res) => {
    const a = caller(res);
    const user = userKey(a.identity.id);
    const s = core.sessionOfUser(user);
    if (s) return void res.json({ session: core.sessionView(s) });
    const q = core.queueView(user);
    if (q) {
      // Asking is a sign of life: it keeps the place, as a connected socket does.
      void core.queue.renew(user);
      return void res.json({ queue: q });
    }
    throw new SdfleetError('not_found', 'you have no session; POST /sessions starts one', { status: 404 });
  });

  const own = (res: Response, id: string): Session => {
    const a = caller(res);
    const s = core.registry.byId(id);
    // Someone else's session reads as no session at all: ids reveal nothing.
    if (!s || (s.user !== userKey(a.identity.id) && !a.identity.admin)) throw new SdfleetError('not_found', `no session ${id}`, { status: 404 });
    return s;
  };

  r.get('/sessions/:id', (req, res) => void res.json({ session: core.sessionView(own(res, req.params.id as string)) }));

  r.delete('/sessions/:id', async (req, res) => {
    const s = own(res, req.params.id as string);
    const a = caller(res);
    const reason = s.user === userKey(a.identity.id) ? 'user' : 'admin';
    if (s.state === 'gone') throw new SdfleetError('gone', 'that session has already ended', { status: 409 });
    await core.release(s, reason);
    res.status(202).json({ session: { ...core.sessionView(s), state: 'releasing', reason } });
  });

  r.post('/sessions/:id/keepalive', async (req, res) => {
    const s = own(res, req.params.id as string);
    if (s.state !== 'active') throw new SdfleetError('not_active', `the session is ${s.state}; nothing to keep alive`, { status: 409 });
    await core.keepalive(s);
    res.json({ session: core.sessionView({ ...s, lastActivity: new Date().toISOString() }) });
  });

  r.delete('/queue/me', async (_req, res) => {
    const a = caller(res);
    await core.queue.leave(userKey(a.identity.id));
    res.status(204).end();
  });

  r.get('/images', async (_req, res) => {
    const a = caller(res);
    const dir = userDir(o.userStore, userKey(a.identity.id));
    res.json({ images: await listImages(dir, `${API_PREFIX}/images/file`) });
  });

  r.get(/^\/images\/file\/(.+)$/, async (req, res) => {
    const a = caller(res);
    // The router has %-decoded the path already (a malformed escape is its 400): decoding
    // again would turn "%25" into a bad escape (a 500) and make names with "%" unreachable.
    const rel = (req.params as unknown as string[])[0] ?? '';
    const img = await openImage(userDir(o.userStore, userKey(a.identity.id)), rel);
    res.setHeader('content-type', img.type);
    res.setHeader('content-length', img.size);
    res.setHeader('cache-control', 'private, max-age=3600');
    if (req.query.download !== undefined) res.setHeader('content-disposition', `attachment; filename="${rel.split('/').pop()!.replace(/"/g, '')}"`);
    img.stream.pipe(res);
  });

  // ---- admin ----

  r.get('/admin/sessions', requireAdmin, (_req, res) => {
    res.json({ sessions: core.registry.live().map((s) => ({ ...core.sessionView(s), user: s.userId, gameServer: s.gameServer })) });
  });

  r.get('/admin/queue', requireAdmin, (_req, res) => {
    res.json({ queue: core.queue.entries().map((e) => ({ user: e.userId, profile: e.profile, queuedAt: e.queuedAt, ...core.queueView(e.user) })) });
  });

  r.get('/admin/overview', requireAdmin, (_req, res) => void res.json(core.adminView()));

  r.get('/admin/fleets', requireAdmin, (_req, res) => void res.json({ fleets: core.fleet.counts() }));

  const scale: RequestHandler = async (req, res) => {
    const { replicas } = scaleBody.parse(req.body);
    try {
      await core.k.custom.patchNamespacedCustomObject({ ...AGONES, namespace: core.k.namespace, plural: 'fleets', name: req.params.name as string, body: { spec: { replicas } } }, mergePatch);
    } catch (err) {
      if (statusOf(err) === 404) throw new SdfleetError('not_found', `no fleet ${req.params.name as string}`, { status: 404 });
      throw err;
    }
    res.json({ fleet: req.params.name, replicas });
  };
  r.put('/admin/fleets/:name/scale', requireAdmin, scale);
  r.put('/fleets/:name/scale', requireAdmin, scale);

  // Short aliases the issue names: GET /sessions, /fleets, /queue, PUT /fleets/{name}/scale (admin).
  r.get('/sessions', requireAdmin, (_req, res) => void res.json({ sessions: core.registry.live().map((s) => ({ ...core.sessionView(s), user: s.userId, gameServer: s.gameServer })) }));
  r.get('/fleets', requireAdmin, (_req, res) => void res.json({ fleets: core.fleet.counts() }));
  r.get('/queue', requireAdmin, (_req, res) => void res.json({ queue: core.queue.entries().map((e) => ({ user: e.userId, profile: e.profile, queuedAt: e.queuedAt })) }));

  r.use((_req, _res) => {
    throw new SdfleetError('not_found', 'no such API route; see /_sdfleet/api/v1/openapi.json', { status: 404 });
  });
  return r;
}
