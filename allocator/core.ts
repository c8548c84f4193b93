import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../common/log.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { FleetView, type FleetCounts } from './fleet-view.ts';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import { LABEL_FLEET } from '../fleet/agones/types.ts';
import { AGONES, type KubeClients } from './kube/clients.ts';
import { ResilientInformer } from './kube/informer.ts';
import { LeaderElector } from './kube/leases.ts';
import { Presence } from './kube/presence.ts';
import { LeaderWork } from './leader.ts';
import type { AllocatorMetrics } from './metrics.ts';
import type { Profile } from './profiles.ts';
import { etas } from './queue/eta.ts';
import { WaitQueue, type QueueEntry } from './queue/queue.ts';
import { idleVerdict, lastActivityMs, type IdlePolicy } from './reclaim/idle.ts';
import { TrafficRecorder } from './sessions/activity.ts';
import { AllocationService } from './sessions/allocate.ts';
import { ANNOTATION_KEEPALIVE, failureReason, type Session } from './sessions/model.ts';
import { SessionRegistry } from './sessions/registry.ts';
import { annotate, requestRelease, type ReleaseReason } from './sessions/release.ts';

export interface CoreOptions {
  k: KubeClients;
  profiles: Profile[];
  policy: IdlePolicy;
  log: Logger;
  metrics: AllocatorMetrics;
  /** This replica's name in Leases. Default hostname + random suffix. */
  identity?: string;
  /** A queued user's place is kept this long without a sign of them. Default 120 s. */
  queueGraceSeconds?: number;
  /** Most users waiting per profile. Default 500. */
  maxQueue?: number;
  /** Cold start assumed before any instance has reported one. Default 180 s. */
  defaultColdStartMs?: number;
  /** The autoscaler's sync interval, for ETAs. Default 30 s. */
  scaleUpDelayMs?: number;
  /** Release not finished after this → delete the GameServer. Default 5 min. */
  releaseTimeoutMs?: number;
  /** Traffic annotations at most this often per session. Default 30 s. */
  trafficEveryMs?: number;
}

/** What a user sees of their session (REST and socket.io). */
export interface SessionView {
  id: string;
  state: Session['state'];
  profile: string;
  instance: string;
  startedAt: string;
  lastActivity: string;
  generating: boolean;
  /** When it will be released if nothing happens, and why. */
  deadline: string;
  deadlineReason: 'idle' | 'max-length';
  /** The idle warning is on. */
  warning: boolean;
  reason?: string;
  /** Where the WebUI is: the allocator's own origin. */
  url: string;
}

/** Annotation a demand-aware autoscaler may put on its FleetAutoscaler: why it chose its size. */
export const ANNOTATION_AUTOSCALER_REASON = 'sdfleet.dev/autoscaler-reason';

export interface AdminView {
  fleets: (FleetCounts & { desired: number | null })[];
  autoscalers: { name: string; fleet: string; policy: string; currentReplicas: unknown; desiredReplicas: unknown; lastScaleTime: unknown; ableToScale: unknown; scalingLimited: unknown; reason: string | null }[];
  gameServers: { name: string; fleet: string | null; state: string; user: string | null; createdAt: string | null; address: string | null; port: number | null; phases: unknown; reason: string | null }[];
  sessions: (SessionView & { user: string; gameServer: string; idleSeconds: number })[];
  queue: unknown[];
  leader: boolean;
  at: string;
}

export interface QueueView {
  state: 'queued';
  profile: string;
  position: number;
  total: number;
  /** Seconds until served, estimated. */
  eta: number;
  queuedAt: string;
}

/**
 * What every signed-in page may see of the fleet (socket.io `fleet`): counts only, no
 * user's data, so one encoded packet serves every socket.
 */
export interface FleetSummary {
  /** GameServers free now (Ready), on their way (not Ready yet), in use (Allocated), over every fleet. */
  ready: number;
  starting: number;
  allocated: number;
  /** Users in the wait queue, over every profile. */
  waiting: number;
  /** The same per profile (an instance may serve more than one). */
  profiles: { name: string; ready: number; starting: number; waiting: number }[];
}

/**
 * How long the sessions' due ends behind the queue ETAs are reused (an ETA is an
 * estimate): 5 s. Each recount reads every live session (10,000: ~3 ms); at 1 s it ran on
 * nearly every queue change, just before the `fleet` broadcast.
 */
const ENDS_TTL_MS = 5000;
/**
 * How long the measured cold start behind the queue ETAs is reused: the median over every
 * GameServer of the profile (10,000: ~5–9 ms a queue change) moves slowly.
 */
const COLD_START_TTL_MS = 10_000;

/** A value per key, computed again when older than `ttlMs` (or when the clock went back). */
class Reused<T> {
  readonly #ttlMs: number;
  readonly #values = new Map<string, { at: number; value: T }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(key: string, now: number, compute: () => T): T {
    const hit = this.#values.get(key);
    if (hit && now >= hit.at && now - hit.at < this.#ttlMs) return hit.value;
    const value = compute();
    this.#values.set(key, { at: now, value });
    return value;
  }
}

/**
 * The allocator's state and the rules over it, shared by the REST API, socket.io and the
 * proxy: the GameServer informer feeding the session registry and the fleet view, the
 * shared queue, the allocation service, leader election and the leader's work.
 */

export class AllocatorCore {
  readonly k: KubeClients;
  readonly registry = new SessionRegistry();
  readonly fleet: FleetView;
  readonly queue: WaitQueue;
  readonly allocation: AllocationService;
  readonly traffic: TrafficRecorder;
  readonly presence: Presence;
  readonly profiles: Profile[];
  readonly policy: IdlePolicy;
  readonly identity: string;
  readonly #o: CoreOptions;
  readonly #informer: ResilientInformer<KubernetesObject>;
  readonly #elector: LeaderElector;
  readonly #fleets: ResilientInformer<KubernetesObject>;
  readonly #autoscalers: ResilientInformer<KubernetesObject>;
  readonly #leader: LeaderWork;
  /** Per profile: the sessions' due ends as last computed (queue ETAs). */
  readonly #ends = new Reused<number[]>(ENDS_TTL_MS);
  /** Per profile: the measured cold start as last computed (queue ETAs). */
  readonly #coldStarts = new Reused<number>(COLD_START_TTL_MS);
  #metricsTimer: NodeJS.Timeout | undefined;

  constructor(o: CoreOptions) {
    this.#o = o;
    this.k = o.k;
    this.profiles = o.profiles;
    this.policy = o.policy;
    this.identity = o.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
    this.fleet = new FleetView({ defaultColdStartMs: o.defaultColdStartMs ?? 180_000 });
    this.queue = new WaitQueue({ k: o.k, identity: this.identity, graceSeconds: o.queueGraceSeconds ?? 120, maxPerProfile: o.maxQueue ?? 500, log: o.log });
    this.presence = new Presence({ k: o.k, identity: this.identity, log: o.log });
    this.allocation = new AllocationService({
      k: o.k, registry: this.registry, queue: this.queue, profiles: o.profiles, identity: this.identity, log: o.log, presence: this.presence,
      onAllocation: (result, ms) => {
        o.metrics.allocations.inc({ result });
        o.metrics.allocationSeconds.observe({ result }, ms / 1000);
      },
    });
    this.traffic = new TrafficRecorder({
      k: o.k, log: o.log, ...(o.trafficEveryMs !== undefined ? { everyMs: o.trafficEveryMs } : {}),
      recorded: (gs) => {
        const s = this.registry.byGameServer(gs);
        return s && s.state !== 'gone' ? lastActivityMs(s) : undefined;
      },
    });
    // client-node types metadata times as Date; the JSON holds strings, as GameServer says.
    const gsOf = (o: KubernetesObject): GameServer => o as unknown as GameServer;
    this.#informer = new ResilientInformer<KubernetesObject>({
      kc: o.k.kc,
      path: `/apis/agones.dev/v1/namespaces/${o.k.namespace}/gameservers`,
      list: () => o.k.custom.listNamespacedCustomObject({ ...AGONES, namespace: o.k.namespace, plural: 'gameservers' }) as never,
      log: o.log,
      events: {
        onAdd: (o) => this.#upsert(gsOf(o)),
        onUpdate: (o) => this.#upsert(gsOf(o)),
        onDelete: (o) => {
          const gs = gsOf(o);
          this.fleet.remove(gs);
          this.registry.remove(gs);
          this.traffic.forget(gs.metadata.name!);
        },
      },
    });
    const kick = (): void => void this.fleet.emit('change', undefined as never, undefined);
    const small = (plural: string, group = 'agones.dev') =>
      new ResilientInformer<KubernetesObject>({
        kc: o.k.kc,
        path: `/apis/${group}/v1/namespaces/${o.k.namespace}/${plural}`,
        list: () => o.k.custom.listNamespacedCustomObject({ group, version: 'v1', namespace: o.k.namespace, plural }) as never,
        log: o.log,
        events: { onAdd: kick, onUpdate: kick, onDelete: kick },
      });
    this.#fleets = small('fleets');
    this.#autoscalers = small('fleetautoscalers', 'autoscaling.agones.dev');
    this.#leader = new LeaderWork({
      k: o.k, registry: this.registry, fleet: this.fleet, queue: this.queue, allocation: this.allocation, profiles: o.profiles,
      policy: o.policy, releaseTimeoutMs: o.releaseTimeoutMs ?? 300_000, log: o.log,
      onReclaim: (reason) => o.metrics.reclaims.inc({ reason }),
      onServed: (ms) => o.metrics.queueWaitSeconds.observe(ms / 1000),
    });
    this.#elector = new LeaderElector({ k: o.k, name: 'sdfleet-allocator-leader', identity: this.identity, log: o.log, onChange: (l) => this.#leader.setActive(l) });
  }

  /** Starts the informers (resolves once both listed), leader election and write-back. */
  async start(): Promise<void> {
    await Promise.all([this.#informer.start(), this.queue.start(), this.presence.start(), this.#fleets.start(), this.#autoscalers.start()]);
    this.#elector.start();
    this.traffic.start();
    this.#metricsTimer = setInterval(() => this.#refreshGauges(), 5000);
    this.#metricsTimer.unref();
    this.#refreshGauges();
  }

  get ready(): boolean {
    return this.#informer.isSynced;
  }

  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  async stop(): Promise<void> {
    clearInterval(this.#metricsTimer);
    this.#leader.stop();
    await this.#elector.stop();
    this.traffic.stop();
    await this.traffic.flush(true).catch(() => undefined);
    await Promise.all([this.#informer.stop(), this.queue.stop(), this.presence.stop(), this.#fleets.stop(), this.#autoscalers.stop()]);
  }

  #upsert(gs: GameServer): void {
    this.fleet.upsert(gs);
    this.registry.upsert(gs);
  }

  // ---- views ----

  /** The user's session: one this replica just allocated, or the informer's. */
  sessionOfUser(user: string): Session | undefined {
    return this.allocation.liveSession(user) ?? this.registry.byUser(user);
  }

  /**
   * The demand-aware webhook's last reason for a fleet, when this allocator serves it (set
   * by the server): the admin page shows it beside the FleetAutoscaler's status.
   */
  autoscalerReason: ((namespace: string, fleet: string) => string | undefined) | undefined;

  /** The namespace's Fleets, by name, as the informer last saw them. */
  fleetNames(): string[] {
    return this.#fleets.list().flatMap((f) => (f.metadata?.name ? [f.metadata.name] : []));
  }

  /** A Fleet's spec.replicas as the informer last saw it; undefined when unknown. */
  fleetSpecReplicas(name: string): number | undefined {
    const r = (this.#fleets.get(name, this.k.namespace) as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    return typeof r === 'number' && Number.isInteger(r) ? r : undefined;
  }

  /** The namespace's FleetAutoscalers as the informer last saw them; undefined until it has listed them. */
  fleetAutoscalers(): readonly KubernetesObject[] | undefined {
    return this.#autoscalers.isSynced ? this.#autoscalers.list() : undefined;
  }

  /** Everything the admin page shows. */
  adminView(now = Date.now()): AdminView {
    const fleets = this.fleet.counts().map((c) => {
      const f = this.#fleets.get(c.fleet, this.k.namespace) as { spec?: { replicas?: number } } | undefined;
      return { ...c, desired: f?.spec?.replicas ?? null };
    });
    for (const f of this.#fleets.list()) {
      const name = f.metadata?.name ?? '';
      if (!fleets.some((x) => x.fleet === name)) {
        fleets.push({ fleet: name, ready: 0, allocated: 0, reserved: 0, starting: 0, unhealthy: 0, shuttingDown: 0, total: 0, desired: (f as { spec?: { replicas?: number } }).spec?.replicas ?? 0 });
      }
    }
    const autoscalers = this.#autoscalers.list().map((raw) => {
      const a = raw as unknown as { metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec: { fleetName: string; policy: { type: string } }; status?: Record<string, unknown> };
      return {
        name: a.metadata.name, fleet: a.spec.fleetName, policy: a.spec.policy.type,
        currentReplicas: a.status?.currentReplicas ?? null, desiredReplicas: a.status?.desiredReplicas ?? null,
        lastScaleTime: a.status?.lastScaleTime ?? null, ableToScale: a.status?.ableToScale ?? null, scalingLimited: a.status?.scalingLimited ?? null,
        reason: a.metadata.annotations?.[ANNOTATION_AUTOSCALER_REASON]
          ?? (a.spec.policy.type === 'Webhook' ? this.autoscalerReason?.(a.metadata.namespace ?? 'default', a.spec.fleetName) : undefined) ?? null,
      };
    });
    const users = new Map(this.registry.all().map((s) => [s.gameServer, s.userId]));
    const gameServers = this.fleet.all().map((g) => {
      let phases: unknown = null;
      try {
        phases = JSON.parse(g.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)] ?? 'null');
      } catch {
        phases = null;
      }
      return {
        name: g.metadata.name!, fleet: g.metadata.labels?.[LABEL_FLEET] ?? null, state: g.status?.state ?? 'Creating',
        user: users.get(g.metadata.name!) ?? null, createdAt: g.metadata.creationTimestamp ?? null,
        address: g.status?.address ?? null, port: g.status?.ports?.[0]?.port ?? null, phases,
        reason: failureReason(g) ?? null,
      };
    }).sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
    return {
      fleets, autoscalers, gameServers,
      sessions: this.registry.live().map((s) => ({ ...this.sessionView(s, now), user: s.userId, gameServer: s.gameServer, idleSeconds: Math.max(0, Math.round((now - Date.parse(this.withLocalActivity(s).lastActivity)) / 1000)) })),
      queue: this.queue.entries().map((e) => ({ user: e.userId, profile: e.profile, queuedAt: e.queuedAt, ...this.queueView(e.user, now) })),
      leader: this.isLeader,
      at: new Date(now).toISOString(),
    };
  }

  /** The session with this replica's unwritten traffic counted in. */
  withLocalActivity(s: Session): Session {
    const seen = this.traffic.lastSeen(s.gameServer);
    return seen && seen > lastActivityMs(s) ? { ...s, lastActivity: new Date(seen).toISOString() } : s;
  }

  sessionView(s: Session, now = Date.now()): SessionView {
    const live = this.withLocalActivity(s);
    const v = idleVerdict(live, now, this.policy);
    const deadline = v.kind === 'reclaim' ? now : v.deadline;
    return {
      id: s.id, state: s.state, profile: s.profile, instance: s.gameServer, startedAt: s.allocatedAt, lastActivity: live.lastActivity,
      generating: s.generating, deadline: new Date(deadline).toISOString(),
      deadlineReason: v.kind === 'ok' ? 'idle' : v.reason, warning: v.kind !== 'ok',
      ...(s.reason ? { reason: s.reason } : {}), url: '/',
    };
  }

  queueView(user: string, now = Date.now()): QueueView | undefined {
    return this.queueViews([user], now).get(user);
  }

  /**
   * `queueView` of many users: the queue listed once and the ETAs computed once per
   * profile, not per user (each ETA looks at every live session of the profile).
   * Users not waiting are left out.
   */
  queueViews(users: Iterable<string>, now = Date.now()): Map<string, QueueView> {
    const lists = new Map<string, QueueEntry[]>();
    for (const e of this.queue.entries(undefined, now)) {
      const list = lists.get(e.profile);
      if (list) list.push(e);
      else lists.set(e.profile, [e]);
    }
    const places = new Map<string, { entry: QueueEntry; position: number; total: number }>();
    for (const list of lists.values()) list.forEach((entry, i) => places.set(entry.user, { entry, position: i + 1, total: list.length }));
    const times = new Map<string, number[]>();
    const out = new Map<string, QueueView>();
    for (const user of users) {
      const pos = places.get(user);
      if (!pos) continue;
      let t = times.get(pos.entry.profile);
      if (!t) {
        const profile = this.profiles.find((p) => p.name === pos.entry.profile);
        t = profile ? this.#etas(profile, pos.total, now) : [];
        times.set(pos.entry.profile, t);
      }
      out.set(user, {
        state: 'queued', profile: pos.entry.profile, position: pos.position, total: pos.total,
        eta: Math.round((t[pos.position - 1] ?? 0) / 1000), queuedAt: pos.entry.queuedAt,
      });
    }
    return out;
  }

  #etas(profile: Profile, n: number, now: number): number[] {
    const coldStartMs = this.#coldStarts.get(profile.name, now, () => this.fleet.coldStartMs(profile));
    return etas(n, {
      now,
      startingCreatedAt: this.fleet.startingFor(profile).map((g) => Date.parse(g.metadata.creationTimestamp ?? '') || now),
      sessionEndsAt: this.#sessionEnds(profile, now),
      coldStartMs,
      scaleUpDelayMs: this.#o.scaleUpDelayMs ?? 30_000,
    });
  }

  /** When each live session of the profile is due to end, kept ENDS_TTL_MS: an idle verdict of every session per queue change is not needed for an estimate. */
  #sessionEnds(profile: Profile, now: number): number[] {
    return this.#ends.get(profile.name, now, () => this.registry.live().filter((s) => s.profile === profile.name).map((s) => {
      const v = idleVerdict(this.withLocalActivity(s), now, this.policy);
      return v.kind === 'reclaim' ? now : s.state === 'releasing' ? now : v.deadline;
    }));
  }

  /** Profiles with what each offers now (start page). */
  profileViews(): { name: string; title: string; description?: string; ready: number; starting: number; waiting: number }[] {
    return this.profiles.map((p) => ({
      name: p.name, title: p.title, ...(p.description ? { description: p.description } : {}),
      ...this.fleet.countsFor(p), waiting: this.queue.entries(p.name).length,
    }));
  }

  /** The `fleet` event: the counts every page may show. */
  fleetSummary(): FleetSummary {
    const out: FleetSummary = { ready: 0, starting: 0, allocated: 0, waiting: this.queue.entries().length, profiles: [] };
    for (const c of this.fleet.counts()) {
      out.ready += c.ready;
      out.starting += c.starting;
      out.allocated += c.allocated;
    }
    out.profiles = this.profileViews().map((p) => ({ name: p.name, ready: p.ready, starting: p.starting, waiting: p.waiting }));
    return out;
  }

  // ---- actions ----

  async keepalive(s: Session): Promise<void> {
    const now = new Date().toISOString();
    this.traffic.touch(s.gameServer);
    await annotate(this.k, s.gameServer, { [ANNOTATION_KEEPALIVE]: now });
  }

  async release(s: Session, reason: ReleaseReason): Promise<boolean> {
    return requestRelease(this.k, s.gameServer, reason);
  }

  #refreshGauges(): void {
    for (const p of this.profiles) this.#o.metrics.queueLength.set({ profile: p.name }, this.queue.entries(p.name).length);
    const live = this.registry.live();
    this.#o.metrics.sessions.set({ state: 'active' }, live.filter((s) => s.state === 'active').length);
    this.#o.metrics.sessions.set({ state: 'releasing' }, live.filter((s) => s.state === 'releasing').length);
  }
}
