import type { Logger } from '../../../common/log.ts';
import { RESOURCES } from '../resources/registry.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';

export type EventType = 'Normal' | 'Warning';

/**
 * Records core/v1 Events about objects, as Agones' controllers do, so `kubectl describe gs`
 * tells the story. Repeats of the same reason and message on the same object bump `count`.
 * Keeps at most `limit` events per namespace, dropping the oldest; the aggregation key
 * of an Event dropped goes with it (a repeat makes a new Event, as client-go's recorder
 * does when the Event it would patch is gone), so keys are at most one per Event kept.
 */
export class EventRecorder {
  readonly #store: ObjectStore;
  readonly #component: string;
  readonly #log: Logger;
  readonly #limit: number;
  /** Aggregation key (see `aggregationKey`) → name of the Event that counts its repeats. */
  #recent = new Map<string, string>();

  constructor(o: { store: ObjectStore; component: string; log: Logger; limit?: number }) {
    this.#store = o.store;
    this.#component = o.component;
    this.#log = o.log;
    this.#limit = o.limit ?? 2000;
  }

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const now = new Date().toISOString();
    const dedupe = aggregationKey(obj.metadata.uid, type, reason, message);
    try {
      const existing = this.#recent.get(dedupe);
      if (existing && this.#store.tryGet(RESOURCES.events, ns, existing)) {
        this.#store.mutate(RESOURCES.events, ns, existing, (e) => {
          e.count = ((e.count as number | undefined) ?? 1) + 1;
          e.lastTimestamp = now;
          return e;
        });
        return;
      }
      const created = this.#store.create(RESOURCES.events, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${obj.metadata.name}.`, namespace: ns },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: ns,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component: this.#component },
        reportingComponent: this.#component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
      this.#recent.set(dedupe, created.metadata.name!);
      if (this.#recent.size > this.#limit * 2) this.#recent.delete(this.#recent.keys().next().value!);
      this.#prune(ns);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message, reason }, 'could not record an event');
    }
  }

  #prune(ns: string): void {
    if (this.#store.count(RESOURCES.events, ns) <= this.#limit) return;
    const items = this.#store.list(RESOURCES.events, { namespace: ns }).items;
    // The store lists in insertion order: the first are the oldest. Down to 90 % of the
    // limit, so that the list (of the whole limit) is made once per tenth of it, not once
    // per event.
    const keep = Math.floor(this.#limit * 0.9);
    for (const e of items.slice(0, Math.max(0, items.length - keep))) {
      const involved = e.involvedObject as { uid?: string } | undefined;
      const key = aggregationKey(involved?.uid, e.type as string, e.reason as string, e.message as string);
      if (this.#recent.get(key) === e.metadata.name) this.#recent.delete(key);
      try {
        this.#store.delete(RESOURCES.events, ns, e.metadata.name!);
      } catch {
        // gone already
      }
    }
  }

  /** Aggregation keys held (tests). */
  get aggregating(): number {
    return this.#recent.size;
  }
}

/** Events about the same object with the same type, reason and message are one Event with a count. */
function aggregationKey(uid: string | undefined, type: string, reason: string, message: string): string {
  return `${uid}|${type}|${reason}|${message}`;
}
