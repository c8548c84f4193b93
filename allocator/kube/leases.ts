import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { statusOf, type KubeClients } from './clients.ts';

/** Microsecond time as Kubernetes writes it in Leases. */
function microTime(ms: number): Date {
  return new Date(ms);
}

function timeOf(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

/** True when the lease's holder has not renewed it within its duration. */
export function leaseExpired(lease: V1Lease, now = Date.now()): boolean {
  const renewed = timeOf(lease.spec?.renewTime ?? lease.spec?.acquireTime);
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return !Number.isFinite(renewed) || renewed + duration < now;
}

/**
 * Takes the Lease `name` for `holder`: creates it, or takes it over when it expired or
 * is already ours (resourceVersion-checked, so two replicas can't both win). Resolves
 * with the lease when held, undefined when someone else holds it.
 */
export async function tryAcquire(k: KubeClients, name: string, holder: string, ttlSeconds: number, extra?: { labels?: Record<string, string>; annotations?: Record<string, string> }): Promise<V1Lease | undefined> {
  const now = Date.now();
  const spec = { holderIdentity: holder, leaseDurationSeconds: ttlSeconds, acquireTime: microTime(now), renewTime: microTime(now) };
  try {
    return await k.coordination.createNamespacedLease({
      namespace: k.namespace,
      body: { metadata: { name, labels: extra?.labels, annotations: extra?.annotations }, spec: spec as never },
    });
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
  let current: V1Lease;
  try {
    current = await k.coordination.readNamespacedLease({ name, namespace: k.namespace });
  } catch (err) {
    if (statusOf(err) === 404) return tryAcquire(k, name, holder, ttlSeconds, extra);
    throw err;
  }
  if (current.spec?.holderIdentity !== holder && !leaseExpired(current, now)) return undefined;
  current.spec = { ...current.spec, ...spec } as never;
  if (extra?.labels) current.metadata = { ...current.metadata, labels: { ...current.metadata?.labels, ...extra.labels } };
  if (extra?.annotations) current.metadata = { ...current.metadata, annotations: { ...current.metadata?.annotations, ...extra.annotations } };
  try {
    return await k.coordination.replaceNamespacedLease({ name, namespace: k.namespace, body: current });
  } catch (err) {
    // Someone else changed or deleted it in between: not ours this time (the caller retries).
    const s = statusOf(err);
    if (s === 409 || s === 404) return undefined;
    throw err;
  }
}

/** Deletes the lease if we still hold it (a missing lease is fine). */
export async function releaseLease(k: KubeClients, lease: V1Lease): Promise<void> {
  try {
    await k.coordination.deleteNamespacedLease({
      name: lease.metadata!.name!,
      namespace: k.namespace,
      body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
    });
  } catch (err) {
    const s = statusOf(err);
    if (s !== 404 && s !== 409) throw err;
  }
}

/**
 * One leader among the allocator replicas, through a Lease, as client-go's leader
 * election does: the leader renews every `renewMs`; others take over after the lease
 * expires. Leader-only work (the queue dispatcher, releases of idle sessions) checks
 * `isLeader`.
 */
export class LeaderElector {
  readonly #k: KubeClients;
  readonly #name: string;
  readonly #identity: string;
  readonly #ttlSeconds: number;
  readonly #renewMs: number;
  readonly #log: Logger;
  readonly #onChange: (leader: boolean) => void;
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lease: V1Lease | undefined;

  constructor(o: { k: KubeClients; name: string; identity: string; ttlSeconds?: number; renewMs?: number; log: Logger; onChange?: (leader: boolean) => void }) {
    this.#k = o.k;
    this.#name = o.name;
    this.#identity = o.identity;
    this.#ttlSeconds = o.ttlSeconds ?? 10;
    this.#renewMs = o.renewMs ?? 2000;
    this.#log = o.log;
    this.#onChange = o.onChange ?? (() => undefined);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    void this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#leader && this.#lease) {
      // Step down at once so another replica need not wait for the lease to expire.
      await releaseLease(this.#k, this.#lease).catch(() => undefined);
    }
    this.#set(false);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#lease = await tryAcquire(this.#k, this.#name, this.#identity, this.#ttlSeconds);
      this.#set(this.#lease !== undefined);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'leader election: could not reach the API');
      this.#set(false);
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#renewMs);
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#log.info({ leader, identity: this.#identity }, leader ? 'this replica leads' : 'this replica no longer leads');
    this.#onChange(leader);
  }
}
