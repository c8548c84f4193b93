import { EventEmitter } from 'node:events';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER } from '../../fleet/agones/metadata.ts';
import { statusOf, type KubeClients } from '../kube/clients.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { leaseExpired } from '../kube/leases.ts';

/** Label on a queue Lease: the profile waited for. */
export const LABEL_QUEUE = 'sdfleet.dev/queue';
/** Annotation on a queue Lease: when the user joined (RFC 3339 with ms). */
export const ANNOTATION_QUEUED_AT = 'sdfleet.dev/queued-at';

export interface QueueEntry {
  user: string;
  userId: string;
  profile: string;
  sessionId: string;
  queuedAt: string;
  /** The replica that last saw the user (renews the entry). */
  holder: string;
  /** Past its grace without a renewal: about to be dropped. */
  expired: boolean;
}

export class QueueFullError extends Error {
  constructor(profile: string, max: number) {
    super(`the queue for "${profile}" is full (${max} waiting): try again in a few minutes`);
    this.name = 'QueueFullError';
  }
}

export function queueLeaseName(user: string): string {
  return `sdfleet-queue-${user}`;
}

function entryOf(l: V1Lease, now: number): QueueEntry | undefined {
  const labels = l.metadata?.labels ?? {};
  const ann = l.metadata?.annotations ?? {};
  const profile = labels[LABEL_QUEUE];
  const user = labels[LABEL_USER];
  if (!profile || !user) return undefined;
  return {
    user,
    userId: ann[ANNOTATION_USER_ID] ?? user,
    profile,
    sessionId: ann[ANNOTATION_SESSION] ?? '',
    queuedAt: ann[ANNOTATION_QUEUED_AT] ?? new Date(0).toISOString(),
    holder: l.spec?.holderIdentity ?? '',
    expired: leaseExpired(l, now),
  };
}

/**
 * The wait queue, shared by every allocator replica: one Lease per waiting user
 * (`sdfleet-queue-<user>`, label sdfleet.dev/queue=<profile>), FIFO by the time they
 * joined. A replica renews the entries of the users it sees (socket or polling); an entry
 * not renewed within the grace (a browser gone for good) expires and is dropped. The
 * autoscaler reads the demand by listing these Leases.
 */
export class WaitQueue extends EventEmitter<{ change: [] }> {
  readonly #k: KubeClients;
  readonly #identity: string;
  readonly #graceSeconds: number;
  readonly #maxPerProfile: number;
  readonly #log: Logger;
  readonly #informer: ResilientInformer<V1Lease>;

  constructor(o: { k: KubeClients; identity: string; graceSeconds: number; maxPerProfile: number; log: Logger }) {
    super();
    this.#k = o.k;
    this.#identity = o.identity;
    this.#graceSeconds = o.graceSeconds;
    this.#maxPerProfile = o.maxPerProfile;
    this.#log = o.log;
    const changed = (): void => void this.emit('change');
    this.#informer = new ResilientInformer<V1Lease>({
      kc: o.k.kc,
      path: `/apis/coordination.k8s.io/v1/namespaces/${o.k.namespace}/leases`,
      list: () => o.k.coordination.listNamespacedLease({ namespace: o.k.namespace, labelSelector: LABEL_QUEUE }) as never,
      labelSelector: LABEL_QUEUE,
      log: o.log,
      events: { onAdd: changed, onUpdate: changed, onDelete: changed },
    });
  }

  start(): Promise<void> {
    return this.#informer.start();
  }

  /** How often the replica that sees a user should renew their entry: well inside the grace. */
  get renewEveryMs(): number {
    return Math.max(500, Math.min(15_000, (this.#graceSeconds * 1000) / 3));
  }

  get synced(): Promise<void> {
    return this.#informer.synced;
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  /** Waiting entries of a profile (or all), in queue order, expired ones left out. */
  entries(profile?: string, now = Date.now()): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const l of this.#informer.list()) {
      const e = entryOf(l, now);
      if (e && !e.expired && (profile === undefined || e.profile === profile)) out.push(e);
    }
    return out.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt) || a.user.localeCompare(b.user));
  }

  /** The user's entry with its 1-based position in its profile's queue. */
  positionOf(user: string, now = Date.now()): { entry: QueueEntry; position: number; total: number } | undefined {
    const mine = this.#informer.get(queueLeaseName(user), this.#k.namespace);
    const entry = mine ? entryOf(mine, now) : undefined;
    if (!entry || entry.expired) return undefined;
    const list = this.entries(entry.profile, now);
    const i = list.findIndex((e) => e.user === user);
    return i < 0 ? undefined : { entry, position: i + 1, total: list.length };
  }

  /** Joins the queue (idempotent: an existing entry is kept, with its place). */
  async enqueue(e: { user: string; userId: string; profile: string; sessionId: string }): Promise<QueueEntry> {
    if (this.entries(e.profile).length >= this.#maxPerProfile) throw new QueueFullError(e.profile, this.#maxPerProfile);
    const now = new Date();
    const body: V1Lease = {
      metadata: {
        name: queueLeaseName(e.user),
        labels: { [LABEL_QUEUE]: e.profile, [LABEL_USER]: e.user },
        annotations: { [ANNOTATION_USER_ID]: e.userId, [ANNOTATION_SESSION]: e.sessionId, [ANNOTATION_QUEUED_AT]: now.toISOString() },
      },
      spec: { holderIdentity: this.#identity, leaseDurationSeconds: this.#graceSeconds, acquireTime: now as never, renewTime: now as never },
    };
    try {
      const created = await this.#k.coordination.createNamespacedLease({ namespace: this.#k.namespace, body });
      return entryOf(created, Date.now())!;
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      const existing = await this.#k.coordination.readNamespacedLease({ name: queueLeaseName(e.user), namespace: this.#k.namespace });
      if (leaseExpired(existing)) {
        // A stale entry of this user: start again at the back.
        await this.#delete(existing);
        return this.enqueue(e);
      }
      await this.renew(e.user);
      return entryOf(existing, Date.now())!;
    }
  }

  /** Keeps the user's place (they are still there). */
  async renew(user: string): Promise<void> {
    const l = this.#informer.get(queueLeaseName(user), this.#k.namespace);
    if (!l) return;
    const copy: V1Lease = structuredClone(l);
    copy.spec = { ...copy.spec, holderIdentity: this.#identity, renewTime: new Date() as never };
    try {
      await this.#k.coordination.replaceNamespacedLease({ name: queueLeaseName(user), namespace: this.#k.namespace, body: copy });
    } catch (err) {
      const s = statusOf(err);
      if (s !== 404 && s !== 409) this.#log.warn({ err: (err as Error).message }, 'could not renew a queue entry');
    }
  }

  /** Leaves the queue (served, or gave up). */
  async leave(user: string): Promise<void> {
    try {
      await this.#k.coordination.deleteNamespacedLease({ name: queueLeaseName(user), namespace: this.#k.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /** Drops entries past their grace (the leader calls it). Resolves with how many. */
  async sweep(now = Date.now()): Promise<number> {
    let n = 0;
    for (const l of this.#informer.list()) {
      const e = entryOf(l, now);
      if (e?.expired) {
        await this.#delete(l);
        n++;
      }
    }
    return n;
  }

  async #delete(l: V1Lease): Promise<void> {
    try {
      await this.#k.coordination.deleteNamespacedLease({
        name: l.metadata!.name!, namespace: this.#k.namespace,
        body: { preconditions: { resourceVersion: l.metadata?.resourceVersion } },
      });
    } catch (err) {
      const s = statusOf(err);
      if (s !== 404 && s !== 409) throw err;
    }
  }
}
