import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../common/log.ts';
import { WorkQueue } from './workqueue.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('merges a key enqueued while it waits', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ name: 't', log: silentLogger(), handler: async (k) => { seen.push(k); await tick(5); } });
    q.enqueue('a');
    q.enqueue('b');
    q.enqueue('b');
    q.enqueue('b');
    await q.idle();
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('handles a key again when it was enqueued while being handled, never twice at once', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const q = new WorkQueue({
      name: 't', log: silentLogger(), workers: 4,
      handler: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls++;
        started();
        await tick(10);
        running--;
      },
    });
    q.enqueue('a');
    await firstStarted;
    q.enqueue('a');
    q.enqueue('a');
    await q.idle();
    assert.equal(calls, 2);
    assert.equal(maxRunning, 1);
  });

  it('retries errors with backoff, drops 404s, retries 409s quietly', async () => {
    const attempts = new Map<string, number>();
    const q = new WorkQueue({
      name: 't', log: silentLogger(), baseDelayMs: 5,
      handler: (k) => {
        const n = (attempts.get(k) ?? 0) + 1;
        attempts.set(k, n);
        if (k === 'gone') throw Object.assign(new Error('not found'), { code: 404 });
        if (k === 'conflict' && n < 3) throw Object.assign(new Error('conflict'), { code: 409 });
        if (k === 'flaky' && n < 3) throw new Error('boom');
      },
    });
    for (const k of ['gone', 'conflict', 'flaky']) q.enqueue(k);
    await tick(200);
    await q.idle();
    assert.deepEqual(Object.fromEntries(attempts), { gone: 1, conflict: 3, flaky: 3 });
    q.stop();
  });

  it('never runs a handler inside enqueue(): the events of one turn merge into one run', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ name: 't', log: silentLogger(), handler: (k) => { seen.push(k); } });
    q.enqueue('a');
    assert.deepEqual(seen, [], 'not yet: on a later turn');
    q.enqueue('a');
    await q.idle();
    assert.deepEqual(seen, ['a']);
  });

  it('minIntervalMs: a key runs at most once per interval, the events in between merge into one more run', async () => {
    const starts: number[] = [];
    const q = new WorkQueue({ name: 't', log: silentLogger(), minIntervalMs: 60, handler: () => { starts.push(Date.now()); } });
    q.enqueue('a');
    await q.idle();
    for (let i = 0; i < 20; i++) q.enqueue('a');
    await tick(1);
    q.enqueue('a');
    await q.idle();
    assert.equal(starts.length, 2, `runs at ${starts.map((t) => t - starts[0]!).join(', ')} ms`);
    assert.ok(starts[1]! - starts[0]! >= 55, `the second run waited the interval (${starts[1]! - starts[0]!} ms)`);
    q.enqueue('b');
    await q.idle();
    assert.equal(starts.length, 3, 'another key is not held back');
    q.stop();
  });
});
