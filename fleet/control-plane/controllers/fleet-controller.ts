import { createHash } from 'node:crypto';
import type { Logger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Fleet, GameServer } from '../../agones/types.ts';
import { LABEL_FLEET, LABEL_GAMESERVERSET } from '../../agones/types.ts';
import { RESOURCES } from '../resources/registry.ts';
import { KeyJoiner } from '../store/index-keys.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';
import type { EventRecorder } from './events.ts';
import { computeFleetActions, countStates, type FleetCounts } from './fleet-decision.ts';
import { keyOf, splitKey } from './gameserver-controller.ts';
import { WorkQueue } from './workqueue.ts';

/** Label with the hash of the Fleet template a GameServer was made from. */
export const LABEL_TEMPLATE_HASH = 'sdfleet.dev/template-hash';
const FLEET_INDEX = 'fleet';
/** `<ns>/<fleet>\0<template hash>\0<state, or "deleting">`: counted, never listed. */
const FLEET_STATE_INDEX = 'fleet-state';
/** Every state a counted GameServer can be in ('' before its first). */
const STATES = ['', 'PortAllocation', 'Creating', 'Starting', 'Scheduled', 'RequestReady', 'Ready', 'Shutdown', 'Error', 'Unhealthy', 'Reserved', 'Allocated', 'deleting'] as const;
/** `<ns>/<fleet>`, and that `\0<template hash>` then `\0<state>`: the indexes' values. */
const nsFleet = new KeyJoiner('/');
const nulJoin = new KeyJoiner('\0');
const NO_KEYS: readonly string[] = Object.freeze([]);
/** The GameServer's `[<ns>/<fleet>]`, the same array each time; [] when it has no Fleet. */
const fleetKeysOf = (gs: KubeObject): readonly string[] => {
  const fleet = gs.metadata.labels?.[LABEL_FLEET];
  return fleet ? nsFleet.one(gs.metadata.namespace ?? 'default', fleet) : NO_KEYS;
};

export interface FleetControllerOptions {
  store: ObjectStore;
  events: EventRecorder;
  log: Logger;
  /** Creations and deletions per pass; the rest follows in the next pass. Default 64. */
  maxPerPass?: number;
}

/** A stable hash of the Fleet's GameServer template: a new one rolls new GameServers in. */
export function templateHash(template: unknown): string {
  return createHash('sha256').update(stableJson(template)).digest('hex').slice(0, 10);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Fleet → GameServers `<fleet>-<suffix>`, labelled agones.dev/fleet and owned by the
 * Fleet: scaled to spec.replicas, rolled to a new template, counted into status. The
 * decisions come from `computeFleetActions`; this class carries them out.
 */
export class FleetController {
  readonly #o: FleetControllerOptions;
  readonly #queue: WorkQueue;
  #unsubscribe: (() => void) | undefined;

  constructor(o: FleetControllerOptions) {
    this.#o = o;
    // A Fleet's reconcile reads all its GameServers: every allocation changes one, so at
    // most one run per 50 ms merges a burst of them (O(n) once, not once per allocation).
    this.#queue = new WorkQueue({ name: 'fleets', handler: (k) => this.#reconcile(k), log: o.log, minIntervalMs: 50 });
    o.store.addIndex(RESOURCES.gameServers, FLEET_INDEX, fleetKeysOf);
    o.store.addIndex(RESOURCES.gameServers, FLEET_STATE_INDEX, (gs) => {
      const keys = fleetKeysOf(gs);
      if (keys.length === 0) return NO_KEYS;
      const state = gs.metadata.deletionTimestamp ? 'deleting' : ((gs as unknown as GameServer).status?.state ?? '');
      return nulJoin.one(nulJoin.text(keys[0]!, gs.metadata.labels?.[LABEL_TEMPLATE_HASH] ?? ''), state);
    });
  }

  start(): void {
    this.#unsubscribe = this.#o.store.onChange((e) => {
      if (e.resource === RESOURCES.fleets) this.#queue.enqueue(keyOf(e.object));
      else if (e.resource === RESOURCES.gameServers) {
        const fleet = e.object.metadata.labels?.[LABEL_FLEET] ?? e.oldObject?.metadata.labels?.[LABEL_FLEET];
        if (fleet) this.#queue.enqueue(nsFleet.text(e.object.metadata.namespace ?? 'default', fleet));
      }
    });
    for (const f of this.#o.store.list(RESOURCES.fleets).items) this.#queue.enqueue(keyOf(f));
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#queue.stop();
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    const obj = this.#o.store.tryGet(RESOURCES.fleets, ns, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const fleet = obj as unknown as Fleet;
    const hash = templateHash(fleet.spec.template);
    if (this.#steady(key, ns, name, obj, fleet, hash)) return;
    const gameServers = this.#o.store.byIndex(RESOURCES.gameServers, FLEET_INDEX, key) as unknown as GameServer[];
    const actions = computeFleetActions({
      fleet,
      gameServers,
      hashOf: (gs) => gs.metadata.labels?.[LABEL_TEMPLATE_HASH],
      currentHash: hash,
      maxPerPass: this.#o.maxPerPass ?? 64,
    });

    this.#carryOut(key, ns, obj, fleet, hash, actions.create, actions.delete);

    // Counts after this pass's changes; the GameServer events re-enqueue the Fleet anyway.
    const now = this.#o.store.byIndex(RESOURCES.gameServers, FLEET_INDEX, key) as unknown as GameServer[];
    const counts = countStates(now.filter((gs) => !gs.metadata.deletionTimestamp));
    this.#writeStatus(key, ns, name, counts);
  }

  /**
   * The common case, from counts alone (no pass over the Fleet's GameServers): every one is
   * of the current template, none is dead, and no scale-down is due, so the only action is
   * to create what is missing. False when anything else may be needed: the full pass
   * (computeFleetActions) decides then.
   */
  #steady(key: string, ns: string, name: string, obj: KubeObject, fleet: Fleet, hash: string): boolean {
    const store = this.#o.store;
    const n: Record<string, number> = {};
    let counted = 0;
    for (const s of STATES) {
      n[s] = store.indexSize(RESOURCES.gameServers, FLEET_STATE_INDEX, nulJoin.text(nulJoin.text(key, hash), s));
      counted += n[s]!;
    }
    // Another template's, or a state this list does not know: the full pass.
    if (counted !== store.indexSize(RESOURCES.gameServers, FLEET_INDEX, key)) return false;
    if (n.Unhealthy! + n.Error! + n.Shutdown! > 0) return false;
    const live = counted - n.deleting!;
    const pinned = n.Allocated! + n.Reserved!;
    const want = Math.max(0, Math.max(0, fleet.spec.replicas ?? 0) - pinned);
    if (live - pinned > want) return false;
    const create = Math.min(want - (live - pinned), this.#o.maxPerPass ?? 64);
    this.#carryOut(key, ns, obj, fleet, hash, create, []);
    this.#writeStatus(key, ns, name, { replicas: live + create, readyReplicas: n.Ready!, reservedReplicas: n.Reserved!, allocatedReplicas: n.Allocated! });
    return true;
  }

  /** Deletes and creates what a pass decided, with the log line and the events. */
  #carryOut(key: string, ns: string, obj: KubeObject, fleet: Fleet, hash: string, create: number, deletes: { name: string; reason: string }[]): void {
    for (const d of deletes) {
      try {
        this.#o.store.delete(RESOURCES.gameServers, ns, d.name);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    for (let i = 0; i < create; i++) this.#o.store.create(RESOURCES.gameServers, this.#newGameServer(obj, fleet, hash));
    if (create === 0 && deletes.length === 0) return;
    this.#o.log.debug({ fleet: key, created: create, deleted: deletes.length }, 'fleet reconciled');
    if (create > 0) this.#o.events.record(obj, 'Normal', 'CreatingGameServers', `Created ${create} GameServers`);
    const scaledDown = deletes.filter((d) => d.reason === 'scale down').length;
    if (scaledDown > 0) this.#o.events.record(obj, 'Normal', 'ScalingGameServerSet', `Deleted ${scaledDown} GameServers to scale down`);
  }

  #writeStatus(key: string, ns: string, name: string, counts: FleetCounts): void {
    try {
      this.#o.store.mutate(RESOURCES.fleets, ns, name, (copy) => {
        const st = (copy.status ?? {}) as Record<string, unknown>;
        const selector = `${LABEL_FLEET}=${name}`;
        if (st.replicas === counts.replicas && st.readyReplicas === counts.readyReplicas && st.reservedReplicas === counts.reservedReplicas
          && st.allocatedReplicas === counts.allocatedReplicas && st.labelSelector === selector) return undefined;
        copy.status = { ...st, ...counts, labelSelector: selector };
        return copy;
      }, { subresource: 'status' });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) this.#o.log.warn({ fleet: key, err: errorMessage(err) }, 'could not update fleet status');
    }
  }

  #newGameServer(fleetObj: KubeObject, fleet: Fleet, hash: string): KubeObject {
    const name = fleet.metadata.name!;
    const t = fleet.spec.template;
    return {
      apiVersion: 'agones.dev/v1',
      kind: 'GameServer',
      metadata: {
        generateName: `${name}-`,
        namespace: fleet.metadata.namespace ?? 'default',
        labels: { ...t.metadata?.labels, [LABEL_FLEET]: name, [LABEL_GAMESERVERSET]: `${name}-${hash.slice(0, 5)}`, [LABEL_TEMPLATE_HASH]: hash },
        annotations: { ...t.metadata?.annotations },
        ownerReferences: [{ apiVersion: 'agones.dev/v1', kind: 'Fleet', name, uid: fleetObj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(t.spec) as Record<string, unknown>,
    };
  }
}
