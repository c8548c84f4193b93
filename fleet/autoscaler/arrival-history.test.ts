import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrivalHistory, parseStoredHistory } from './arrival-history.ts';
import { Clock } from './clock.ts';

const H = 3_600_000;
const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 8, 9);
const clock = new Clock('UTC');

describe('arrival history', () => {
  it('deduplicates by session, keeping the earlier time (queued, then allocated)', () => {
    const h = new ArrivalHistory({ clock, retentionMs: 8 * H, knownSince: T0 });
    assert.equal(h.record(T0 + 5 * MIN, 's1'), true, 'first seen allocated');
    assert.equal(h.record(T0 + 5 * MIN, 's1'), false);
    assert.equal(h.record(T0 + 2 * MIN, 's1'), true, 'its queue entry shows it asked earlier');
    assert.equal(h.record(T0 + 4 * MIN, 's1'), false);
    h.record(T0 + MIN, 's2');
    assert.deepEqual(h.arrivals, [T0 + MIN, T0 + 2 * MIN]);
  });

  it('forgets past the retention and learns quarters after their grace', () => {
    const h = new ArrivalHistory({ clock, retentionMs: H, knownSince: T0, learnGraceMs: 2 * MIN });
    for (let i = 0; i < 6; i++) h.record(T0 + i * MIN, `a${i}`);
    h.advance(T0 + 16 * MIN);
    assert.equal(h.profile.weekday.days[36], 0, '09:00–09:15 not learned before 09:17');
    h.advance(T0 + 17 * MIN);
    assert.equal(h.profile.weekday.mean[36], 6);
    h.advance(T0 + 2 * H);
    assert.equal(h.arrivals.length, 0);
  });

  it('snapshots and restores: arrivals, the profile, and what was known', () => {
    const h = new ArrivalHistory({ clock, retentionMs: 8 * H, knownSince: T0 - 4 * H });
    for (let i = 0; i < 10; i++) h.record(T0 + i * MIN, `a${i}`);
    h.advance(T0 + H);
    const saved = parseStoredHistory(JSON.parse(JSON.stringify(h.snapshot(T0 + H))));
    const soon = new ArrivalHistory({ clock, retentionMs: 8 * H, knownSince: T0 + H + MIN }, saved);
    assert.deepEqual(soon.arrivals, h.arrivals);
    assert.equal(soon.knownSince, T0 - 4 * H, 'a quick restart: still continuous');
    assert.equal(soon.profile.weekday.mean[36], 10);
    const late = new ArrivalHistory({ clock, retentionMs: 8 * H, knownSince: T0 + 3 * H }, saved);
    assert.equal(late.knownSince, T0 + 3 * H, 'a long gap: known from the restart');
    const elsewhere = new ArrivalHistory({ clock: new Clock('Asia/Tokyo'), retentionMs: 8 * H, knownSince: T0 + H }, saved);
    assert.equal(elsewhere.profile.timeZone, 'Asia/Tokyo', 'a profile of another zone is not reused');
    assert.throws(() => parseStoredHistory({ version: 2 }), /stored autoscaler history: version/);
  });
});
