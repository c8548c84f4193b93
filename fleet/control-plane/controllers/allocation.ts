import type { Logger } from '../../../common/log.ts';
import type { GameServer, GameServerState } from '../../agones/types.ts';
import { RESOURCES } from '../resources/registry.ts';
import { KeyJoiner } from '../store/index-keys.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';
import { applyAllocation, comparePacked, pickGameServer, type AllocationSpec } from './allocation-decision.ts';

const STATE_INDEX = 'state';
const OLDEST_FIRST = { candidatesOldestFirst: true } as const;
/** `<ns>/<state>`, the state index's values. */
const nsState = new KeyJoiner('/');

/** The GameServers of a namespace in a state, oldest first (the index is ordered as Packed picks). */
function candidatesIn(store: ObjectStore, ns: string, state: GameServerState): Iterable<GameServer> {
  return store.scanIndex(RESOURCES.gameServers, STATE_INDEX, nsState.text(ns, state)) as Iterable<unknown> as Iterable<GameServer>;
}

/**
 * The GameServerAllocation create handler: picks and allocates in one synchronous step
 * (pick, then `mutate` the chosen GameServer), so under any concurrency no GameServer
 * goes to two allocations; answers as Agones does, 201 with status.state Allocated or
 * UnAllocated.
 */
export function allocationHandler(o: { store: ObjectStore; log: Logger; now?: () => Date; onResult?: (state: 'Allocated' | 'UnAllocated') => void }) {
  // Ordered as Packed picks (oldest first): the pick is the first match, not a scan of the pool.
  o.store.addIndex(RESOURCES.gameServers, STATE_INDEX, (gs) => nsState.one(gs.metadata.namespace ?? 'default', (gs as unknown as GameServer).status?.state ?? ''), { orderBy: comparePacked });
  return (obj: KubeObject): KubeObject => {
    const ns = obj.metadata.namespace ?? 'default';
    const spec = (obj.spec ?? {}) as AllocationSpec;
    const now = (o.now ?? (() => new Date()))();
    // pick and mutate run in the same turn of the event loop: nothing can come between them.
    const pick = pickGameServer(spec, (state) => candidatesIn(o.store, ns, state), Math.random, OLDEST_FIRST);
    if (!pick) {
      o.onResult?.('UnAllocated');
      return { ...obj, metadata: { ...obj.metadata, namespace: ns, creationTimestamp: now.toISOString() }, status: { state: 'UnAllocated' } };
    }
    const want = pick.gameServer.status?.state;
    // derive, not mutate: the new version shares the unchanged parts (spec, ports, …) with the stored one.
    const stored = o.store.derive(RESOURCES.gameServers, ns, pick.gameServer.metadata.name!, (current) => {
      const gs = current as unknown as GameServer;
      if (gs.status?.state !== want || gs.metadata.deletionTimestamp) throw new Error('allocation raced a change of the GameServer');
      return applyAllocation(gs, spec, now) as unknown as KubeObject;
    }) as unknown as GameServer;
    o.onResult?.('Allocated');
    return {
      ...obj,
      metadata: { ...obj.metadata, name: stored.metadata.name, namespace: ns, creationTimestamp: now.toISOString() },
      status: {
        state: 'Allocated',
        gameServerName: stored.metadata.name,
        ports: stored.status?.ports ?? [],
        address: stored.status?.address ?? '',
        addresses: stored.status?.addresses ?? [],
        nodeName: stored.status?.nodeName ?? '',
        source: 'local',
        metadata: { labels: stored.metadata.labels ?? {}, annotations: stored.metadata.annotations ?? {} },
      },
    };
  };
}
