/**
 * `sdfleet bench sessions` end to end, small: the allocator and the floor each start every
 * user's session and reach the instance through their proxy, and the report tells both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSessionsBench, sessionsReport } from './sessions.ts';

test('bench sessions: every session routable through the allocator and through the floor, reported side by side', { timeout: 120_000 }, async () => {
  const r = await runSessionsBench({ users: 20, concurrency: [5], warmup: 5, floor: true });
  for (const [name, runs] of [['allocator', r.runs], ['floor', r.floor]] as const) {
    assert.equal(runs?.length, 1, name);
    const run = runs![0]!;
    assert.deepEqual(run.failures, {}, `${name}: no failures`);
    assert.equal(run.startToRoutable.n, 20, `${name}: every user's session timed`);
    assert.ok(run.post.p50 > 0 && run.post.p50 <= run.startToRoutable.p50, `${name}: the POST is part of the way to routable`);
    assert.equal(run.baseline.failures, 0);
  }
  const report = sessionsReport(r);
  assert.match(report, /^\| allocator \| 5 \|/m);
  assert.match(report, /^\| floor \| 5 \|/m);
  assert.match(report, /At 5: the allocator's p99 [\d.]+× the floor's/);
});
