import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idleVerdict, lastActivityMs, type IdlePolicy, type IdleVerdict } from './idle.ts';

const MIN = 60_000;
const policy: IdlePolicy = { idleLimitMs: 15 * MIN, warnBeforeMs: 3 * MIN, maxSessionMs: 8 * 60 * MIN };
const T0 = Date.parse('2026-11-30T08:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

const cases: { name: string; generating: boolean; lastActivity: string; allocatedAt: string; now: number; want: IdleVerdict }[] = [
  { name: 'just active: the idle deadline ahead', generating: false, lastActivity: at(0), allocatedAt: at(0), now: T0 + MIN, want: { kind: 'ok', deadline: T0 + 15 * MIN } },
  { name: 'inside the warning window', generating: false, lastActivity: at(0), allocatedAt: at(0), now: T0 + 12 * MIN, want: { kind: 'warn', deadline: T0 + 15 * MIN, reason: 'idle' } },
  { name: 'at the idle limit: reclaimed', generating: false, lastActivity: at(0), allocatedAt: at(0), now: T0 + 15 * MIN, want: { kind: 'reclaim', reason: 'idle' } },
  { name: 'a generation running counts as activity now', generating: true, lastActivity: at(0), allocatedAt: at(0), now: T0 + 60 * MIN, want: { kind: 'ok', deadline: T0 + 75 * MIN } },
  {
    name: 'the maximum length comes before the idle limit',
    generating: true, lastActivity: at(0), allocatedAt: at(0), now: T0 + 8 * 60 * MIN - MIN,
    want: { kind: 'warn', deadline: T0 + 8 * 60 * MIN, reason: 'max-length' },
  },
  { name: 'past the maximum length', generating: true, lastActivity: at(0), allocatedAt: at(0), now: T0 + 8 * 60 * MIN, want: { kind: 'reclaim', reason: 'max-length' } },
  { name: 'an unreadable activity time counts from now', generating: false, lastActivity: 'garbage', allocatedAt: at(0), now: T0 + MIN, want: { kind: 'ok', deadline: T0 + 16 * MIN } },
  { name: 'an unreadable allocation time: no maximum length', generating: false, lastActivity: at(0), allocatedAt: '', now: T0 + MIN, want: { kind: 'ok', deadline: T0 + 15 * MIN } },
];

describe('idleVerdict', () => {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(idleVerdict({ generating: c.generating, lastActivity: c.lastActivity, allocatedAt: c.allocatedAt }, c.now, policy), c.want));
  }

  it('reads the times the session holds now, not those of an earlier look', () => {
    const s = { generating: false, lastActivity: at(0), allocatedAt: at(0) };
    assert.equal(idleVerdict(s, T0 + 14 * MIN, policy).kind, 'warn');
    s.lastActivity = at(10 * MIN);
    assert.deepEqual(idleVerdict(s, T0 + 14 * MIN, policy), { kind: 'ok', deadline: T0 + 25 * MIN });
    assert.equal(lastActivityMs(s), T0 + 10 * MIN);
    s.allocatedAt = at(-8 * 60 * MIN);
    assert.deepEqual(idleVerdict(s, T0 + 14 * MIN, policy), { kind: 'reclaim', reason: 'max-length' });
  });
});
