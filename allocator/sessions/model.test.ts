import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GameServer } from '../../fleet/agones/types.ts';
import {
  ANNOTATION_ALLOCATED_AT, ANNOTATION_RELEASE, ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER, SDK_ANNOTATION, sdkKey,
} from '../../fleet/agones/metadata.ts';
import { ANNOTATION_KEEPALIVE, ANNOTATION_LAST_TRAFFIC, ANNOTATION_PROFILE, ANNOTATION_STATE_REASON, failureReason, sessionOf, type Session } from './model.ts';

const AT = '2026-11-30T08:00:00.000Z';
const LATER = '2026-11-30T08:05:00.000Z';
const LATEST = '2026-11-30T08:09:00.000Z';

/** An Allocated GameServer of alice's, as the allocator writes it; `patch` changes it. */
function gs(patch: { state?: string; labels?: Record<string, string | undefined>; annotations?: Record<string, string | undefined>; deleting?: boolean; ports?: { name: string; port: number }[] } = {}): GameServer {
  const strip = (o: Record<string, string | undefined>): Record<string, string> => Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined));
  return {
    apiVersion: 'agones.dev/v1', kind: 'GameServer',
    metadata: {
      name: 'sd-webui-abcde', namespace: 'team', creationTimestamp: '2026-11-30T07:00:00Z',
      labels: strip({ 'agones.dev/fleet': 'sd-webui', [LABEL_USER]: 'u-alice', ...patch.labels }),
      annotations: strip({ [ANNOTATION_SESSION]: 's-1', [ANNOTATION_USER_ID]: 'alice@example.com', [ANNOTATION_ALLOCATED_AT]: AT, [ANNOTATION_PROFILE]: 'sdxl', ...patch.annotations }),
      ...(patch.deleting ? { deletionTimestamp: LATEST } : {}),
    },
    spec: {},
    status: { state: (patch.state ?? 'Allocated') as never, address: '10.0.0.7', ports: patch.ports ?? [{ name: 'sdk', port: 9000 }, { name: 'webui', port: 7001 }] },
  } as unknown as GameServer;
}

const active: Session = {
  id: 's-1', user: 'u-alice', userId: 'alice@example.com', gameServer: 'sd-webui-abcde', namespace: 'team', profile: 'sdxl',
  state: 'active', address: '10.0.0.7', port: 7001, allocatedAt: AT, generating: false, lastActivity: AT,
};

const cases: { name: string; gs: GameServer; want: Session | undefined }[] = [
  { name: 'an Allocated GameServer with a user: an active session', gs: gs(), want: active },
  { name: 'no user label: no session (allocated by someone else, or not at all)', gs: gs({ labels: { [LABEL_USER]: undefined } }), want: undefined },
  { name: 'Ready with a user label left over: no session', gs: gs({ state: 'Ready' }), want: undefined },
  { name: 'release asked: releasing, with the reason', gs: gs({ annotations: { [ANNOTATION_RELEASE]: 'idle' } }), want: { ...active, state: 'releasing', reason: 'idle' } },
  { name: 'release asked with no reason given', gs: gs({ annotations: { [ANNOTATION_RELEASE]: '' } }), want: { ...active, state: 'releasing', reason: 'released' } },
  { name: 'Shutdown after a release: gone, released', gs: gs({ state: 'Shutdown', annotations: { [ANNOTATION_RELEASE]: 'user' } }), want: { ...active, state: 'gone', reason: 'released (user)' } },
  {
    name: 'Unhealthy: gone, with what the wrapper said (first line)',
    gs: gs({ state: 'Unhealthy', annotations: { [sdkKey(SDK_ANNOTATION.failure)]: JSON.stringify({ reason: 'the WebUI exited (code 1)\nTraceback…' }) } }),
    want: { ...active, state: 'gone', reason: 'the WebUI exited (code 1)' },
  },
  {
    name: 'Error: gone, with the controller\'s reason',
    gs: gs({ state: 'Error', annotations: { [ANNOTATION_STATE_REASON]: 'the process could not be started' } }),
    want: { ...active, state: 'gone', reason: 'the process could not be started' },
  },
  { name: 'Unhealthy with nothing said: the state', gs: gs({ state: 'Unhealthy' }), want: { ...active, state: 'gone', reason: 'instance Unhealthy' } },
  { name: 'being deleted while Allocated: gone', gs: gs({ deleting: true }), want: { ...active, state: 'gone', reason: 'instance Allocated' } },
  {
    name: 'last activity: the latest of allocation, traffic, keep-alive and the wrapper\'s report',
    gs: gs({ annotations: { [ANNOTATION_LAST_TRAFFIC]: LATER, [ANNOTATION_KEEPALIVE]: LATEST, [sdkKey(SDK_ANNOTATION.activity)]: JSON.stringify({ generating: false, lastActivity: LATER }) } }),
    want: { ...active, lastActivity: LATEST },
  },
  {
    name: 'a malformed activity report counts as none; a bad time is skipped',
    gs: gs({ annotations: { [sdkKey(SDK_ANNOTATION.activity)]: '{not json', [ANNOTATION_KEEPALIVE]: 'yesterday' } }),
    want: active,
  },
  {
    name: 'no session or user-id annotations (written by hand): named after the GameServer and the label',
    gs: gs({ annotations: { [ANNOTATION_SESSION]: undefined, [ANNOTATION_USER_ID]: undefined, [ANNOTATION_PROFILE]: undefined } }),
    want: { ...active, id: 'sd-webui-abcde', userId: 'u-alice', profile: 'default' },
  },
  {
    name: 'no allocated-at: Agones\' last-allocated, then the creation time',
    gs: gs({ annotations: { [ANNOTATION_ALLOCATED_AT]: undefined, 'agones.dev/last-allocated': LATER } }),
    want: { ...active, allocatedAt: LATER, lastActivity: LATER },
  },
  { name: 'no port named webui: the first port', gs: gs({ ports: [{ name: 'http', port: 7860 }] }), want: { ...active, port: 7860 } },
];

describe('sessionOf', () => {
  for (const c of cases) it(c.name, () => assert.deepEqual(sessionOf(c.gs), c.want));

  it('a generation running counts as activity now', () => {
    const before = Date.now();
    const s = sessionOf(gs({ annotations: { [sdkKey(SDK_ANNOTATION.activity)]: JSON.stringify({ generating: true, lastActivity: AT }) } }))!;
    assert.equal(s.generating, true);
    assert.ok(Date.parse(s.lastActivity) >= before, s.lastActivity);
  });
});

describe('failureReason', () => {
  it('prefers the wrapper\'s report, then the controller\'s annotation', () => {
    assert.equal(failureReason(gs({ annotations: { [sdkKey(SDK_ANNOTATION.failure)]: JSON.stringify({ reason: 'OOM' }), [ANNOTATION_STATE_REASON]: 'x' } })), 'OOM');
    assert.equal(failureReason(gs({ annotations: { [ANNOTATION_STATE_REASON]: 'health checks failed' } })), 'health checks failed');
    assert.equal(failureReason(gs()), undefined);
    assert.equal(failureReason(gs({ annotations: { [sdkKey(SDK_ANNOTATION.failure)]: 'garbage' } })), undefined);
  });
});
