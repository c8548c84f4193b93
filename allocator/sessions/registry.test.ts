import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOTATION_ALLOCATED_AT, ANNOTATION_RELEASE, ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER } from '../../fleet/agones/metadata.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { ANNOTATION_LAST_TRAFFIC } from './model.ts';
import { SessionRegistry, type SessionChange } from './registry.ts';

function gs(name: string, annotations: Record<string, string> = {}, state = 'Allocated', address = '10.0.0.7'): GameServer {
  return {
    apiVersion: 'agones.dev/v1', kind: 'GameServer',
    metadata: {
      name, namespace: 'default', labels: { [LABEL_USER]: 'u-alice' },
      annotations: { [ANNOTATION_SESSION]: 's-1', [ANNOTATION_USER_ID]: 'alice', [ANNOTATION_ALLOCATED_AT]: '2026-11-30T08:00:00.000Z', ...annotations },
    },
    spec: {},
    status: { state, address, ports: [{ name: 'webui', port: 7001 }] },
  } as unknown as GameServer;
}

test('a change is told when any field of the session changes, and only then', () => {
  const r = new SessionRegistry();
  const changes: SessionChange[] = [];
  r.on('change', (c) => changes.push(c));
  r.upsert(gs('g1'));
  assert.equal(changes.length, 1, 'a new session');
  r.upsert(gs('g1'));
  assert.equal(changes.length, 1, 'the same reading again tells nothing');
  r.upsert(gs('g1', { 'unrelated.example/x': 'y' }));
  assert.equal(changes.length, 1, 'an annotation the session does not read tells nothing');
  r.upsert(gs('g1', { [ANNOTATION_LAST_TRAFFIC]: '2026-11-30T08:01:00.000Z' }));
  assert.equal(changes.length, 2, 'activity');
  assert.equal(changes[1]!.session?.lastActivity, '2026-11-30T08:01:00.000Z');
  r.upsert(gs('g1', { [ANNOTATION_LAST_TRAFFIC]: '2026-11-30T08:01:00.000Z' }, 'Allocated', '10.0.0.8'));
  assert.equal(changes.length, 3, 'the address');
  r.upsert(gs('g1', { [ANNOTATION_LAST_TRAFFIC]: '2026-11-30T08:01:00.000Z', [ANNOTATION_RELEASE]: 'user' }, 'Allocated', '10.0.0.8'));
  assert.equal(changes.length, 4, 'a release: releasing, with a reason');
  assert.equal(changes[3]!.session?.state, 'releasing');
  assert.equal(changes[3]!.previous?.reason, undefined);
  assert.equal(changes[3]!.session?.reason, 'user');
  assert.equal(r.byGameServer('g1')?.state, 'releasing');
  r.remove(gs('g1'));
  assert.equal(changes.length, 5);
  assert.equal(changes[4]!.session, undefined);
  assert.equal(r.byGameServer('g1'), undefined);
});
