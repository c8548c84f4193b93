/**
 * The allocator's side of the autoscaler's two event-driven steps (fleet/autoscaler/
 * README.md; the design and its races there): release-time shrink (release.ts) and grow
 * on arrival (grow.ts). Between syncs, the leader asks the autoscaler about a Fleet the
 * moment its demand changes, and writes spec.replicas conditionally on the value it
 * decided against:
 * - a GameServer of a fleet leaves Allocated (Shutdown, Unhealthy, Error, or deleted):
 *   when the freed slot should not be refilled, spec.replicas is lowered by one;
 * - a GameServer of a fleet becomes Allocated, or someone joins the queue: when the
 *   policy wants more than spec.replicas, they are raised to it now, not at the next sync.
 * Only for a Fleet that sdfleet's webhook sizes; one change at a time per fleet.
 */
import type { GameServer } from '../../fleet/agones/types.ts';
import { LABEL_FLEET } from '../../fleet/agones/types.ts';
import type { ReviewStatus } from '../../fleet/autoscaler/policy.ts';
import type { ArrivalGrow } from '../../fleet/autoscaler/grow.ts';
import type { ReleaseShrink } from '../../fleet/autoscaler/release.ts';
import { WEBHOOK_PATH } from '../../fleet/autoscaler/webhook.ts';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { AGONES, mergePatch, statusOf, type KubeClients } from '../kube/clients.ts';
import { bucketOf } from '../fleet-view.ts';

/** Being deleted, Shutdown, Unhealthy or Error: its Fleet no longer counts it and replaces it (fleet-decision.ts DEAD). */
const over = (gs: GameServer): boolean => {
  const b = bucketOf(gs);
  return b === 'shuttingDown' || b === 'unhealthy';
};

/**
 * The fleet whose session just ended, when `prev` → `next` is a GameServer leaving
 * Allocated (`next` undefined: deleted); else undefined. Pure.
 */
export function endedSessionFleet(prev: GameServer | undefined, next: GameServer | undefined): string | undefined {
  if (prev?.status?.state !== 'Allocated' || prev.metadata.deletionTimestamp) return undefined;
  const fleet = prev.metadata.labels?.[LABEL_FLEET];
  if (!fleet) return undefined;
  if (next === undefined || over(next)) return fleet;
  return undefined;
}

/** The fleet whose GameServer was just taken: `prev` → `next` becomes Allocated; else undefined. Pure. */
export function startedSessionFleet(prev: GameServer | undefined, next: GameServer | undefined): string | undefined {
  if (next?.status?.state !== 'Allocated' || next.metadata.deletionTimestamp || prev?.status?.state === 'Allocated') return undefined;
  return next.metadata.labels?.[LABEL_FLEET] || undefined;
}

/** The Fleet's status as its controller counts it: GameServers neither over nor being deleted. Pure. */
export function fleetStatusOf(fleet: string, gameServers: readonly GameServer[]): Required<ReviewStatus> {
  const st = { replicas: 0, readyReplicas: 0, reservedReplicas: 0, allocatedReplicas: 0 };
  for (const gs of gameServers) {
    if (gs.metadata.labels?.[LABEL_FLEET] !== fleet || over(gs)) continue;
    st.replicas++;
    if (gs.status?.state === 'Ready') st.readyReplicas++;
    else if (gs.status?.state === 'Reserved') st.reservedReplicas++;
    else if (gs.status?.state === 'Allocated') st.allocatedReplicas++;
  }
  return st;
}

export interface FleetAutoscalerObject {
  spec?: { fleetName?: string; policy?: { type?: string; webhook?: { url?: string; service?: { path?: string } } } };
}

/**
 * Whether the FleetAutoscaler sizes `fleet` with sdfleet's demand-aware webhook (the
 * Webhook policy at WEBHOOK_PATH, by URL or service reference). Only such a Fleet is
 * resized between syncs: a Fleet with fixed replicas, the Buffer policy or another
 * webhook would never be set back by this policy. Pure.
 */
export function sizedBySdfleet(fas: FleetAutoscalerObject, fleet: string): boolean {
  const spec = fas.spec;
  if (spec?.fleetName !== fleet || spec.policy?.type !== 'Webhook') return false;
  const w = spec.policy.webhook;
  let path = w?.service?.path;
  if (path === undefined && w?.url) {
    try {
      path = new URL(w.url).pathname;
    } catch {
      return false;
    }
  }
  if (!path) return false;
  path = `/${path.replace(/^\/+|\/+$/g, '')}`;
  return path === WEBHOOK_PATH || path.endsWith(WEBHOOK_PATH);
}

/** Reads the namespace's FleetAutoscalers: one of them sizes `fleet` with sdfleet's webhook. */
export async function fleetSizedBySdfleet(k: Pick<KubeClients, 'custom' | 'namespace'>, fleet: string): Promise<boolean> {
  const list = (await k.custom.listNamespacedCustomObject({ group: 'autoscaling.agones.dev', version: 'v1', namespace: k.namespace, plural: 'fleetautoscalers' })) as { items?: FleetAutoscalerObject[] };
  return (list.items ?? []).some((f) => sizedBySdfleet(f, fleet));
}

export type SetResult = 'set' | 'changed' | 'conflict' | 'gone';

interface FleetObject {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
}

/**
 * Sets the Fleet's spec.replicas from `from` to `to` only while it is still `from`: the
 * patch carries the resourceVersion read, so a write in between (Agones' sync, another
 * replica, an admin) makes it fail with 409; it is read again and, when spec.replicas
 * is no longer `from`, the other write stands ('changed'). A status-only change is retried.
 */
export async function setFleetReplicas(k: Pick<KubeClients, 'custom' | 'namespace'>, fleet: string, from: number, to: number, attempts = 3): Promise<SetResult> {
  for (let i = 0; i < attempts; i++) {
    let f: FleetObject;
    try {
      f = (await k.custom.getNamespacedCustomObject({ ...AGONES, namespace: k.namespace, plural: 'fleets', name: fleet })) as FleetObject;
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      throw err;
    }
    if (f.spec?.replicas !== from || !f.metadata?.resourceVersion) return 'changed';
    try {
      await k.custom.patchNamespacedCustomObject(
        { ...AGONES, namespace: k.namespace, plural: 'fleets', name: fleet, body: { metadata: { resourceVersion: f.metadata.resourceVersion }, spec: { replicas: to } } },
        mergePatch,
      );
      return 'set';
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      if (statusOf(err) !== 409) throw err;
    }
  }
  return 'conflict';
}

/** How long a fleet's "sized by sdfleet's webhook" is trusted before its FleetAutoscalers are listed again. */
const SIZED_TTL_MS = 30_000;

/** What each step is called in the logs, what a write it made is, and who does it otherwise. */
const STEPS = {
  shrink: { name: 'release-time shrink', done: 'lowered', otherwise: 'The Fleet refills as Agones would; the next sync corrects it.' },
  grow: { name: 'grow on arrival', done: 'raised', otherwise: 'The next sync grows it.' },
} as const;

export interface FleetResizerOptions {
  k: Pick<KubeClients, 'custom' | 'namespace'>;
  /** The autoscaler's decisions (AutoscalerService.release and .arrival); undefined: that step is off for the fleet. */
  decide: {
    release: (ref: { namespace: string; name: string }, fleet: { specReplicas: number; status: ReviewStatus }) => Promise<ReleaseShrink | undefined>;
    arrival: (ref: { namespace: string; name: string }, fleet: { specReplicas: number; status: ReviewStatus }) => Promise<ArrivalGrow | undefined>;
  };
  /** The fleet's spec.replicas from the informer's cache; undefined when unknown. */
  specReplicas: (fleet: string) => number | undefined;
  /** The namespace's Fleets (a queue join may concern any of them). */
  fleets: () => readonly string[];
  /** Every GameServer of the namespace as last seen. */
  gameServers: () => readonly GameServer[];
  /** Users waiting in the queue, all profiles. */
  queued: () => number;
  /** Only the leader acts (one PATCH per change, not one per replica). */
  isLeader: () => boolean;
  /** Whether the fleet is sized by sdfleet's webhook; default: its FleetAutoscalers read through `k` (fleetSizedBySdfleet), trusted 30 s. */
  sizedBySdfleet?: (fleet: string) => Promise<boolean>;
  log: Logger;
  now?: () => number;
  /** Each write tried (or failed before it could be): step, result. */
  onResize?: (fleet: string, step: 'shrink' | 'grow', result: SetResult | 'failed') => void;
}

/** Feeds on the GameServer and queue informers' changes; one resize at a time per fleet. */
export class FleetResizer {
  readonly #o: FleetResizerOptions;
  readonly #busy = new Map<string, Promise<void>>();
  /** Fleets with a grow check queued and not started: a burst of arrivals asks once more, not once each. */
  readonly #growQueued = new Set<string>();
  readonly #sized = new Map<string, { sized: Promise<boolean>; at: number }>();
  #queued = 0;

  constructor(o: FleetResizerOptions) {
    this.#o = o;
  }

  /** A GameServer changed (`next` undefined: deleted). Resolves when any resize it caused is done. */
  changed(prev: GameServer | undefined, next: GameServer | undefined): Promise<void> {
    if (!this.#o.isLeader()) return Promise.resolve();
    const ended = endedSessionFleet(prev, next);
    if (ended) {
      // The Fleet as it is right after the release, counted now: the Fleet controller saw the
      // same change and its replacement is the informer's next event (or in the same chunk);
      // counted later, the replacement would read as "the Fleet would not refill".
      const status = fleetStatusOf(ended, this.#o.gameServers());
      return this.#serial(ended, () => this.#shrink(ended, status));
    }
    const started = startedSessionFleet(prev, next);
    return started ? this.#grow(started) : Promise.resolve();
  }

  /** A FleetAutoscaler changed: which fleets sdfleet's webhook sizes is read again when next needed. */
  autoscalersChanged(): void {
    this.#sized.clear();
  }

  /** The queue changed: when it grew, every fleet sdfleet sizes is asked whether to grow. */
  queueChanged(): Promise<void> {
    const n = this.#o.queued();
    const grew = n > this.#queued;
    this.#queued = n;
    if (!grew || !this.#o.isLeader()) return Promise.resolve();
    return Promise.all(this.#o.fleets().map((f) => this.#grow(f))).then(() => undefined);
  }

  #serial(fleet: string, work: () => Promise<void>): Promise<void> {
    const run = (this.#busy.get(fleet) ?? Promise.resolve()).then(work);
    const tracked = run.finally(() => {
      if (this.#busy.get(fleet) === tracked) this.#busy.delete(fleet);
    });
    this.#busy.set(fleet, tracked);
    return tracked;
  }

  #grow(fleet: string): Promise<void> {
    if (this.#growQueued.has(fleet)) return this.#busy.get(fleet) ?? Promise.resolve();
    this.#growQueued.add(fleet);
    return this.#serial(fleet, async () => {
      this.#growQueued.delete(fleet);
      await this.#raise(fleet);
    });
  }

  #isSized(fleet: string): Promise<boolean> {
    const o = this.#o;
    if (o.sizedBySdfleet) return o.sizedBySdfleet(fleet);
    const now = (o.now ?? Date.now)();
    const hit = this.#sized.get(fleet);
    if (hit && now - hit.at < SIZED_TTL_MS) return hit.sized;
    const sized = fleetSizedBySdfleet(o.k, fleet);
    this.#sized.set(fleet, { sized, at: now });
    sized.catch(() => this.#sized.delete(fleet));
    return sized;
  }

  async #shrink(fleet: string, status: Required<ReviewStatus>): Promise<void> {
    const o = this.#o;
    try {
      const spec = o.specReplicas(fleet);
      if (spec === undefined) return;
      const r = await o.decide.release({ namespace: o.k.namespace, name: fleet }, { specReplicas: spec, status });
      if (!r?.shrink) return;
      if (!(await this.#isSized(fleet))) {
        o.log.debug({ fleet }, "release-time shrink: not sdfleet's webhook's Fleet (no Webhook FleetAutoscaler at its path); left as it is");
        return;
      }
      await this.#write(fleet, 'shrink', spec, r.replicas);
    } catch (err) {
      this.#failed(fleet, 'shrink', err);
    }
  }

  async #raise(fleet: string): Promise<void> {
    const o = this.#o;
    try {
      const spec = o.specReplicas(fleet);
      if (spec === undefined) return;
      // Listed (and cached) first: a Fleet no FleetAutoscaler of sdfleet's sizes costs no decision.
      if (!(await this.#isSized(fleet))) return;
      const status = fleetStatusOf(fleet, o.gameServers());
      const r = await o.decide.arrival({ namespace: o.k.namespace, name: fleet }, { specReplicas: spec, status });
      if (!r?.grow) return;
      await this.#write(fleet, 'grow', spec, r.replicas);
    } catch (err) {
      this.#failed(fleet, 'grow', err);
    }
  }

  /** The conditional write of either step, counted and logged. */
  async #write(fleet: string, step: keyof typeof STEPS, from: number, to: number): Promise<void> {
    const result = await setFleetReplicas(this.#o.k, fleet, from, to);
    this.#o.onResize?.(fleet, step, result);
    this.#o.log[result === 'set' ? 'info' : 'debug']({ fleet, from, to, result }, `${STEPS[step].name}: ${result === 'set' ? STEPS[step].done : result}`);
  }

  /** A step that failed is left to what happens otherwise (STEPS), counted and logged. */
  #failed(fleet: string, step: keyof typeof STEPS, err: unknown): void {
    this.#o.onResize?.(fleet, step, 'failed');
    this.#o.log.warn({ fleet, err: errorMessage(err) }, `${STEPS[step].name} failed; left to the sync`);
  }
}
