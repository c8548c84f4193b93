/**
 * An allocator on an embedded control plane, and users that talk to it as a browser does
 * (cookie, CSRF token, socket.io), for the allocator's integration tests.
 */
import { io, type Socket } from 'socket.io-client';
import { silentLogger, type Logger } from '../../common/log.ts';
import { kubeClients } from '../../allocator/kube/clients.ts';
import { defaultProfiles, type Profile } from '../../allocator/profiles.ts';
import type { IdlePolicy } from '../../allocator/reclaim/idle.ts';
import { startAllocator, type AllocatorOptions, type RunningAllocator } from '../../allocator/server.ts';
import type { CoreOptions } from '../../allocator/core.ts';
import type { IdentityOptions } from '../../allocator/identity/index.ts';
import { join } from 'node:path';
import type { EmbeddedRig } from './embedded.ts';

export const COOKIE_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export async function allocatorOn(rig: EmbeddedRig, o: {
  policy?: Partial<IdlePolicy>;
  profiles?: Profile[];
  identity?: Partial<IdentityOptions>;
  core?: Omit<CoreOptions, 'k' | 'profiles' | 'policy' | 'log' | 'metrics'>;
  logger?: Logger;
  fleet?: string;
  realtime?: AllocatorOptions['realtime'];
} = {}): Promise<RunningAllocator> {
  return startAllocator({
    k: kubeClients({ kubeconfig: rig.kubeconfig, namespace: 'default' }),
    identity: { mode: 'dev', cookieSecret: COOKIE_SECRET, admins: ['admin'], ...o.identity },
    profiles: o.profiles ?? defaultProfiles(o.fleet ?? 'sd-webui'),
    policy: { idleLimitMs: 15 * 60_000, warnBeforeMs: 3 * 60_000, maxSessionMs: 8 * 3600_000, ...o.policy },
    userStore: join(rig.dataDir, 'user-store'),
    port: 0,
    logger: o.logger ?? silentLogger(),
    core: { queueGraceSeconds: 30, defaultColdStartMs: 5000, scaleUpDelayMs: 2000, ...o.core },
    ...(o.realtime ? { realtime: o.realtime } : {}),
  });
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A browser: a cookie jar, the CSRF token from /me, and a socket when asked. */
export class Browser {
  readonly base: string;
  readonly name: string;
  cookie = '';
  csrf: string | undefined;
  sockets: Socket[] = [];

  constructor(base: string, name: string) {
    this.base = base;
    this.name = name;
  }

  async fetch(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-sdfleet-csrf'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && !('origin' in extra)) headers.origin = this.base;
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const set = res.headers.getSetCookie();
    for (const c of set) {
      const [pair] = c.split(';');
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookie = '';
      else if (pair) this.cookie = pair;
    }
    return res;
  }

  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<Reply<T>> {
    const res = await this.fetch(method, `/_sdfleet/api/v1${path}`, body, extra);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
  }

  async signIn(): Promise<this> {
    const r = await this.api('POST', '/signin', { name: this.name });
    if (r.status !== 200) throw new Error(`sign-in of ${this.name} failed: ${r.status} ${JSON.stringify(r.body)}`);
    const me = await this.api<{ csrfToken: string }>('GET', '/me');
    this.csrf = me.body.csrfToken;
    return this;
  }

  start(profile?: string): Promise<Reply<{ session?: { id: string; instance: string; state: string }; queue?: { position: number; total: number; eta: number } }>> {
    return this.api('POST', '/sessions', profile ? { profile } : {});
  }

  /** A socket.io connection with this browser's cookie; events are recorded. */
  async socket(): Promise<{ socket: Socket; events: { name: string; data: unknown }[] }> {
    const events: { name: string; data: unknown }[] = [];
    const socket = io(this.base, { path: '/_sdfleet/socket.io', transports: ['websocket'], extraHeaders: { cookie: this.cookie }, reconnection: false });
    socket.onAny((name: string, data: unknown) => events.push({ name, data }));
    this.sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (e) => reject(e));
    });
    return { socket, events };
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

export async function until<T>(poll: () => T | Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await poll();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}
