import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_SESSION, SDK_ANNOTATION, sdkKey } from '../agones/metadata.ts';
import type { GameServer, GameServerState } from '../agones/types.ts';
import { coldStartOf, demandOf, readDemand, type DemandViews } from './demand.ts';

const T = Date.UTC(2024, 0, 8, 10);
const iso = (ms: number): string => new Date(ms).toISOString();

function gs(name: string, fleet: string, state: GameServerState, o: { session?: string; allocatedAt?: number; coldMs?: number } = {}): GameServer {
  const annotations: Record<string, string> = {};
  if (o.session) annotations[ANNOTATION_SESSION] = o.session;
  if (o.allocatedAt) annotations[ANNOTATION_ALLOCATED_AT] = iso(o.allocatedAt);
  if (o.coldMs) annotations[sdkKey(SDK_ANNOTATION.phases)] = JSON.stringify({ createdToReadyMs: o.coldMs, webuiStartMs: 1 });
  return { apiVersion: 'agones.dev/v1', kind: 'GameServer', metadata: { name, namespace: 'default', labels: { 'agones.dev/fleet': fleet }, annotations }, spec: {}, status: { state } } as GameServer;
}

const profiles = [
  { name: 'default', selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }] },
  { name: 'xl', selectors: [{ matchLabels: { model: 'sdxl' } }] },
];

describe('demand', () => {
  it("counts the fleet's own queue and sessions, with when each asked", () => {
    const queue = [
      { profile: 'default', sessionId: 'q1', queuedAt: iso(T - 60_000) },
      { profile: 'xl', sessionId: 'q2', queuedAt: iso(T - 30_000) },
      { profile: 'default', sessionId: 'q3', queuedAt: 'garbage' },
    ];
    const gss = [
      gs('a', 'sd-webui', 'Allocated', { session: 's1', allocatedAt: T - 600_000, coldMs: 100_000 }),
      gs('b', 'sd-webui', 'Ready', { coldMs: 200_000 }),
      gs('c', 'sd-webui', 'Ready', { coldMs: 120_000 }),
      gs('d', 'other', 'Allocated', { session: 's9', allocatedAt: T, coldMs: 999_000 }),
    ];
    const d = demandOf({ namespace: 'default', name: 'sd-webui' }, { 'agones.dev/fleet': 'sd-webui' }, queue, gss, profiles);
    assert.equal(d.queued, 2, 'default only; the unparsable time still waits');
    assert.deepEqual(d.sightings, [{ id: 'q1', at: T - 60_000 }, { id: 's1', at: T - 600_000 }]);
    assert.equal(d.coldStartMs, 120_000, 'median of this fleet only');
    assert.equal(d.coldStartSamples, 3);
    const xl = demandOf({ namespace: 'default', name: 'big' }, { 'agones.dev/fleet': 'big', model: 'sdxl' }, queue, gss, profiles);
    assert.equal(xl.queued, 1, 'the profile that selects by template label');
    assert.equal(xl.coldStartMs, undefined);
  });

  it('a user served from the queue is counted once, as the session, while their entry is still being deleted', () => {
    const queue = [
      { profile: 'default', sessionId: 'q1', queuedAt: iso(T - 60_000) },
      { profile: 'default', sessionId: 'q2', queuedAt: iso(T - 30_000) },
      { profile: 'default', sessionId: 'q3', queuedAt: iso(T - 20_000) },
    ];
    const gss = [
      gs('a', 'sd-webui', 'Allocated', { session: 'q1', allocatedAt: T }),
      gs('b', 'other', 'Allocated', { session: 'q2', allocatedAt: T }),
      gs('c', 'sd-webui', 'Ready', { session: 'q3' }),
    ];
    const d = demandOf({ namespace: 'default', name: 'sd-webui' }, { 'agones.dev/fleet': 'sd-webui' }, queue, gss, profiles);
    assert.equal(d.queued, 1, 'q1 holds a session here, q2 on another fleet; q3 only waits (a Ready GameServer holds no session)');
    assert.deepEqual(d.sightings?.map((x) => x.id).sort(), ['q1', 'q3'], "q1 once (the session's sighting); q2's session is another fleet's");
  });

  it('reads a bad phase annotation as none', () => {
    const g = gs('a', 'f', 'Ready');
    g.metadata.annotations![sdkKey(SDK_ANNOTATION.phases)] = '{not json';
    assert.equal(coldStartOf(g), undefined);
  });

  it('through the views: unknown until synced, and when the Fleet is missing or unreadable', async () => {
    const views = (o: Partial<DemandViews>): DemandViews => ({
      synced: () => true, queue: { entries: () => [] }, gameServers: { all: () => [] }, profiles, fleetLabels: () => Promise.resolve({}), ...o,
    });
    const ref = { namespace: 'default', name: 'sd-webui' };
    assert.match((await readDemand(views({ synced: () => false }), ref)).problems[0]!, /not listed yet/);
    assert.match((await readDemand(views({ fleetLabels: () => Promise.resolve(undefined) }), ref)).problems[0]!, /was not found/);
    assert.match((await readDemand(views({ fleetLabels: () => Promise.reject(new Error('boom')) }), ref)).problems[0]!, /could not read Fleet default\/sd-webui: boom/);
    const ok = await readDemand(views({ queue: { entries: () => [{ profile: 'default', sessionId: 'x', queuedAt: iso(T) }] } }), ref);
    assert.equal(ok.queued, 1, 'agones.dev/fleet is added to the template labels');
  });
});
