import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GameServer, GameServerState } from '../../agones/types.ts';
import { applyAllocation, matchesLabels, pickGameServer, selectorsOf } from './allocation-decision.ts';

function gs(name: string, state: GameServerState, labels: Record<string, string> = {}, created = name): GameServer {
  return { metadata: { name, labels, creationTimestamp: `2026-01-01T00:00:${created.padStart(2, '0')}Z` }, spec: {}, status: { state } };
}
const pool = [
  gs('10', 'Ready', { model: 'sdxl', gpu: 'l4' }),
  gs('05', 'Ready', { model: 'sd15', gpu: 'l4' }),
  gs('07', 'Ready', { model: 'sd15', gpu: 't4' }),
  gs('01', 'Allocated', { model: 'sd15' }),
  gs('02', 'Starting', { model: 'sd15' }),
];
const byState = (s: GameServerState) => pool.filter((g) => g.status?.state === s);

describe('allocation decision', () => {
  const table: { name: string; spec: Parameters<typeof pickGameServer>[0]; want: string | undefined; selector?: number }[] = [
    { name: 'no selector: the oldest Ready', spec: {}, want: '05' },
    { name: 'matchLabels', spec: { selectors: [{ matchLabels: { model: 'sdxl' } }] }, want: '10' },
    { name: 'first selector that matches wins', spec: { selectors: [{ matchLabels: { model: 'none' } }, { matchLabels: { gpu: 't4' } }] }, want: '07', selector: 1 },
    { name: 'In', spec: { selectors: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['t4', 'a100'] }] }] }, want: '07' },
    { name: 'NotIn', spec: { selectors: [{ matchExpressions: [{ key: 'model', operator: 'NotIn', values: ['sd15'] }] }] }, want: '10' },
    { name: 'DoesNotExist', spec: { selectors: [{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }] }, want: undefined },
    { name: 'Exists', spec: { selectors: [{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }] }, want: '05' },
    { name: 'gameServerState Allocated', spec: { selectors: [{ gameServerState: 'Allocated' }] }, want: '01' },
    { name: 'no match: undefined (UnAllocated)', spec: { selectors: [{ matchLabels: { model: 'flux' } }] }, want: undefined },
    { name: 'deprecated required/preferred: preferred first', spec: { required: { matchLabels: { model: 'sd15' } }, preferred: [{ matchLabels: { model: 'sdxl' } }] }, want: '10' },
  ];
  for (const t of table) {
    it(t.name, () => {
      const p = pickGameServer(t.spec, byState);
      assert.equal(p?.gameServer.metadata.name, t.want);
      if (t.selector !== undefined) assert.equal(p?.selector, t.selector);
    });
  }

  it('Distributed picks among the matches at random', () => {
    const seen = new Set<string>();
    for (const r of [0, 0.4, 0.9]) seen.add(pickGameServer({ scheduling: 'Distributed' }, byState, () => r)!.gameServer.metadata.name!);
    assert.deepEqual([...seen].sort(), ['05', '07', '10']);
  });

  it('never picks a GameServer being deleted', () => {
    const dying = { ...gs('00', 'Ready'), metadata: { ...gs('00', 'Ready').metadata, deletionTimestamp: 'x' } };
    assert.equal(pickGameServer({}, () => [dying]), undefined);
  });

  it('applies state and metadata', () => {
    const out = applyAllocation(structuredClone(pool[0]!), { metadata: { labels: { 'sdfleet.dev/user': 'u1' }, annotations: { a: 'b' } } }, new Date('2026-01-02T00:00:00Z'));
    assert.equal(out.status?.state, 'Allocated');
    assert.equal(out.metadata.labels?.['sdfleet.dev/user'], 'u1');
    assert.equal(out.metadata.labels?.model, 'sdxl');
    assert.equal(out.metadata.annotations?.['agones.dev/last-allocated'], '2026-01-02T00:00:00.000Z');
  });

  it('label matching and selector order helpers', () => {
    assert.equal(matchesLabels(undefined, {}), true);
    assert.equal(matchesLabels({ a: '1' }, { matchLabels: { a: '2' } }), false);
    assert.equal(selectorsOf({}).length, 1);
  });
});
