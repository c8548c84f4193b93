import type http from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Logger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import type { AllocatorCore, FleetSummary, QueueView } from '../core.ts';
import type { IdentityService, Identity } from '../identity/index.ts';
import { userKey } from '../identity/index.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import { idleVerdict } from '../reclaim/idle.ts';
import { Coalescer } from './coalesce.ts';
import { broadcastFrame, type FrameBroadcastResult } from './frame-broadcast.ts';

export const SOCKET_PATH = '/_sdfleet/socket.io';

/** The room every authenticated socket joins: `fleet` goes to it as one broadcast. */
const FLEET_ROOM = 'fleet';

/**
 * Default shortest time between two `fleet` broadcasts. One reaches every socket: at
 * 10,000 it holds the event loop ~0.1–0.2 s, and a busy fleet changes its counts several
 * times a second (each start takes an instance, each end frees one and starts another):
 * sent each time, those broadcasts would take the allocator's CPU. A page's counts a
 * second old are fine; a change after a quiet second goes out at once.
 */
export const FLEET_GAP_MS = 1000;
/** Default shortest time between two rounds of queued users' `state` (as the earlier 100 ms debounce). */
export const QUEUE_GAP_MS = 100;

export interface RealtimeOptions {
  server: http.Server;
  core: AllocatorCore;
  identity: IdentityService;
  metrics: AllocatorMetrics;
  log: Logger;
  /** How often idle warnings are looked at. Default 2 s. */
  tickMs?: number;
  /**
   * Changes are sent at the end of the event loop's turn they arrived in (one informer read,
   * one send), but never sooner than this after the last send: queued users' `state`
   * (default `QUEUE_GAP_MS`) and the `fleet` broadcast (default `FLEET_GAP_MS`).
   */
  queueGapMs?: number;
  fleetGapMs?: number;
  /**
   * How often an open socket's credential (the cookie or token of its handshake) is
   * checked again. One that no longer passes (expired, signed with a retired secret, its
   * token removed) has its connection closed: the browser reconnects with the cookie it
   * holds now (renewed by its requests meanwhile) or is refused. Default 60 s.
   */
  recheckMs?: number;
}

interface Conn {
  socket: Socket;
  identity: Identity;
  user: string;
  warned: boolean;
  /** When its credential was last found good (the handshake, then every `recheckMs`). */
  checkedAt: number;
}

/**
 * Live updates over socket.io, authenticated with the session cookie (or bearer token):
 * each user's `state` (session or queue place with ETA), `idle-warning` / `idle-clear`,
 * `instance-gone`; `fleet` (counts, nobody's data) to every socket as one broadcast;
 * admins also get `admin` snapshots. Every replica serves its own sockets from the shared
 * state (informers), so it does not matter which one a browser reached.
 *
 * Who hears what, and when: `state` on connecting, when the user's session changes, and
 * on a queue change only while the user waits or has just stopped waiting (a user with a
 * session sees nothing of the queue in it; at 10,000 users that is 10,000 emits saved per
 * change). `fleet` on connecting and when its counts change (a GameServer added, removed
 * or in another state, or the queue), never twice the same, at most once per `fleetGapMs`.
 *
 * Client → server: `keepalive` and `leave-queue` (both with an ack).
 */
export class Realtime {
  readonly io: Server;
  /**
   * Told after each `fleet` broadcast: when its writes started and ended
   * (`performance.now()`), and how many sockets took the frame or the ordinary emit
   * (`sdfleet bench fanout` times the broadcasts with it).
   */
  onFleetBroadcast: ((b: FrameBroadcastResult & { startMs: number; endMs: number }) => void) | undefined;
  readonly #o: RealtimeOptions;
  #conns = new Map<string, Set<Conn>>();
  #timer: NodeJS.Timeout | undefined;
  readonly #queueStates: Coalescer;
  readonly #fleetOut: Coalescer;
  /** Connected users last sent a place in the queue: they hear when they leave it. */
  #queued = new Set<string>();
  /**
   * user → the moment before which their idle warning cannot be due (the warning time of
   * the deadline last computed: activity only postpones it), so the tick skips them.
   * Dropped on any change of their session.
   */
  #quietUntil = new Map<string, number>();
  /** The `fleet` last sent, and its JSON (a change that moves no count sends nothing). */
  #fleet: { summary: FleetSummary; json: string } | undefined;
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
    this.#queueStates = new Coalescer({ task: () => this.#sendQueueStates(), minGapMs: o.queueGapMs ?? QUEUE_GAP_MS });
    this.#fleetOut = new Coalescer({ task: () => this.#broadcastFleet(), minGapMs: o.fleetGapMs ?? FLEET_GAP_MS });
    this.io.on('connection', (socket) => this.#connect(socket));
    o.core.registry.on('change', (c) => {
      this.#quietUntil.delete(c.user);
      for (const conn of this.#conns.get(c.user) ?? []) {
        this.#sendState(conn);
        if (!c.session && c.previous) conn.socket.emit('instance-gone', { reason: c.previous.reason ?? 'the instance went away' });
        else if (c.session?.state === 'gone' && c.previous?.state !== 'gone') conn.socket.emit('instance-gone', { reason: c.session.reason ?? 'the instance failed' });
      }
      this.#adminSoon();
    });
    o.core.queue.on('change', () => {
      this.#queueStates.poke();
      this.#fleetOut.poke();
      this.#adminSoon();
    });
    o.core.fleet.on('change', (gs: GameServer | undefined, prev: GameServer | undefined) => {
      if (movesCounts(gs, prev)) this.#fleetOut.poke();
      this.#adminSoon();
    });
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
    this.#queueStates.cancel();
    this.#fleetOut.cancel();
    clearTimeout(this.#adminTimer);
    await new Promise<void>((resolve) => void this.io.close(() => resolve()));
  }

  #connect(socket: Socket): void {
    const identity = socket.data.identity as Identity;
    const conn: Conn = { socket, identity, user: userKey(identity.id), warned: false, checkedAt: Date.now() };
    const set = this.#conns.get(conn.user) ?? new Set<Conn>();
    set.add(conn);
    this.#conns.set(conn.user, set);
    this.#o.metrics.socketClients.inc();
    void socket.join(`u:${conn.user}`);
    void socket.join(FLEET_ROOM);
    if (identity.admin) void socket.join('admins');
    socket.on('disconnect', () => {
      set.delete(conn);
      if (set.size === 0) {
        this.#conns.delete(conn.user);
        this.#queued.delete(conn.user);
        this.#quietUntil.delete(conn.user);
      }
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
    socket.emit('fleet', this.#currentFleet().summary);
    if (identity.admin) socket.emit('admin', this.#adminSnapshot());
  }

  /** `queue`: the user's place when already known (the queue path computes them together). */
  #sendState(conn: Conn, queue: QueueView | null = this.#o.core.queueView(conn.user) ?? null): void {
    const core = this.#o.core;
    const s = core.sessionOfUser(conn.user);
    if (queue) this.#queued.add(conn.user);
    else this.#queued.delete(conn.user);
    conn.socket.emit('state', { session: s ? core.sessionView(s) : null, queue, at: new Date().toISOString() });
  }

  /** `fleet` to every socket, when its counts moved: one packet, one WebSocket frame, made once. False: nothing sent. */
  #broadcastFleet(): boolean {
    if (!this.io.sockets.adapter.rooms.get(FLEET_ROOM)?.size) {
      // Nobody to tell: whoever connects next is sent a fresh one.
      this.#fleet = undefined;
      return false;
    }
    const before = this.#fleet?.json;
    const now = this.#currentFleet(true);
    if (now.json === before) return false;
    // As io.to(FLEET_ROOM).emit, with one ready-made WebSocket frame for the sockets it can go to directly.
    const startMs = performance.now();
    const sent = broadcastFrame(this.io, FLEET_ROOM, 'fleet', now.summary);
    this.onFleetBroadcast?.({ ...sent, startMs, endMs: performance.now() });
    return true;
  }

  /** `state` to the connected users who wait now or waited at the last one they were sent. */
  #sendQueueStates(): boolean {
    const core = this.#o.core;
    const users = new Set<string>();
    for (const e of core.queue.entries()) if (this.#conns.has(e.user)) users.add(e.user);
    for (const u of this.#queued) users.add(u);
    if (users.size === 0) return false;
    const views = core.queueViews(users);
    for (const user of users) for (const conn of this.#conns.get(user) ?? []) this.#sendState(conn, views.get(user) ?? null);
    return true;
  }

  /** The fleet summary last sent, or a new one when `fresh` or none was made yet. */
  #currentFleet(fresh = false): { summary: FleetSummary; json: string } {
    if (fresh || !this.#fleet) {
      const summary = this.#o.core.fleetSummary();
      this.#fleet = { summary, json: JSON.stringify(summary) };
    }
    return this.#fleet;
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
    this.#recheck(now);
    const renew = now - this.#lastRenew >= core.queue.renewEveryMs;
    if (renew) this.#lastRenew = now;
    for (const [user, set] of this.#conns) {
      const quiet = this.#quietUntil.get(user);
      if (quiet !== undefined && now < quiet) continue;
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
      if (v.kind === 'ok') this.#quietUntil.set(user, v.deadline - core.policy.warnBeforeMs);
      else this.#quietUntil.delete(user);
    }
  }

  /**
   * Each socket's handshake credential checked again every `recheckMs`: a socket lives
   * longer than the cookie it was opened with. One that fails (or now names someone else)
   * loses its connection, not just its room: the client reconnects with the cookie the
   * browser holds now, and a stale one is refused at that handshake.
   */
  #recheck(now: number): void {
    const every = this.#o.recheckMs ?? 60_000;
    for (const set of this.#conns.values()) {
      for (const conn of set) {
        if (now - conn.checkedAt < every) continue;
        conn.checkedAt = now;
        const drop = (reason: string): void => {
          this.#o.log.info({ user: conn.user, reason }, 'socket.io: credential no longer valid; connection closed');
          conn.socket.conn.close();
        };
        this.#o.identity.require(conn.socket.request).then(
          (a) => {
            if (a.identity.id !== conn.identity.id) drop('the credential names another user');
          },
          (err: unknown) => drop((err as Error).message),
        );
      }
    }
  }
}

/**
 * Whether a GameServer change can move the `fleet` counts: one added or removed, in
 * another state, being deleted, or relabelled (profiles select by label). Activity
 * annotations, written all the time, move nothing. Without a GameServer it was a Fleet or
 * FleetAutoscaler: the counts come from GameServers only.
 */
export function movesCounts(gs: GameServer | undefined, prev: GameServer | undefined): boolean {
  if (!gs) return false;
  if (!prev) return true;
  if (gs.status?.state !== prev.status?.state || !gs.metadata.deletionTimestamp !== !prev.metadata.deletionTimestamp) return true;
  const a = gs.metadata.labels ?? {};
  const b = prev.metadata.labels ?? {};
  const keys = Object.keys(a);
  return keys.length !== Object.keys(b).length || keys.some((k) => a[k] !== b[k]);
}
