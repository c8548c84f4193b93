/**
 * Release-time shrink, the allocator's side (fleet/autoscaler/release.ts; the design and
 * its races in fleet/autoscaler/README.md). When the leader sees a GameServer of a fleet
 * leave Allocated (Shutdown, Unhealthy, Error, or deleted), it asks the autoscaler
 * whether the freed slot should be refilled and, when not, lowers the Fleet's
 * spec.replicas by one, conditionally on the value it decided against.
 */
import type { GameServer } from '../../fleet/agones/types.ts';
import { LABEL_FLEET } from '../../fleet/agones/types.ts';
import type { ReviewStatus } from '../../fleet/autoscaler/policy.ts';
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

interface FleetAutoscalerObject {
  spec?: { fleetName?: string; policy?: { type?: string; webhook?: { url?: string; service?: { path?: string } } } };
}

/**
 * Whether the FleetAutoscaler sizes `fleet` with sdfleet's demand-aware webhook (the
 * Webhook policy at WEBHOOK_PATH, by URL or service reference). Only such a Fleet is
 * lowered at a release: a Fleet with fixed replicas, the Buffer policy or another webhook
 * would never be raised again by this policy. Pure.
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

export type LowerResult = 'lowered' | 'changed' | 'conflict' | 'gone';

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
export async function lowerFleetReplicas(k: Pick<KubeClients, 'custom' | 'namespace'>, fleet: string, from: number, to: number, attempts = 3): Promise<LowerResult> {
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
      return 'lowered';
    } catch (err) {
      if (statusOf(err) === 404) return 'gone';
      if (statusOf(err) !== 409) throw err;
    }
  }
  return 'conflict';
}

export interface ReleaseShrinkerOptions {
  k: Pick<KubeClients, 'custom' | 'namespace'>;
  /** The autoscaler's decision (AutoscalerService.release). */
  decide: (ref: { namespace: string; name: string }, fleet: { specReplicas: number; status: ReviewStatus }) => Promise<ReleaseShrink | undefined>;
  /** The fleet's spec.replicas from the informer's cache; undefined when unknown. */
  specReplicas: (fleet: string) => number | undefined;
  /** Every GameServer of the namespace as last seen. */
  gameServers: () => readonly GameServer[];
  /** Only the leader acts (one PATCH per release, not one per replica). */
  isLeader: () => boolean;
  /** Whether the fleet is sized by sdfleet's webhook; default: its FleetAutoscalers read through `k` (fleetSizedBySdfleet). */
  sizedBySdfleet?: (fleet: string) => Promise<boolean>;
  log: Logger;
}

/** Feeds on the GameServer informer's changes; one release at a time per fleet. */
export class ReleaseShrinker {
  readonly #o: ReleaseShrinkerOptions;
  readonly #busy = new Map<string, Promise<void>>();

  constructor(o: ReleaseShrinkerOptions) {
    this.#o = o;
  }

  /** A GameServer changed (`next` undefined: deleted). Resolves when any shrink it caused is done. */
  changed(prev: GameServer | undefined, next: GameServer | undefined): Promise<void> {
    const fleet = endedSessionFleet(prev, next);
    if (!fleet || !this.#o.isLeader()) return Promise.resolve();
    // The Fleet as it is right after the release, counted now: the Fleet controller saw the
    // same change and its replacement is the informer's next event (or in the same chunk);
    // counted later, the replacement would read as "the Fleet would not refill".
    const status = fleetStatusOf(fleet, this.#o.gameServers());
    const run = (this.#busy.get(fleet) ?? Promise.resolve()).then(() => this.#shrink(fleet, status));
    const tracked = run.finally(() => {
      if (this.#busy.get(fleet) === tracked) this.#busy.delete(fleet);
    });
    this.#busy.set(fleet, tracked);
    return tracked;
  }

  async #shrink(fleet: string, status: Required<ReviewStatus>): Promise<void> {
    const o = this.#o;
    try {
      const spec = o.specReplicas(fleet);
      if (spec === undefined) return;
      const r = await o.decide({ namespace: o.k.namespace, name: fleet }, { specReplicas: spec, status });
      if (!r?.shrink) return;
      if (!(await (o.sizedBySdfleet ?? ((f) => fleetSizedBySdfleet(o.k, f)))(fleet))) {
        o.log.debug({ fleet }, "release-time shrink: not sdfleet's webhook's Fleet (no Webhook FleetAutoscaler at its path); left as it is");
        return;
      }
      const result = await lowerFleetReplicas(o.k, fleet, spec, r.replicas);
      o.log[result === 'lowered' ? 'info' : 'debug']({ fleet, from: spec, to: r.replicas, result }, `release-time shrink: ${result}`);
    } catch (err) {
      // The Fleet refills as Agones would; the next sync corrects it.
      o.log.warn({ fleet, err: errorMessage(err) }, 'release-time shrink failed; left to the sync');
    }
  }
}
