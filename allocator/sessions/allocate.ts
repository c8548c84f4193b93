import { randomFillSync } from 'node:crypto';
import type { Logger } from '../../common/log.ts';
import { SdfleetError } from '../../common/errors.ts';
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER } from '../../fleet/agones/metadata.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { AGONES, ALLOCATION, type KubeClients } from '../kube/clients.ts';
import { releaseLease, tryAcquire } from '../kube/leases.ts';
import type { Presence } from '../kube/presence.ts';
import type { Profile } from '../profiles.ts';
import type { QueueEntry, WaitQueue } from '../queue/queue.ts';
import { ANNOTATION_PROFILE, sessionOf, type Session } from './model.ts';
import type { SessionRegistry } from './registry.ts';

export interface Owner {
  /** userKey: the label value. */
  user: string;
  /** The identity as signed in. */
  userId: string;
}

export type StartResult =
  | { kind: 'session'; session: Session; created: boolean }
  | { kind: 'queued'; entry: QueueEntry; position: number; total: number };

/** Seconds a client is told to wait before asking again while its last session ends. */
export const RELEASING_RETRY_SECONDS = 3;

/**
 * The answer to a user who still holds a session: that session when active; while it is
 * releasing (the wrapper saving the images, then the instance shutting down) it still
 * holds their one instance, so a new one must wait until it has ended: 409, ask again.
 */
function held(session: Session): StartResult {
  if (session.state === 'active') return { kind: 'session', session, created: false };
  throw new SdfleetError('session_releasing', 'your last session is still ending (its images are being saved); you can start a new one as soon as it has ended, in a few seconds', {
    status: 409, retryAfterSeconds: RELEASING_RETRY_SECONDS,
  });
}

export interface AllocationServiceOptions {
  k: KubeClients;
  registry: SessionRegistry;
  queue: WaitQueue;
  profiles: Profile[];
  /** This replica's name, for the per-user lock. */
  identity: string;
  log: Logger;
  /** How long a user's lock may be held before another replica may take it. Default 15 s. */
  lockSeconds?: number;
  /** Tries on `Contention`, with jittered waits. Default 4. */
  contentionRetries?: number;
  onAllocation?: (result: 'Allocated' | 'UnAllocated' | 'Contention' | 'error', ms: number) => void;
  /** Which replicas are up; alone, a replica locks users in-process (see Presence). */
  presence?: Presence;
}

/**
 * Starts sessions, safely across replicas. A user's Lease (`sdfleet-user-<user>`) is the
 * lock: only its holder allocates for that user, and it first reads the user's
 * GameServers from the API (not the cache, which may lag another replica's write) so
 * nobody ever holds two instances. Nobody jumps the queue: while others wait for the
 * profile, a newcomer joins them.
 */
export class AllocationService {
  readonly #o: AllocationServiceOptions;
  /** In-process per-user locks: the tail of each user's chain of work. */
  #chains = new Map<string, Promise<unknown>>();
  /** Sessions this replica allocated that the informer may not show yet. */
  #recent = new Map<string, { session: Session; at: number }>();

  constructor(o: AllocationServiceOptions) {
    this.#o = o;
    // Once the informer has seen a session we allocated (or its end), it speaks for it.
    o.registry.on('change', (c) => {
      const r = this.#recent.get(c.user);
      if (r && (c.session?.gameServer === r.session.gameServer || c.previous?.gameServer === r.session.gameServer)) this.#recent.delete(c.user);
    });
  }

  /**
   * The user's live session: the informer's, or one this replica just allocated that the
   * informer does not show yet (so the instance is routable the moment POST /sessions answers).
   */
  liveSession(user: string): Session | undefined {
    const known = this.#o.registry.liveByUser(user);
    if (known) return known;
    const recent = this.#recent.get(user);
    if (!recent) return undefined;
    if (Date.now() - recent.at > 60_000 || this.#o.registry.byUser(user)?.gameServer === recent.session.gameServer) {
      // The informer has caught up (or it is too old to trust): the registry speaks from now on.
      this.#recent.delete(user);
      return undefined;
    }
    return recent.session;
  }

  profile(name: string | undefined): Profile {
    const p = name === undefined ? this.#o.profiles[0] : this.#o.profiles.find((x) => x.name === name);
    if (!p) {
      throw new SdfleetError('unknown_profile', `no profile "${name}"; choose one of ${this.#o.profiles.map((x) => x.name).join(', ')}`, { status: 400 });
    }
    return p;
  }

  /** POST /sessions: the caller's session, an existing one or a new one, or a place in the queue. */
  async start(owner: Owner, profileName?: string): Promise<StartResult> {
    const existing = this.liveSession(owner.user);
    if (existing) return held(existing);
    const queued = this.#o.queue.positionOf(owner.user);
    if (queued) return { kind: 'queued', ...queued };
    const profile = this.profile(profileName);
    return this.#locked(owner.user, async () => {
      const fresh = await this.#liveFromApi(owner.user);
      if (fresh) return held(fresh);
      const again = this.#o.queue.positionOf(owner.user);
      if (again) return { kind: 'queued', ...again };
      if (this.#o.queue.entries(profile.name).length === 0) {
        const session = await this.#allocate(owner, profile, newSessionId());
        if (session) return { kind: 'session', session, created: true };
      }
      await this.#o.queue.enqueue({ user: owner.user, userId: owner.userId, profile: profile.name, sessionId: newSessionId() });
      const pos = this.#o.queue.positionOf(owner.user) ?? { entry: (await this.#waitQueued(owner.user)), position: 1, total: 1 };
      return { kind: 'queued', ...pos };
    });
  }

  /**
   * Serves a queued user (the dispatcher calls it). Resolves with the session, or
   * undefined when nothing was free.
   */
  async serve(entry: QueueEntry): Promise<Session | undefined> {
    const profile = this.profile(entry.profile);
    return this.#locked(entry.user, async () => {
      const fresh = await this.#liveFromApi(entry.user);
      if (fresh) {
        await this.#o.queue.leave(entry.user);
        return fresh;
      }
      const session = await this.#allocate({ user: entry.user, userId: entry.userId }, profile, entry.sessionId || newSessionId());
      if (session) await this.#o.queue.leave(entry.user);
      return session;
    });
  }

  async #locked<T>(user: string, work: () => Promise<T>): Promise<T> {
    await this.#o.presence?.settled;
    if (this.#o.presence?.alone) return this.#inProcess(user, work);
    const name = `sdfleet-user-${user}`;
    const deadline = Date.now() + 5000;
    let lease = await tryAcquire(this.#o.k, name, this.#o.identity, this.#o.lockSeconds ?? 15);
    while (!lease) {
      if (Date.now() > deadline) {
        throw new SdfleetError('busy', 'another request of yours is being handled; try again in a moment', { status: 409 });
      }
      await sleep(20 + Math.random() * 40);
      lease = await tryAcquire(this.#o.k, name, this.#o.identity, this.#o.lockSeconds ?? 15);
    }
    try {
      return await work();
    } finally {
      await releaseLease(this.#o.k, lease).catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'could not release a user lock'));
    }
  }

  /** One user's work at a time in this process (the only replica). */
  async #inProcess<T>(user: string, work: () => Promise<T>): Promise<T> {
    const before = this.#chains.get(user) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    this.#chains.set(user, mine);
    try {
      return await mine;
    } finally {
      if (this.#chains.get(user) === mine) this.#chains.delete(user);
    }
  }

  /**
   * The user's live session as the API has it. Alone, nothing but this replica allocates,
   * so the informer plus what it allocated itself is the whole truth; otherwise ask the API.
   */
  async #liveFromApi(user: string): Promise<Session | undefined> {
    if (this.#o.presence?.alone) return this.liveSession(user);
    const list = (await this.#o.k.custom.listNamespacedCustomObject({
      ...AGONES, namespace: this.#o.k.namespace, plural: 'gameservers', labelSelector: `${LABEL_USER}=${user}`,
    })) as { items: GameServer[] };
    for (const gs of list.items) {
      this.#o.registry.upsert(gs);
      const s = sessionOf(gs);
      if (s && s.state !== 'gone') return s;
    }
    return undefined;
  }

  async #allocate(owner: Owner, profile: Profile, sessionId: string): Promise<Session | undefined> {
    const retries = this.#o.contentionRetries ?? 4;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const now = new Date().toISOString();
      let gsa: { status?: { state?: string; gameServerName?: string; address?: string; ports?: { name: string; port: number }[] } };
      try {
        gsa = (await this.#o.k.custom.createNamespacedCustomObject({
          ...ALLOCATION,
          namespace: this.#o.k.namespace,
          body: {
            apiVersion: 'allocation.agones.dev/v1',
            kind: 'GameServerAllocation',
            spec: {
              selectors: profile.selectors.map((s) => ({ ...s, gameServerState: 'Ready' })),
              scheduling: 'Packed',
              metadata: {
                labels: { [LABEL_USER]: owner.user },
                annotations: {
                  [ANNOTATION_USER_ID]: owner.userId,
                  [ANNOTATION_SESSION]: sessionId,
                  [ANNOTATION_ALLOCATED_AT]: now,
                  [ANNOTATION_PROFILE]: profile.name,
                },
              },
            },
          },
        })) as typeof gsa;
      } catch (err) {
        this.#o.onAllocation?.('error', performance.now() - started);
        throw new SdfleetError('control_plane', `could not ask the control plane for an instance: ${(err as Error).message}`, { status: 503, cause: err });
      }
      const state = gsa.status?.state ?? 'UnAllocated';
      this.#o.onAllocation?.(state === 'Allocated' || state === 'Contention' ? state : 'UnAllocated', performance.now() - started);
      if (state === 'Allocated') {
        const session: Session = {
          id: sessionId, user: owner.user, userId: owner.userId, gameServer: gsa.status!.gameServerName!, namespace: this.#o.k.namespace,
          profile: profile.name, state: 'active', address: gsa.status?.address ?? '',
          port: gsa.status?.ports?.find((p) => p.name === 'webui')?.port ?? gsa.status?.ports?.[0]?.port,
          allocatedAt: now, generating: false, lastActivity: now,
        };
        this.#recent.set(owner.user, { session, at: Date.now() });
        if (this.#recent.size > 10_000) this.#recent.delete(this.#recent.keys().next().value!);
        this.#o.log.info({ user: owner.user, gameServer: session.gameServer, profile: profile.name }, 'session started');
        return session;
      }
      if (state === 'Contention' && attempt < retries) {
        await sleep(25 * 2 ** attempt + Math.random() * 50);
        continue;
      }
      return undefined;
    }
  }

  async #waitQueued(user: string): Promise<QueueEntry> {
    for (let i = 0; i < 50; i++) {
      const p = this.#o.queue.positionOf(user);
      if (p) return p.entry;
      await sleep(10);
    }
    throw new SdfleetError('queue', 'joined the queue but cannot see the entry yet; reload the page', { status: 503 });
  }
}

const ID_BYTES = 9;
/** Random bytes for 512 session ids, drawn at once (one call into the CSPRNG instead of one per session, as Node's randomUUID keeps a cache). */
const idPool = Buffer.alloc(ID_BYTES * 512);
let idPoolAt = idPool.length;

/** A new session id: 9 random bytes, base64url (12 characters). */
export function newSessionId(): string {
  if (idPoolAt + ID_BYTES > idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const id = idPool.toString('base64url', idPoolAt, idPoolAt + ID_BYTES);
  idPoolAt += ID_BYTES;
  return id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
