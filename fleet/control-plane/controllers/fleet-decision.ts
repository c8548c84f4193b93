/**
 * What a Fleet needs done, decided from the Fleet and its GameServers alone (no I/O), as
 * Agones' GameServerSet controller decides in computeReconciliationAction. The caller
 * carries the actions out.
 */
import type { Fleet, GameServer, GameServerState } from '../../agones/types.ts';

export interface FleetActions {
  /** How many GameServers to create from the current template. */
  create: number;
  /** GameServers to delete, with why. */
  delete: { name: string; reason: string }[];
  status: FleetCounts;
}

export interface FleetCounts {
  replicas: number;
  readyReplicas: number;
  reservedReplicas: number;
  allocatedReplicas: number;
}

/** States the Fleet never deletes to scale down or roll: someone is using them. */
const PINNED = new Set<GameServerState | undefined>(['Allocated', 'Reserved']);
/** States that mean the GameServer is over and must be replaced. */
const DEAD = new Set<GameServerState | undefined>(['Unhealthy', 'Error', 'Shutdown']);
/** States before Ready: scale-down takes these first. */
const NOT_YET_READY = new Set<GameServerState | undefined>([undefined, 'PortAllocation', 'Creating', 'Starting', 'Scheduled', 'RequestReady']);

export interface FleetDecisionInput {
  fleet: Fleet;
  /** The Fleet's GameServers (label agones.dev/fleet), in any order. */
  gameServers: GameServer[];
  /** Template hash of each GameServer (see templateHash); the current one is `currentHash`. */
  hashOf: (gs: GameServer) => string | undefined;
  currentHash: string;
  /** Most creations and deletions in one pass. Default 64. */
  maxPerPass?: number;
}

/** An int or "N%" of `total`: rounding up for surge, down for unavailable, as Kubernetes. */
export function resolveIntOrPercent(v: number | string | undefined, total: number, fallback: string, roundUp: boolean): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return Math.max(0, Math.floor(value));
  const m = /^(\d+)%$/.exec(value.trim());
  if (!m) return Math.max(0, Math.floor(Number(value)) || 0);
  const x = (Number(m[1]) / 100) * total;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function computeFleetActions(input: FleetDecisionInput): FleetActions {
  const { fleet, gameServers, hashOf, currentHash } = input;
  const cap = input.maxPerPass ?? 64;
  const desired = Math.max(0, fleet.spec.replicas ?? 0);
  const del: { name: string; reason: string }[] = [];

  // One pass over the GameServers (a Fleet may have thousands, and this runs after every
  // burst of allocations): each one's state and hash is read once.
  let ready = 0;
  let reserved = 0;
  let allocated = 0;
  let liveCount = 0;
  let activeCount = 0;
  let pinnedCount = 0;
  let readyUnpinned = 0;
  const current: GameServer[] = [];
  const old: GameServer[] = [];
  for (const gs of gameServers) {
    if (gs.metadata.deletionTimestamp) continue;
    liveCount++;
    const state = gs.status?.state;
    if (state === 'Ready') ready++;
    else if (state === 'Reserved') reserved++;
    else if (state === 'Allocated') allocated++;
    // Dead GameServers go first, whatever else happens.
    if (DEAD.has(state)) {
      del.push({ name: gs.metadata.name!, reason: `${state}` });
      continue;
    }
    activeCount++;
    if (PINNED.has(state)) {
      pinnedCount++;
      continue;
    }
    if (state === 'Ready') readyUnpinned++;
    (hashOf(gs) === currentHash ? current : old).push(gs);
  }
  const status: FleetCounts = { replicas: liveCount, readyReplicas: ready, reservedReplicas: reserved, allocatedReplicas: allocated };

  // Allocated and Reserved count towards the replicas; the rest fills up to them.
  const wantUnpinned = Math.max(0, desired - pinnedCount);
  let create = 0;

  if (old.length === 0) {
    if (current.length < wantUnpinned) create = wantUnpinned - current.length;
    else if (current.length > wantUnpinned) {
      for (const gs of scaleDownOrder(current).slice(0, current.length - wantUnpinned)) {
        del.push({ name: gs.metadata.name!, reason: 'scale down' });
      }
    }
  } else if (fleet.spec.strategy?.type === 'Recreate') {
    for (const gs of old) del.push({ name: gs.metadata.name!, reason: 'template changed (Recreate)' });
    create = Math.max(0, wantUnpinned - current.length);
  } else {
    // RollingUpdate: surge above the replicas with new ones; retire old ones while enough
    // stay Ready that at most maxUnavailable of the wanted ones are missing.
    const surge = resolveIntOrPercent(fleet.spec.strategy?.rollingUpdate?.maxSurge, desired, '25%', true);
    let unavailable = resolveIntOrPercent(fleet.spec.strategy?.rollingUpdate?.maxUnavailable, desired, '25%', false);
    if (surge === 0 && unavailable === 0) unavailable = 1;
    const total = activeCount;
    const room = Math.max(0, desired + surge - total);
    create = Math.max(0, Math.min(wantUnpinned - current.length, room));
    const readyNow = readyUnpinned;
    const minReady = Math.max(0, wantUnpinned - unavailable);
    let canRetireReady = Math.max(0, readyNow - minReady);
    // Too many in all: old ones beyond what is wanted go regardless of readiness.
    let excess = Math.max(0, current.length + old.length - wantUnpinned);
    for (const gs of scaleDownOrder(old)) {
      const ready = gs.status?.state === 'Ready';
      if (!ready) {
        del.push({ name: gs.metadata.name!, reason: 'rolling update' });
        excess -= 1;
      } else if (canRetireReady > 0 || excess > 0) {
        del.push({ name: gs.metadata.name!, reason: 'rolling update' });
        canRetireReady -= 1;
        excess -= 1;
      }
    }
  }

  return { create: Math.min(create, cap), delete: del.slice(0, cap), status };
}

/** Not-yet-Ready first (the newest of them first), then Ready ones, newest first. */
export function scaleDownOrder(gss: GameServer[]): GameServer[] {
  // Keys computed once per GameServer, not once per comparison.
  const keyed = gss.map((gs) => ({
    gs,
    rank: NOT_YET_READY.has(gs.status?.state) ? 0 : 1,
    created: Date.parse(gs.metadata.creationTimestamp ?? '') || 0,
    name: gs.metadata.name ?? '',
  }));
  keyed.sort((a, b) => a.rank - b.rank || b.created - a.created || (b.name < a.name ? -1 : b.name > a.name ? 1 : 0));
  return keyed.map((k) => k.gs);
}

export function countStates(gss: GameServer[]): FleetCounts {
  let ready = 0;
  let reserved = 0;
  let allocated = 0;
  for (const gs of gss) {
    const s = gs.status?.state;
    if (s === 'Ready') ready++;
    else if (s === 'Reserved') reserved++;
    else if (s === 'Allocated') allocated++;
  }
  return { replicas: gss.length, readyReplicas: ready, reservedReplicas: reserved, allocatedReplicas: allocated };
}
