/**
 * The Kubernetes-style HTTP API over an ObjectStore: discovery, CRUD, status and scale
 * subresources, patch, list/watch (JSON and Table), create handlers for kinds that are
 * not stored (GameServerAllocation). Enough for @kubernetes/client-node 1.x and kubectl.
 */
import { timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { errorMessage } from '../../../common/errors.ts';
import { silentLogger, type Logger } from '../../../common/log.ts';
import type { RegisteredType } from '../resources/registry.ts';
import { annotationErrors, labelErrors, toCauses } from '../resources/validation.ts';
import { ApiError, badRequest, conflict, internalError, invalid, isApiError, methodNotAllowed, serviceUnavailable, type Status } from '../store/errors.ts';
import type { DeleteOptions, KubeObject, ObjectStore, ResourceKey } from '../store/types.ts';
import { decodeObject, decodeOptional, readBody } from './body.ts';
import { AGGREGATED_CONTENT_TYPE, defaultVersion, Discovery, wantsAggregated, type VersionInfo } from './discovery.ts';
import { contentTypeOf, negotiate, type ResponseFormat } from './negotiate.ts';
import { OpenApiV3 } from './openapi.ts';
import { ProtobufDecoder } from './protobuf.ts';
import { applyPatch, patchKindOf } from './patch.ts';
import { TableConverter, type IncludeObject } from './table.ts';
import type { TlsPair } from './tls.ts';
import { LineCache, startWatchStream, type WatchFormat, type WatchStream } from './watch-stream.ts';

/** What a create handler gets besides the (defaulted, validated) object. */
export interface CreateContext {
  /** The namespace of the URL (the object's namespace is set to it). */
  namespace: string;
  /** `?dryRun=All`: answer as if, but change nothing. */
  dryRun: boolean;
  store: ObjectStore;
  resource: RegisteredType;
}

/**
 * Handles POST of a kind that is not stored (GameServerAllocation): returns the object
 * to answer with (201). Throw an ApiError for a Kubernetes-style failure; anything else
 * is a 500.
 */
export type CreateHandler = (obj: KubeObject, ctx: CreateContext) => KubeObject | Promise<KubeObject>;

export interface ApiServerOptions {
  store: ObjectStore;
  /** Default 0: any free port (read `port` / `url` from the result). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, every request but /healthz, /livez, /readyz and /version needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Serve HTTPS with this certificate (kubectl sends a token only over TLS). */
  tls?: TlsPair;
  /** Create handlers by resource key (e.g. RESOURCES.gameServerAllocations). */
  createHandlers?: Readonly<Record<ResourceKey, CreateHandler>>;
  logger?: Logger;
  /** Largest request body; default 3 MiB (the API server's limit). */
  maxBodyBytes?: number;
  /** A watch without timeoutSeconds ends after a random time in this range; default 300–600 s. */
  watchTimeoutSeconds?: { min: number; max: number };
  /** BOOKMARK interval for watches with allowWatchBookmarks; default 60 s. */
  bookmarkIntervalMs?: number;
  /** How a watch from too old a resourceVersion fails: `event` (default, like the API server) or `status` (HTTP 410). */
  goneWatchAs?: 'event' | 'status';
  /** Closes a watch whose client has this much unread; default 64 MiB. */
  maxWatchBufferBytes?: number;
  version?: VersionInfo;
  now?: () => number;
}

export interface ApiServer {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`) */
  url: string;
  port: number;
  host: string;
  /** Registers (or replaces) the create handler of a resource; returns "unregister". */
  registerCreateHandler(resource: ResourceKey, handler: CreateHandler): () => void;
  /** Open watch streams. */
  activeWatches(): number;
  /** Ends watch streams cleanly, stops listening, closes connections. Idempotent. */
  stop(): Promise<void>;
}

const UNAUTHENTICATED_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);
/** The query of a URL without one; only ever read. */
const NO_QUERY = new URLSearchParams();

interface Route {
  type: RegisteredType;
  /** URL namespace (namespaced kinds); undefined = all namespaces / cluster-scoped. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  /** Legacy `/watch/` path prefix. */
  watchPrefix: boolean;
}

function statusOf(err: unknown): Status {
  if (isApiError(err)) return err.status;
  return internalError(errorMessage(err)).status;
}

function boolParam(v: string | null): boolean {
  return v === 'true' || v === '1' || v === 't' || v === 'T' || v === 'TRUE' || v === 'True';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name}: invalid value "${v}": expected an integer`);
  return Number(v);
}

function sortKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function encodeContinue(rv: string, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
    if (typeof o.start === 'string') return o.start;
  } catch {
    // fall through
  }
  throw badRequest(`invalid continue token "${token.slice(0, 64)}": pass back the metadata.continue of the previous list`);
}

/** Reads/writes `.a.b` paths of scale subresources. */
function getPath(o: unknown, path: string): unknown {
  let cur = o;
  for (const seg of path.split('.').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.').filter(Boolean);
  let cur = o;
  for (const seg of segs.slice(0, -1)) {
    const next = cur[seg];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]!] = value;
}

class ApiServerImpl implements ApiServer {
  url = '';
  port = 0;
  readonly host: string;
  readonly #store: ObjectStore;
  readonly #log: Logger;
  readonly #token: Buffer | undefined;
  readonly #maxBody: number;
  readonly #watchTimeout: { min: number; max: number };
  readonly #bookmarkMs: number;
  readonly #goneAs: 'event' | 'status';
  readonly #maxWatchBuffer: number;
  readonly #now: () => number;
  readonly #discovery: Discovery;
  #openapi: OpenApiV3 | undefined;
  #protobuf: ProtobufDecoder | undefined;
  readonly #handlers = new Map<ResourceKey, CreateHandler>();
  readonly #tables = new Map<string, TableConverter>();
  readonly #lines = new LineCache();
  readonly #watches = new Set<WatchStream>();
  readonly #server: http.Server;
  readonly #scheme: 'http' | 'https';
  #stopping: Promise<void> | undefined;

  constructor(opts: ApiServerOptions) {
    this.#store = opts.store;
    this.host = opts.host ?? '127.0.0.1';
    this.#log = opts.logger ?? silentLogger();
    this.#token = opts.token ? Buffer.from(`Bearer ${opts.token}`) : undefined;
    this.#maxBody = opts.maxBodyBytes ?? 3 * 1024 * 1024;
    this.#watchTimeout = opts.watchTimeoutSeconds ?? { min: 300, max: 600 };
    this.#bookmarkMs = opts.bookmarkIntervalMs ?? 60_000;
    this.#goneAs = opts.goneWatchAs ?? 'event';
    this.#maxWatchBuffer = opts.maxWatchBufferBytes ?? 64 * 1024 * 1024;
    this.#now = opts.now ?? Date.now;
    this.#discovery = new Discovery(opts.store.registry, opts.version ?? defaultVersion());
    for (const [k, h] of Object.entries(opts.createHandlers ?? {})) this.registerCreateHandler(k, h);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    this.#scheme = opts.tls ? 'https' : 'http';
    this.#server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, keepAliveTimeout: 65_000, requestTimeout: 0 }, handler)
      : http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handler);
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, this.host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.port = (this.#server.address() as AddressInfo).port;
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `${this.#scheme}://${h}:${this.port}`;
  }

  registerCreateHandler(resource: ResourceKey, handler: CreateHandler): () => void {
    const t = this.#store.registry.tryGet(resource);
    if (!t) throw new Error(`cannot register a create handler for unknown resource ${resource}`);
    this.#handlers.set(resource, handler);
    return () => {
      if (this.#handlers.get(resource) === handler) this.#handlers.delete(resource);
    };
  }

  activeWatches(): number {
    return this.#watches.size;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const w of [...this.#watches]) w.end();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const grace = setTimeout(() => this.#server.closeAllConnections(), 2000);
      grace.unref();
      await closed;
      clearTimeout(grace);
    })();
    return this.#stopping;
  }

  // -------------------------------------------------------------------------------------

  #table(type: RegisteredType): TableConverter {
    let c = this.#tables.get(type.key);
    if (!c) {
      c = new TableConverter(type);
      this.#tables.set(type.key, c);
    }
    return c;
  }

  #send(res: ServerResponse, code: number, body: string | Buffer, contentType = 'application/json'): void {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
    res.end(body);
  }

  #sendStatus(res: ServerResponse, status: Status): void {
    this.#send(res, status.code, JSON.stringify(status));
  }

  #authorized(req: IncomingMessage, path: string): boolean {
    if (!this.#token || UNAUTHENTICATED_PATHS.has(path)) return true;
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === this.#token.length && timingSafeEqual(got, this.#token);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const query = q >= 0 ? new URLSearchParams(rawUrl.slice(q + 1)) : NO_QUERY;
    let code = 200;
    let watching = false;
    try {
      if (!this.#authorized(req, path)) {
        throw new ApiError(401, 'Unauthorized', 'Unauthorized: a bearer token is required (see the kubeconfig written by `sdfleet control-plane`)');
      }
      watching = await this.#route(req, res, path, query);
      code = res.statusCode;
    } catch (err) {
      const status = statusOf(err);
      code = status.code;
      if (code >= 500) this.#log.warn({ method: req.method, path, err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined }, 'API request failed');
      if (res.headersSent) {
        if (!res.writableEnded) res.end();
      } else {
        if (code === 413) res.setHeader('Connection', 'close');
        this.#sendStatus(res, status);
      }
      if (this.#log.isLevelEnabled('debug')) this.#log.debug({ method: req.method, path, code, reason: status.reason, error: status.message }, 'request refused');
    }
    if (this.#log.isLevelEnabled('debug') && !watching) {
      this.#log.debug({ method: req.method, path, query: query.toString() || undefined, code, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request');
    }
  }

  /** Returns true when the request became a watch stream (logged when it ends). */
  async #route(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<boolean> {
    let segs: string[];
    try {
      segs = path.split('/').filter((s) => s !== '');
      if (path.includes('%')) segs = segs.map(decodeURIComponent);
    } catch {
      throw badRequest(`malformed URL path ${path.slice(0, 200)}`);
    }
    const method = req.method ?? 'GET';
    const head = segs[0];
    if (segs.length === 0) {
      this.#onlyGet(method);
      this.#send(res, 200, JSON.stringify({ paths: ['/api', '/api/v1', '/apis', ...this.#store.registry.groupVersions().filter((g) => g.group).map((g) => `/apis/${g.groupVersion}`), '/healthz', '/livez', '/readyz', '/version'] }));
      return false;
    }
    if (segs.length === 1 && (head === 'healthz' || head === 'livez' || head === 'readyz')) {
      this.#onlyGet(method);
      this.#send(res, 200, 'ok', 'text/plain; charset=utf-8');
      return false;
    }
    if (segs.length === 1 && head === 'version') {
      this.#onlyGet(method);
      this.#send(res, 200, this.#discovery.version);
      return false;
    }
    if (head === 'openapi') {
      this.#onlyGet(method);
      if (segs[1] === 'v3') {
        this.#openapi ??= new OpenApiV3(this.#store.registry);
        const body = segs.length === 2 ? this.#openapi.index : this.#openapi.doc(segs.slice(2).join('/'));
        if (body === undefined) throw this.#noRoute();
        this.#send(res, 200, body);
        return false;
      }
      throw new ApiError(404, 'NotFound', 'only /openapi/v3 is served (OpenAPI v2 is not)');
    }
    if (head === 'api') {
      if (segs.length === 1) {
        this.#onlyGet(method);
        if (wantsAggregated(req.headers.accept)) this.#send(res, 200, this.#discovery.aggregatedCore, AGGREGATED_CONTENT_TYPE);
        else this.#send(res, 200, this.#discovery.apiVersions(`${this.host}:${this.port}`));
        return false;
      }
      return this.#resourcePath(req, res, '', segs[1]!, segs.slice(2), query);
    }
    if (head === 'apis') {
      if (segs.length === 1) {
        this.#onlyGet(method);
        if (wantsAggregated(req.headers.accept)) this.#send(res, 200, this.#discovery.aggregatedApis, AGGREGATED_CONTENT_TYPE);
        else this.#send(res, 200, this.#discovery.groupList);
        return false;
      }
      if (segs.length === 2) {
        this.#onlyGet(method);
        const g = this.#discovery.group(segs[1]!);
        if (!g) throw this.#noRoute();
        this.#send(res, 200, g);
        return false;
      }
      return this.#resourcePath(req, res, segs[1]!, segs[2]!, segs.slice(3), query);
    }
    throw this.#noRoute();
  }

  #noRoute(): ApiError {
    return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  #onlyGet(method: string): void {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
  }

  async #resourcePath(req: IncomingMessage, res: ServerResponse, group: string, version: string, rest: string[], query: URLSearchParams): Promise<boolean> {
    const registry = this.#store.registry;
    if (rest.length === 0) {
      this.#onlyGet(req.method ?? 'GET');
      const list = this.#discovery.resourceList(group, version);
      if (!list) throw this.#noRoute();
      this.#send(res, 200, list);
      return false;
    }
    let watchPrefix = false;
    if (rest[0] === 'watch') {
      watchPrefix = true;
      rest = rest.slice(1);
    }
    let route: Route | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
      const type = registry.byPath(group, version, rest[2]!);
      if (!type || !type.namespaced || rest.length > 5) throw this.#noRoute();
      route = { type, namespace: rest[1], name: rest[3], subresource: rest[4], watchPrefix };
    } else {
      const type = registry.byPath(group, version, rest[0]!);
      if (!type || rest.length > 3) throw this.#noRoute();
      if (type.namespaced && rest.length > 1) throw this.#noRoute();
      route = { type, namespace: undefined, name: rest[1], subresource: rest[2], watchPrefix };
    }
    if (route.subresource !== undefined) {
      const ok = (route.subresource === 'status' && route.type.subresources.status) || (route.subresource === 'scale' && route.type.subresources.scale);
      if (!ok) throw this.#noRoute();
    }
    return this.#dispatch(req, res, route, query);
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams): Promise<boolean> {
    const method = req.method ?? 'GET';
    const t = r.type;
    const isWatch = r.watchPrefix || boolParam(query.get('watch'));
    const verb =
      method === 'GET' || method === 'HEAD'
        ? isWatch
          ? 'watch'
          : r.name === undefined
            ? 'list'
            : 'get'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : method === 'DELETE'
                ? r.name === undefined
                  ? 'deletecollection'
                  : 'delete'
                : undefined;
    if (!verb || !t.verbs.includes(verb)) throw methodNotAllowed();
    if (r.subresource !== undefined && verb !== 'get' && verb !== 'update' && verb !== 'patch') throw methodNotAllowed();
    if (r.name !== undefined && verb === 'create') throw methodNotAllowed();
    if (t.namespaced && r.namespace === undefined && verb !== 'list' && verb !== 'watch' && verb !== 'deletecollection') throw methodNotAllowed();
    const dryRun = query.getAll('dryRun').includes('All');
    switch (verb) {
      case 'get':
        this.#get(req, res, r, query);
        return false;
      case 'list':
        this.#list(req, res, r, query);
        return false;
      case 'watch':
        this.#watch(req, res, r, query);
        return true;
      case 'create':
        await this.#create(req, res, r, dryRun);
        return false;
      case 'update':
        await this.#update(req, res, r, dryRun);
        return false;
      case 'patch':
        await this.#patch(req, res, r, dryRun);
        return false;
      case 'delete':
        await this.#delete(req, res, r, query, dryRun);
        return false;
      case 'deletecollection':
        await this.#deleteCollection(req, res, r, query, dryRun);
        return false;
    }
  }

  // -------------------------------------------------------------------------------------
  // reads

  #formatObject(res: ServerResponse, code: number, t: RegisteredType, obj: KubeObject, format: ResponseFormat, query?: URLSearchParams): void {
    switch (format.kind) {
      case 'json':
        this.#send(res, code, this.#store.json(obj));
        return;
      case 'yaml':
        this.#send(res, code, YAML.stringify(obj), 'application/yaml');
        return;
      case 'table': {
        const c = this.#table(t);
        const include = this.#includeObject(query);
        this.#send(res, code, c.tableJson([c.rowJson(obj, this.#now(), include, format.version, () => this.#store.json(obj))], obj.metadata.resourceVersion ?? '', format.version), contentTypeOf(format));
        return;
      }
      case 'partial':
        this.#send(res, code, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${format.version}","metadata":${JSON.stringify(obj.metadata)}}`, contentTypeOf(format));
        return;
    }
  }

  #includeObject(query: URLSearchParams | undefined): IncludeObject {
    const v = query?.get('includeObject');
    if (v === null || v === undefined || v === '' || v === 'Metadata') return 'Metadata';
    if (v === 'None' || v === 'Object') return v;
    throw badRequest(`includeObject: unsupported value "${v}": supported values: "None", "Metadata", "Object"`);
  }

  #get(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams): void {
    const format = negotiate(req.headers.accept);
    const obj = this.#store.get(r.type.key, r.namespace, r.name!);
    if (r.subresource === 'scale') {
      this.#send(res, 200, JSON.stringify(this.#scaleOf(r.type, obj)));
      return;
    }
    this.#formatObject(res, 200, r.type, obj, format, query);
  }

  #list(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams): void {
    const t = r.type;
    const format = negotiate(req.headers.accept);
    const limit = intParam(query, 'limit');
    const cont = query.get('continue');
    const result = this.#store.list(t.key, {
      ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
      ...(query.get('labelSelector') ? { labelSelector: query.get('labelSelector')! } : {}),
      ...(query.get('fieldSelector') ? { fieldSelector: query.get('fieldSelector')! } : {}),
    });
    let items = result.items.slice().sort((a, b) => {
      const ka = sortKey(a);
      const kb = sortKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    if (cont) {
      const start = decodeContinue(cont);
      const i = items.findIndex((o) => sortKey(o) > start);
      items = i < 0 ? [] : items.slice(i);
    }
    let meta = `"resourceVersion":"${result.resourceVersion}"`;
    if (limit !== undefined && limit > 0 && items.length > limit) {
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      meta += `,"continue":"${encodeContinue(result.resourceVersion, sortKey(items[items.length - 1]!))}","remainingItemCount":${remaining}`;
    }
    switch (format.kind) {
      case 'json':
        this.#send(res, 200, `{"apiVersion":"${t.apiVersion}","kind":"${t.listKind}","metadata":{${meta}},"items":[${items.map((o) => this.#store.json(o)).join(',')}]}`);
        return;
      case 'yaml':
        this.#send(res, 200, YAML.stringify({ apiVersion: t.apiVersion, kind: t.listKind, metadata: JSON.parse(`{${meta}}`) as unknown, items }), 'application/yaml');
        return;
      case 'table': {
        const c = this.#table(t);
        const now = this.#now();
        const include = this.#includeObject(query);
        const rows = items.map((o) => c.rowJson(o, now, include, format.version, () => this.#store.json(o)));
        this.#send(res, 200, `{"kind":"Table","apiVersion":"meta.k8s.io/${format.version}","metadata":{${meta}},"columnDefinitions":${JSON.stringify(c.columns)},"rows":[${rows.join(',')}]}`, contentTypeOf(format));
        return;
      }
      case 'partial': {
        const metas = items.map((o) => `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${format.version}","metadata":${JSON.stringify(o.metadata)}}`);
        this.#send(res, 200, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/${format.version}","metadata":{${meta}},"items":[${metas.join(',')}]}`, contentTypeOf(format));
        return;
      }
    }
  }

  #watch(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams): void {
    const t = r.type;
    const negotiated = negotiate(req.headers.accept);
    let format: WatchFormat;
    if (negotiated.kind === 'table') format = { kind: 'table', version: negotiated.version, include: this.#includeObject(query), converter: this.#table(t) };
    else if (negotiated.kind === 'json') format = { kind: 'json' };
    else throw new ApiError(406, 'NotAcceptable', 'watch streams are served as application/json or as Tables');
    let fieldSelector = query.get('fieldSelector') ?? '';
    if (r.name !== undefined) fieldSelector = fieldSelector ? `${fieldSelector},metadata.name=${r.name}` : `metadata.name=${r.name}`;
    const timeoutSeconds = intParam(query, 'timeoutSeconds');
    const timeoutMs =
      timeoutSeconds !== undefined && timeoutSeconds > 0
        ? timeoutSeconds * 1000
        : (this.#watchTimeout.min + Math.random() * (this.#watchTimeout.max - this.#watchTimeout.min)) * 1000;
    const rv = query.get('resourceVersion') ?? '';
    const bookmarks = boolParam(query.get('allowWatchBookmarks'));
    const started = performance.now();
    // onEnd may run before startWatchStream returns (a 410 sent as an event): hence the holder.
    const holder: { stream?: WatchStream } = {};
    holder.stream = startWatchStream({
      store: this.#store,
      type: t,
      res,
      watch: {
        ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
        ...(query.get('labelSelector') ? { labelSelector: query.get('labelSelector')! } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        resourceVersion: rv,
        allowBookmarks: bookmarks,
        bookmarkIntervalMs: this.#bookmarkMs,
      },
      format,
      timeoutMs,
      initialEventsEnd: bookmarks && boolParam(query.get('sendInitialEvents')) && (rv === '' || rv === '0'),
      goneAs: this.#goneAs,
      maxBufferedBytes: this.#maxWatchBuffer,
      lines: this.#lines,
      now: this.#now,
      logger: this.#log,
      contentType: negotiated.kind === 'table' ? contentTypeOf(negotiated) : 'application/json',
      onEnd: () => {
        if (holder.stream) this.#watches.delete(holder.stream);
        if (this.#log.isLevelEnabled('debug')) {
          this.#log.debug({ method: 'GET', path: req.url?.split('?')[0], watch: true, code: 200, ms: Math.round(performance.now() - started) }, 'watch ended');
        }
      },
    });
    if (!res.writableEnded) this.#watches.add(holder.stream);
  }

  // -------------------------------------------------------------------------------------
  // writes

  async #body(req: IncomingMessage): Promise<Record<string, unknown>> {
    return decodeObject(await readBody(req, this.#maxBody), req.headers['content-type'], this.#pb());
  }

  #pb(): ProtobufDecoder {
    return (this.#protobuf ??= new ProtobufDecoder());
  }

  /** Checks the namespace and name of a body against the URL; fills them in when absent. */
  #matchUrl(obj: Record<string, unknown>, r: Route): KubeObject {
    const meta = obj.metadata ?? {};
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw badRequest('metadata must be an object');
    const m = meta as Record<string, unknown>;
    obj.metadata = m;
    if (r.type.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== r.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = r.namespace;
    }
    if (r.name !== undefined) {
      if (m.name !== undefined && m.name !== '' && m.name !== r.name) {
        throw badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${r.name})`);
      }
      m.name = r.name;
    }
    return obj as KubeObject;
  }

  async #create(req: IncomingMessage, res: ServerResponse, r: Route, dryRun: boolean): Promise<void> {
    const format = negotiate(req.headers.accept);
    const obj = this.#matchUrl(await this.#body(req), r);
    if (!r.type.stored) {
      const out = await this.#createViaHandler(r, obj, dryRun);
      this.#send(res, 201, JSON.stringify(out));
      return;
    }
    const created = this.#store.create(r.type.key, obj, { dryRun });
    this.#formatObject(res, 201, r.type, created, format);
  }

  async #createViaHandler(r: Route, obj: KubeObject, dryRun: boolean): Promise<KubeObject> {
    const t = r.type;
    if (obj.apiVersion !== undefined && obj.apiVersion !== t.apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${t.apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== t.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.kind})`);
    obj.apiVersion = t.apiVersion;
    obj.kind = t.kind;
    const ns = r.namespace!;
    if (this.#store.registry.tryGet('namespaces') && !this.#store.tryGet('namespaces', undefined, ns)) {
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces', group: '' });
    }
    t.applyDefaults?.(obj, { operation: 'create' });
    const errs = [...labelErrors(obj.metadata.labels, 'metadata.labels'), ...annotationErrors(obj.metadata.annotations, 'metadata.annotations'), ...(t.validate?.(obj, { operation: 'create' }) ?? [])];
    if (errs.length > 0) throw invalid(t, String(obj.metadata.name ?? ''), toCauses(errs));
    const handler = this.#handlers.get(t.key);
    if (!handler) {
      throw serviceUnavailable(`${t.plural}.${t.group} can't be created yet: no controller has registered a handler for them (is the allocation controller running?)`);
    }
    const out = await handler(obj, { namespace: ns, dryRun, store: this.#store, resource: t });
    return { ...out, apiVersion: out.apiVersion || t.apiVersion, kind: out.kind || t.kind };
  }

  async #update(req: IncomingMessage, res: ServerResponse, r: Route, dryRun: boolean): Promise<void> {
    const format = negotiate(req.headers.accept);
    const body = await this.#body(req);
    if (r.subresource === 'scale') {
      this.#send(res, 200, JSON.stringify(this.#writeScale(r, body, dryRun)));
      return;
    }
    const obj = this.#matchUrl(body, r);
    const updated = this.#store.update(r.type.key, obj, { dryRun, ...(r.subresource === 'status' ? { subresource: 'status' as const } : {}) });
    this.#formatObject(res, 200, r.type, updated, format);
  }

  async #patch(req: IncomingMessage, res: ServerResponse, r: Route, dryRun: boolean): Promise<void> {
    const format = negotiate(req.headers.accept);
    const kind = patchKindOf(req.headers['content-type'], r.type.group === '' || r.type.group === 'coordination.k8s.io');
    const body = (await readBody(req, this.#maxBody)).toString('utf8');
    const t = r.type;
    if (r.subresource === 'scale') {
      const current = this.#scaleOf(t, this.#store.get(t.key, r.namespace, r.name!));
      const patched = applyPatch(kind, current, body);
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw badRequest('the patched Scale is not an object');
      this.#send(res, 200, JSON.stringify(this.#writeScale(r, patched as Record<string, unknown>, dryRun)));
      return;
    }
    const updated = this.#store.mutate(
      t.key,
      r.namespace,
      r.name!,
      (copy) => {
        const rv = copy.metadata.resourceVersion;
        const patched = applyPatch(kind, copy, body);
        if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw badRequest('the patched object is not a JSON object');
        const p = patched as KubeObject;
        if (typeof p.metadata !== 'object' || p.metadata === null) throw badRequest('the patch removed metadata');
        if (p.metadata.name !== r.name) throw badRequest(`the name of the object (${String(p.metadata.name)}) does not match the name on the URL (${r.name})`);
        if (p.metadata.resourceVersion !== undefined && p.metadata.resourceVersion !== rv) throw conflict(t, r.name!);
        return p;
      },
      { dryRun, ...(r.subresource === 'status' ? { subresource: 'status' as const } : {}) },
    );
    this.#formatObject(res, 200, t, updated, format);
  }

  #deleteOptions(body: Record<string, unknown>, query: URLSearchParams, dryRun: boolean): DeleteOptions {
    const pre = body.preconditions;
    const opts: DeleteOptions = {};
    if (pre !== undefined && pre !== null) {
      if (typeof pre !== 'object' || Array.isArray(pre)) throw badRequest('preconditions must be an object');
      const p = pre as Record<string, unknown>;
      opts.preconditions = {
        ...(typeof p.uid === 'string' ? { uid: p.uid } : {}),
        ...(typeof p.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
      };
    }
    const policy = body.propagationPolicy ?? query.get('propagationPolicy') ?? (body.orphanDependents === true ? 'Orphan' : undefined);
    if (policy !== undefined && policy !== null) {
      if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
        throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
      }
      opts.propagationPolicy = policy;
    }
    const bodyDry = Array.isArray(body.dryRun) && body.dryRun.includes('All');
    if (dryRun || bodyDry) opts.dryRun = true;
    return opts;
  }

  async #delete(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams, dryRun: boolean): Promise<void> {
    const body = decodeOptional(await readBody(req, this.#maxBody), req.headers['content-type'], this.#pb());
    const opts = this.#deleteOptions(body, query, dryRun);
    const t = r.type;
    const last = this.#store.delete(t.key, r.namespace, r.name!, opts);
    const pending = !opts.dryRun && this.#store.tryGet(t.key, r.namespace, r.name!)?.metadata.uid === last.metadata.uid;
    if (t.returnDeletedObject) {
      this.#formatObject(res, pending ? 202 : 200, t, last, negotiate(req.headers.accept));
      return;
    }
    this.#send(
      res,
      pending ? 202 : 200,
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: r.name, group: t.group, kind: t.plural, uid: last.metadata.uid } }),
    );
  }

  async #deleteCollection(req: IncomingMessage, res: ServerResponse, r: Route, query: URLSearchParams, dryRun: boolean): Promise<void> {
    const body = decodeOptional(await readBody(req, this.#maxBody), req.headers['content-type'], this.#pb());
    const opts = this.#deleteOptions(body, query, dryRun);
    const t = r.type;
    const { items } = this.#store.list(t.key, {
      ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
      ...(query.get('labelSelector') ? { labelSelector: query.get('labelSelector')! } : {}),
      ...(query.get('fieldSelector') ? { fieldSelector: query.get('fieldSelector')! } : {}),
    });
    const deleted: KubeObject[] = [];
    for (const o of items) {
      try {
        deleted.push(this.#store.delete(t.key, o.metadata.namespace, String(o.metadata.name), { ...opts, preconditions: { uid: String(o.metadata.uid) } }));
      } catch (err) {
        if (!isApiError(err, 'NotFound') && !isApiError(err, 'Conflict') && !isApiError(err, 'Forbidden')) throw err;
      }
    }
    this.#send(res, 200, `{"apiVersion":"${t.apiVersion}","kind":"${t.listKind}","metadata":{"resourceVersion":"${this.#store.currentResourceVersion()}"},"items":[${deleted.map((o) => this.#store.json(o)).join(',')}]}`);
  }

  // -------------------------------------------------------------------------------------
  // scale subresource

  #scaleOf(t: RegisteredType, obj: KubeObject): Record<string, unknown> {
    const s = t.subresources.scale!;
    const specReplicas = getPath(obj, s.specReplicasPath);
    const statusReplicas = getPath(obj, s.statusReplicasPath);
    const selector = s.labelSelectorPath ? getPath(obj, s.labelSelectorPath) : undefined;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
      status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }

  #writeScale(r: Route, scale: Record<string, unknown>, dryRun: boolean): Record<string, unknown> {
    const t = r.type;
    if (scale.kind !== undefined && scale.kind !== 'Scale') throw badRequest(`the kind in the data (${String(scale.kind)}) does not match the expected kind (Scale)`);
    const meta = (scale.metadata ?? {}) as Record<string, unknown>;
    if (typeof meta !== 'object' || meta === null) throw badRequest('metadata must be an object');
    if (meta.name !== undefined && meta.name !== r.name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${r.name})`);
    const spec = scale.spec as Record<string, unknown> | undefined;
    const replicas = spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', plural: 'scale', kind: 'Scale' }, r.name!, [
        { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` },
      ]);
    }
    const rv = meta.resourceVersion;
    const updated = this.#store.mutate(
      t.key,
      r.namespace,
      r.name!,
      (copy) => {
        if (typeof rv === 'string' && rv !== '' && rv !== copy.metadata.resourceVersion) throw conflict(t, r.name!);
        setPath(copy, t.subresources.scale!.specReplicasPath, replicas);
        return copy;
      },
      { dryRun },
    );
    return this.#scaleOf(t, updated);
  }
}

/** Starts the API server; resolves once it listens. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const server = new ApiServerImpl(opts);
  await server.listen(opts.port ?? 0);
  return server;
}
