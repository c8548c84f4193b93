import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { statusOf, type KubeClients } from './clients.ts';
import { ResilientInformer } from './informer.ts';
import { leaseExpired } from './leases.ts';

export const LABEL_ROLE = 'sdfleet.dev/role';

/**
 * Which allocator replicas are up: each keeps a Lease `sdfleet-allocator-<name>` (label
 * sdfleet.dev/role=allocator) renewed every `renewMs`, and watches the others'. A replica
 * that has seen no other for `settleMs`, and has itself been up that long, is `alone`:
 * it may then guard a user's allocation with an in-process lock instead of a Lease, which
 * saves two API calls per session. A replica that starts announces itself and waits
 * `settleMs` before it allocates anything (see `settled`), so a replica that was alone has
 * seen it, and switched to Leases, before the two could race.
 */
export class Presence {
  readonly #k: KubeClients;
  readonly #name: string;
  readonly #log: Logger;
  readonly #renewMs: number;
  readonly #settleMs: number;
  readonly #informer: ResilientInformer<V1Lease>;
  #startedAt = 0;
  #lastOtherSeen = 0;
  #timer: NodeJS.Timeout | undefined;
  #lease: V1Lease | undefined;
  readonly settled: Promise<void>;
  #settle!: () => void;

  constructor(o: { k: KubeClients; identity: string; log: Logger; renewMs?: number; settleMs?: number }) {
    this.#k = o.k;
    this.#name = `sdfleet-allocator-${o.identity}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
    this.#log = o.log;
    this.#renewMs = o.renewMs ?? 5000;
    this.#settleMs = o.settleMs ?? 2000;
    this.settled = new Promise((r) => (this.#settle = r));
    const seen = (): void => {
      if (this.othersNow().length > 0) this.#lastOtherSeen = Date.now();
    };
    this.#informer = new ResilientInformer<V1Lease>({
      kc: o.k.kc,
      path: `/apis/coordination.k8s.io/v1/namespaces/${o.k.namespace}/leases`,
      list: () => o.k.coordination.listNamespacedLease({ namespace: o.k.namespace, labelSelector: `${LABEL_ROLE}=allocator` }) as never,
      labelSelector: `${LABEL_ROLE}=allocator`,
      log: o.log,
      events: { onAdd: seen, onUpdate: seen, onDelete: seen },
    });
  }

  async start(): Promise<void> {
    await this.#announce();
    await this.#informer.start();
    this.#startedAt = Date.now();
    if (this.othersNow().length > 0) this.#lastOtherSeen = Date.now();
    this.#timer = setInterval(() => {
      void this.#announce();
      if (this.othersNow().length > 0) this.#lastOtherSeen = Date.now();
    }, this.#renewMs);
    this.#timer.unref();
    setTimeout(() => this.#settle(), this.#settleMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#informer.stop();
    try {
      await this.#k.coordination.deleteNamespacedLease({ name: this.#name, namespace: this.#k.namespace });
    } catch {
      // expires by itself
    }
  }

  /** Other replicas whose presence is live now. */
  othersNow(now = Date.now()): string[] {
    return this.#informer.list().filter((l) => l.metadata?.name !== this.#name && !leaseExpired(l, now)).map((l) => l.metadata!.name!);
  }

  /** No other replica now, none for `settleMs`, and this one up for `settleMs`. */
  get alone(): boolean {
    const now = Date.now();
    return this.#startedAt > 0 && now - this.#startedAt >= this.#settleMs && now - this.#lastOtherSeen >= this.#settleMs && this.othersNow(now).length === 0;
  }

  async #announce(): Promise<void> {
    const now = new Date();
    const ttl = Math.ceil((this.#renewMs * 3) / 1000);
    try {
      if (this.#lease) {
        this.#lease = await this.#k.coordination.replaceNamespacedLease({
          name: this.#name, namespace: this.#k.namespace,
          body: { ...this.#lease, spec: { ...this.#lease.spec, renewTime: now as never } },
        });
        return;
      }
    } catch (err) {
      if (statusOf(err) !== 404 && statusOf(err) !== 409) this.#log.warn({ err: (err as Error).message }, 'could not renew this replica’s presence');
      this.#lease = undefined;
    }
    try {
      this.#lease = await this.#k.coordination.createNamespacedLease({
        namespace: this.#k.namespace,
        body: { metadata: { name: this.#name, labels: { [LABEL_ROLE]: 'allocator' } }, spec: { holderIdentity: this.#name, leaseDurationSeconds: ttl, acquireTime: now as never, renewTime: now as never } },
      });
    } catch (err) {
      if (statusOf(err) === 409) {
        this.#lease = await this.#k.coordination.readNamespacedLease({ name: this.#name, namespace: this.#k.namespace }).catch(() => undefined);
        if (this.#lease) await this.#announce();
      } else {
        this.#log.warn({ err: (err as Error).message }, 'could not announce this replica');
      }
    }
  }
}
