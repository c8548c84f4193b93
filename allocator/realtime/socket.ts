import type http from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Logger } from '../../common/log.ts';
import type { AllocatorCore } from '../core.ts';
import type { IdentityService, Identity } from '../identity/index.ts';
import { userKey } from '../identity/index.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import { idleVerdict } from '../reclaim/idle.ts';

export const SOCKET_PATH = '/_sdfleet/socket.io';

export interface RealtimeOptions {
  server: http.Server;
  core: AllocatorCore;
  identity: IdentityService;
  metrics: AllocatorMetrics;
  log: Logger;
  /** How often idle warnings are looked at. Default 2 s. */
  tickMs?: number;
}

interface Conn {
  socket: Socket;
  identity: Identity;
  user: string;
  warned: boolean;
}

/**
 * Live updates over socket.io, authenticated with the session cookie (or bearer token):
 * each user's `state` (session or queue place with ETA), `idle-warning` / `idle-clear`,
 * `instance-gone`; admins also get `admin` snapshots. Every replica serves its own
 * sockets from the shared state (informers), so it does not matter which one a browser
 * reached.
 *
 * Client → server: `keepalive` and `leave-queue` (both with an ack).
 */
export class Realtime {
  readonly io: Server;
  readonly #o: RealtimeOptions;
  #conns = new Map<string, Set<Conn>>();
  #timer: NodeJS.Timeout | undefined;
  #queueTimer: NodeJS.Timeout | undefined;
  #adminTimer: NodeJS.Timeout | undefined;
  #lastRenew = 0;

  constructor(o: RealtimeOptions) {
    this.#o = o;
    this.io = new Server(o.server, {
      path: SOCKET_PATH,
      serveClient: true,
      // Other upgrades (the user's WebUI WebSockets) belong to the proxy.
      destroyUpgrade: false,
    });
    this.io.use((socket, next) => {
      try {
        // A page of another site must not open a socket with the user's cookie.
        o.identity.verifyOrigin(socket.request);
      } catch (err) {
        return next(err as Error);
      }
      o.identity.require(socket.request).then(
        (a) => {
          socket.data.identity = a.identity;
          next();
        },
        (err: unknown) => next(new Error(`unauthenticated: ${(err as Error).message}`)),
      );
    });
    this.io.on('connection', (socket) => this.#connect(socket));
    o.core.registry.on('change', (c) => {
      for (const conn of this.#conns.get(c.user) ?? []) {
        this.#sendState(conn);
        if (!c.session && c.previous) conn.socket.emit('instance-gone', { reason: c.previous.reason ?? 'the instance went away' });
        else if (c.session?.state === 'gone' && c.previous?.state !== 'gone') conn.socket.emit('instance-gone', { reason: c.session.reason ?? 'the instance failed' });
      }
      this.#adminSoon();
    });
    o.core.queue.on('change', () => this.#queueSoon());
    o.core.fleet.on('change', () => this.#adminSoon());
    this.#timer = setInterval(() => this.#tick(), Math.min(o.tickMs ?? 2000, o.core.queue.renewEveryMs));
    this.#timer.unref();
  }

  /** The proxy could not reach an instance: tell its user at once. */
  instanceUnreachable(gameServer: string): void {
    const s = this.#o.core.registry.all().find((x) => x.gameServer === gameServer);
    if (!s) return;
    for (const conn of this.#conns.get(s.user) ?? []) conn.socket.emit('instance-gone', { reason: 'your instance stopped answering' });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#queueTimer);
    clearTimeout(this.#adminTimer);
    await new Promise<void>((resolve) => void this.io.close(() => resolve()));
  }

  #connect(socket: Socket): void {
    const identity = socket.data.identity as Identity;
    const conn: Conn = { socket, identity, user: userKey(identity.id), warned: false };
    const set = this.#conns.get(conn.user) ?? new Set<Conn>();
    set.add(conn);
    this.#conns.set(conn.user, set);
    this.#o.metrics.socketClients.inc();
    void socket.join(`u:${conn.user}`);
    if (identity.admin) void socket.join('admins');
    socket.on('disconnect', () => {
      set.delete(conn);
      if (set.size === 0) this.#conns.delete(conn.user);
      this.#o.metrics.socketClients.dec();
    });
    socket.on('keepalive', (ack?: (r: unknown) => void) => {
      const s = this.#o.core.registry.liveByUser(conn.user);
      if (!s || s.state !== 'active') return ack?.({ ok: false, error: 'no active session' });
      this.#o.core.keepalive(s).then(
        () => {
          conn.warned = false;
          socket.emit('idle-clear', {});
          ack?.({ ok: true });
        },
        (err: unknown) => ack?.({ ok: false, error: (err as Error).message }),
      );
    });
    socket.on('leave-queue', (ack?: (r: unknown) => void) => {
      this.#o.core.queue.leave(conn.user).then(() => ack?.({ ok: true }), (err: unknown) => ack?.({ ok: false, error: (err as Error).message }));
    });
    // Being connected keeps a queued user's place.
    void this.#o.core.queue.renew(conn.user);
    this.#sendState(conn);
    if (identity.admin) socket.emit('admin', this.#adminSnapshot());
  }

  #sendState(conn: Conn): void {
    const core = this.#o.core;
    const s = core.sessionOfUser(conn.user);
    conn.socket.emit('state', { session: s ? core.sessionView(s) : null, queue: core.queueView(conn.user) ?? null, at: new Date().toISOString() });
  }

  #queueSoon(): void {
    if (this.#queueTimer) return;
    this.#queueTimer = setTimeout(() => {
      this.#queueTimer = undefined;
      for (const set of this.#conns.values()) for (const conn of set) this.#sendState(conn);
      this.#adminSoon();
    }, 100);
  }

  #adminSoon(): void {
    if (this.#adminTimer) return;
    this.#adminTimer = setTimeout(() => {
      this.#adminTimer = undefined;
      // The snapshot covers every GameServer and session (~150 ms of the event loop at
      // 10,000): not for nobody. An admin who connects later gets one at once.
      if (!this.io.sockets.adapter.rooms.get('admins')?.size) return;
      this.io.to('admins').emit('admin', this.#adminSnapshot());
    }, 300);
  }

  #adminSnapshot(): unknown {
    return this.#o.core.adminView();
  }

  #tick(): void {
    const core = this.#o.core;
    const now = Date.now();
    const renew = now - this.#lastRenew >= core.queue.renewEveryMs;
    if (renew) this.#lastRenew = now;
    for (const [user, set] of this.#conns) {
      const s = core.registry.liveByUser(user);
      if (!s || s.state !== 'active') {
        if (renew && core.queue.positionOf(user)) void core.queue.renew(user);
        continue;
      }
      const v = idleVerdict(core.withLocalActivity(s), now, core.policy);
      for (const conn of set) {
        if (v.kind === 'warn' && !conn.warned) {
          conn.warned = true;
          conn.socket.emit('idle-warning', { deadline: new Date(v.deadline).toISOString(), reason: v.reason, secondsLeft: Math.max(0, Math.round((v.deadline - now) / 1000)) });
        } else if (v.kind === 'ok' && conn.warned) {
          conn.warned = false;
          conn.socket.emit('idle-clear', {});
        }
      }
    }
  }
}
