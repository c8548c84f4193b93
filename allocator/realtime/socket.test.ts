import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GameServer } from '../../fleet/agones/types.ts';
import { movesCounts } from './socket.ts';

const gs = (state: string, o: { labels?: Record<string, string>; annotations?: Record<string, string>; deleting?: boolean } = {}): GameServer => ({
  apiVersion: 'agones.dev/v1', kind: 'GameServer',
  metadata: { name: 'gs-1', labels: o.labels ?? { 'agones.dev/fleet': 'sd-webui' }, annotations: o.annotations ?? {}, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { state },
} as unknown as GameServer);

describe('movesCounts: which GameServer changes can move the `fleet` counts', () => {
  const cases: [string, GameServer | undefined, GameServer | undefined, boolean][] = [
    ['a Fleet or FleetAutoscaler changed (no GameServer)', undefined, undefined, false],
    ['added (or removed)', gs('Creating'), undefined, true],
    ['another state', gs('Allocated'), gs('Ready'), true],
    ['being deleted', gs('Ready', { deleting: true }), gs('Ready'), true],
    ['relabelled', gs('Ready', { labels: { 'agones.dev/fleet': 'other' } }), gs('Ready'), true],
    ['a label added', gs('Ready', { labels: { 'agones.dev/fleet': 'sd-webui', extra: 'x' } }), gs('Ready'), true],
    ['activity annotations only', gs('Allocated', { annotations: { 'sdfleet.dev/last-traffic': 'now' } }), gs('Allocated'), false],
  ];
  for (const [what, now, prev, moves] of cases) {
    it(`${what}: ${moves ? 'may move them' : 'moves nothing'}`, () => assert.equal(movesCounts(now, prev), moves));
  }
});
