import { makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';

export interface CacheEvents<T> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T | undefined): void;
  onDelete?(obj: T): void;
}

/**
 * Restarts of a failed watch wait 200 ms, doubling, at most 2 s: users are to hear within
 * 5 s of the control plane answering again that their instance went away (issue 8's
 * faults), and a retry against an API that refuses connections costs next to nothing. With
 * a 10 s cap, an outage of a few seconds could leave the watch down for 6 s after the return.
 */
const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;

/**
 * A real API server sends every object with `metadata.managedFields` (who set which field,
 * a record per manager and subresource), often as large as the rest of the object; none of
 * sdfleet's code reads it. The cache keeps the object it handed to the callbacks, so
 * clearing it there keeps 10,000 GameServers' worth of it out of memory (what client-go's
 * informers do with a transform).
 */
function dropManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields !== undefined) obj.metadata.managedFields = undefined;
}

/**
 * client-node's informer, kept alive: it stops on a watch error, so this restarts it
 * with backoff, and it keeps the previous object of each update for the callbacks; the
 * objects it keeps carry no managedFields.
 * `synced` resolves after the first full list.
 */
export class ResilientInformer<T extends KubernetesObject> {
  readonly #log: Logger;
  readonly #informer: ReturnType<typeof makeInformer<T>>;
  readonly #known = new Map<string, T>();
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #backoff = MIN_BACKOFF_MS;
  readonly synced: Promise<void>;
  #markSynced!: () => void;
  #isSynced = false;

  constructor(o: { kc: KubeConfig; path: string; list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>; labelSelector?: string; log: Logger; events: CacheEvents<T> }) {
    this.#log = o.log;
    this.synced = new Promise((resolve) => (this.#markSynced = resolve));
    this.#informer = makeInformer<T>(o.kc, o.path, o.list as never, o.labelSelector);
    const key = (obj: T): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.#informer.on('add', (obj) => {
      dropManagedFields(obj);
      this.#known.set(key(obj), obj);
      o.events.onAdd?.(obj);
    });
    this.#informer.on('update', (obj) => {
      dropManagedFields(obj);
      const old = this.#known.get(key(obj));
      this.#known.set(key(obj), obj);
      o.events.onUpdate?.(obj, old);
    });
    this.#informer.on('delete', (obj) => {
      this.#known.delete(key(obj));
      o.events.onDelete?.(obj);
    });
    this.#informer.on('connect', () => {
      this.#backoff = MIN_BACKOFF_MS;
      if (!this.#isSynced) {
        this.#isSynced = true;
        this.#markSynced();
      }
    });
    this.#informer.on('error', (err) => {
      if (this.#stopped) return;
      this.#log.warn({ path: o.path, err: (err as Error)?.message ?? String(err), retryInMs: this.#backoff }, 'watch failed; restarting the informer');
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        if (!this.#stopped) this.#informer.start().catch(() => undefined);
      }, this.#backoff);
      this.#backoff = Math.min(MAX_BACKOFF_MS, this.#backoff * 2);
    });
  }

  async start(): Promise<void> {
    await this.#informer.start();
    if (!this.#isSynced) {
      this.#isSynced = true;
      this.#markSynced();
    }
  }

  get isSynced(): boolean {
    return this.#isSynced;
  }

  list(): readonly T[] {
    return this.#informer.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer.stop();
  }
}
