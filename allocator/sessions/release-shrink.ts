/**
 * Release-time shrink, the allocator's side (fleet/autoscaler/release.ts; the design and
 * its races in fleet/autoscaler/README.md). When the leader sees a GameServer of a fleet
 * leave Allocated (Shutdown, Unhealthy, Error, or deleted), it asks the autoscaler
 * whether the freed slot should be refilled and, when not, lowers the Fleet's
 * spec.replicas by one, conditionally on the value it decided against.
 */
import type { GameServer, GameServerState } from '../../fleet/agones/types.ts';
import { LABEL_FLEET } from '../../fleet/agones/types.ts';
import type { ReviewStatus } from '../../fleet/autoscaler/policy.ts';
import type { ReleaseShrink } from '../../fleet/autoscaler/release.ts';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { AGONES, mergePatch, statusOf, type KubeClients } from '../kube/clients.ts';

/** States a Fleet does not count: it deletes and replaces them (fleet-decision.ts DEAD). */
const OVER = new Set<GameServerState | undefined>(['Shutdown', 'Unhealthy', 'Error']);

/**
 * The fleet whose session just ended, when `prev` → `next` is a GameServer leaving
 * Allocated (`next` undefined: deleted); else undefined. Pure.
 */
export function endedSessionFleet(prev: GameServer | undefined, next: GameServer | undefined): string | undefined {
  if (prev?.status?.state !== 'Allocated' || prev.metadata.deletionTimestamp) return undefined;
  const fleet = prev.metadata.labels?.[LABEL_FLEET];
  if (!fleet) return undefined;
  if (next === undefined || next.metadata.deletionTimestamp || OVER.has(next.status?.state)) return fleet;
  return undefined;
}

/** The Fleet's status as its controller counts it: GameServers neither over nor being deleted. Pure. */
export function fleetStatusOf(fleet: string, gameServers: readonly GameServer[]): Required<ReviewStatus> {
  const st = { replicas: 0, readyReplicas: 0, reservedReplicas: 0, allocatedReplicas: 0 };
  for (const gs of gameServers) {
    if (gs.metadata.labels?.[LABEL_FLEET] !== fleet || gs.metadata.deletionTimestamp || OVER.has(gs.status?.state)) continue;
    st.replicas++;
    if (gs.status?.state === 'Ready') st.readyReplicas++;
    else if (gs.status?.state === 'Reserved') st.reservedReplicas++;
    else if (gs.status?.state === 'Allocated') st.allocatedReplicas++;
  }
  return st;
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
    const run = (this.#busy.get(fleet) ?? Promise.resolve()).then(() => this.#shrink(fleet));
    const tracked = run.finally(() => {
      if (this.#busy.get(fleet) === tracked) this.#busy.delete(fleet);
    });
    this.#busy.set(fleet, tracked);
    return tracked;
  }

  async #shrink(fleet: string): Promise<void> {
    const o = this.#o;
    try {
      const spec = o.specReplicas(fleet);
      if (spec === undefined) return;
      const r = await o.decide({ namespace: o.k.namespace, name: fleet }, { specReplicas: spec, status: fleetStatusOf(fleet, o.gameServers()) });
      if (!r?.shrink) return;
      const result = await lowerFleetReplicas(o.k, fleet, spec, r.replicas);
      o.log[result === 'lowered' ? 'info' : 'debug']({ fleet, from: spec, to: r.replicas, result }, `release-time shrink: ${result}`);
    } catch (err) {
      // The Fleet refills as Agones would; the next sync corrects it.
      o.log.warn({ fleet, err: errorMessage(err) }, 'release-time shrink failed; left to the sync');
    }
  }
}
