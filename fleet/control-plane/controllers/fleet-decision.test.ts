import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fleet, GameServer, GameServerState } from '../../agones/types.ts';
import { computeFleetActions, resolveIntOrPercent, scaleDownOrder } from './fleet-decision.ts';

let n = 0;
function gs(state: GameServerState | undefined, hash = 'h1', extra: Partial<GameServer['metadata']> = {}): GameServer {
  n += 1;
  return {
    metadata: { name: `f-${String(n).padStart(3, '0')}`, creationTimestamp: new Date(1_700_000_000_000 + n * 1000).toISOString(), labels: { hash }, ...extra },
    spec: {},
    status: state ? { state } : {},
  };
}
function fleet(replicas: number, strategy?: Fleet['spec']['strategy']): Fleet {
  return { metadata: { name: 'f' }, spec: { replicas, template: { spec: {} }, ...(strategy ? { strategy } : {}) } };
}
const decide = (f: Fleet, list: GameServer[], currentHash = 'h1') =>
  computeFleetActions({ fleet: f, gameServers: list, hashOf: (g) => g.metadata.labels?.hash, currentHash });

describe('computeFleetActions', () => {
  const table: { name: string; fleet: Fleet; gss: () => GameServer[]; hash?: string; create: number; deleteStates: (string | undefined)[] }[] = [
    { name: 'empty fleet scales up', fleet: fleet(3), gss: () => [], create: 3, deleteStates: [] },
    { name: 'at size: nothing', fleet: fleet(2), gss: () => [gs('Ready'), gs('Starting')], create: 0, deleteStates: [] },
    { name: 'allocated count towards replicas', fleet: fleet(3), gss: () => [gs('Allocated'), gs('Allocated'), gs('Ready')], create: 0, deleteStates: [] },
    { name: 'scale down never deletes Allocated or Reserved', fleet: fleet(0), gss: () => [gs('Allocated'), gs('Reserved'), gs('Ready')], create: 0, deleteStates: ['Ready'] },
    { name: 'scale down removes not-yet-Ready before Ready', fleet: fleet(2), gss: () => [gs('Ready'), gs('Ready'), gs('Starting'), gs('Scheduled')], create: 0, deleteStates: ['Scheduled', 'Starting'] },
    { name: 'unhealthy are deleted and replaced', fleet: fleet(2), gss: () => [gs('Unhealthy'), gs('Ready')], create: 1, deleteStates: ['Unhealthy'] },
    { name: 'Shutdown and Error are deleted', fleet: fleet(1), gss: () => [gs('Shutdown'), gs('Error')], create: 1, deleteStates: ['Shutdown', 'Error'] },
    { name: 'more allocated than replicas: nothing to create, nothing deleted', fleet: fleet(1), gss: () => [gs('Allocated'), gs('Allocated')], create: 0, deleteStates: [] },
    { name: 'GameServers being deleted are not counted', fleet: fleet(2), gss: () => [gs('Ready', 'h1', { deletionTimestamp: '2026-01-01T00:00:00Z' }), gs('Ready')], create: 1, deleteStates: [] },
    { name: 'rolling update: one new over the size, one old Ready retired (25% of 4), allocated old one kept', fleet: fleet(4), hash: 'h2', gss: () => [gs('Ready'), gs('Ready'), gs('Ready'), gs('Allocated')], create: 1, deleteStates: ['Ready'] },
    { name: 'rolling update: old not-ready go at once', fleet: fleet(2), hash: 'h2', gss: () => [gs('Starting'), gs('Ready', 'h2'), gs('Ready', 'h2')], create: 0, deleteStates: ['Starting'] },
    { name: 'recreate: all old unpinned go, new ones come', fleet: fleet(3, { type: 'Recreate' }), hash: 'h2', gss: () => [gs('Ready'), gs('Ready'), gs('Allocated')], create: 2, deleteStates: ['Ready', 'Ready'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const list = t.gss();
      const a = decide(t.fleet, list, t.hash ?? 'h1');
      assert.equal(a.create, t.create, 'create');
      const states = a.delete.map((d) => list.find((g) => g.metadata.name === d.name)?.status?.state);
      assert.deepEqual(states.sort(), [...t.deleteStates].sort(), 'deleted states');
    });
  }

  it('rolling update converges: step by step, all old Ready ones replaced, Allocated kept', () => {
    let list = [gs('Ready'), gs('Ready'), gs('Ready'), gs('Ready'), gs('Allocated')];
    const f = fleet(5);
    for (let step = 0; step < 20; step++) {
      const a = decide(f, list, 'h2');
      const gone = new Set(a.delete.map((d) => d.name));
      list = list.filter((g) => !gone.has(g.metadata.name!));
      for (let i = 0; i < a.create; i++) list.push(gs('Ready', 'h2'));
      const readyUnpinned = list.filter((g) => g.status?.state === 'Ready').length;
      assert.ok(readyUnpinned >= 3, `step ${step}: ${readyUnpinned} Ready, at most 25% of 4 unavailable`);
      assert.ok(list.length <= 5 + 2, `step ${step}: ${list.length} in all, surge of 25% of 5 = 2`);
    }
    assert.equal(list.filter((g) => g.metadata.labels?.hash === 'h1' && g.status?.state === 'Ready').length, 0);
    assert.equal(list.filter((g) => g.status?.state === 'Allocated').length, 1);
    assert.equal(list.filter((g) => g.metadata.labels?.hash === 'h2').length, 4);
  });

  it('caps each pass', () => {
    const a = computeFleetActions({ fleet: fleet(500), gameServers: [], hashOf: () => 'h1', currentHash: 'h1', maxPerPass: 64 });
    assert.equal(a.create, 64);
  });

  it('counts states for the status', () => {
    assert.deepEqual(decide(fleet(4), [gs('Ready'), gs('Allocated'), gs('Reserved'), gs('Starting')]).status, {
      replicas: 4, readyReplicas: 1, reservedReplicas: 1, allocatedReplicas: 1,
    });
  });

  it('int-or-percent as Kubernetes rounds it', () => {
    assert.equal(resolveIntOrPercent('25%', 5, '25%', true), 2);
    assert.equal(resolveIntOrPercent('25%', 5, '25%', false), 1);
    assert.equal(resolveIntOrPercent(3, 5, '25%', true), 3);
    assert.equal(resolveIntOrPercent(undefined, 8, '25%', false), 2);
  });

  it('scale-down order: not-ready first, newest first', () => {
    const a = gs('Ready');
    const b = gs('Starting');
    const c = gs('Ready');
    assert.deepEqual(scaleDownOrder([a, b, c]).map((g) => g.metadata.name), [b.metadata.name, c.metadata.name, a.metadata.name]);
  });
});
