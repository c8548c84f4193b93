/**
 * The queue's edges: full → 429; a browser that disconnects keeps its place for the grace,
 * then loses it; leaving; and no credential ever reaches the allocator's log.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

describe('allocator queue', () => {
  it('full queue → 429; a disconnected browser keeps its place for the grace, then loses it; leaving works; nothing secret is logged', async () => {
    const rig = await embeddedRig({ portRange: { min: 44000, max: 44999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 1));
    await rig.until((g) => ready(g).length === 1, '1 Ready');
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (d: Buffer) => (logText += d.toString()));
    const alloc = await allocatorOn(rig, { core: { queueGraceSeconds: 2, maxQueue: 2 }, logger: createLogger({ name: 't', level: 'debug', destination: logs }) });
    closers.push(() => alloc.stop());
    const b = (n: string) => {
      const x = new Browser(alloc.url, n);
      closers.push(() => x.close());
      return x.signIn();
    };
    const holder = await b('holder');
    assert.equal((await holder.start()).status, 201);
    const w1 = await b('w1');
    const w2 = await b('w2');
    const w3 = await b('w3');
    assert.equal((await w1.start()).status, 202);
    assert.equal((await w2.start()).status, 202);
    const full = await w3.start();
    assert.equal(full.status, 429);
    assert.match(JSON.stringify(full.body), /queue for \\"default\\" is full \(2 waiting\)/);

    // w1 keeps a socket open: its place is renewed. w2 goes away (no socket, no polling).
    const s1 = await w1.socket();
    await new Promise((r) => setTimeout(r, 3500));
    const q1 = await w1.api<{ queue?: { position: number } }>('GET', '/sessions/me');
    assert.equal(q1.body.queue?.position, 1, 'w1 still first');
    // w2 was not seen for longer than the grace: dropped, so w3 now fits.
    const q3 = await until(() => w3.start(), (r) => r.status === 202, 5000, 'w3 queued after w2 expired');
    assert.equal(q3.body.queue?.position, 2);
    assert.equal((await w2.api('GET', '/sessions/me')).status, 404, 'w2 lost its place');
    // Leaving over the socket.
    const left = await new Promise<{ ok: boolean }>((r) => s1.socket.emit('leave-queue', r));
    assert.equal(left.ok, true);
    await until(() => w3.api<{ queue?: { position: number } }>('GET', '/sessions/me'), (r) => r.body.queue?.position === 1, 3000, 'w3 moves up');

    for (const u of [holder, w1, w2, w3]) {
      const value = u.cookie.split('=')[1]!;
      assert.ok(value.length > 20);
      assert.equal(logText.includes(value), false, `${u.name}'s cookie is not in the log`);
      assert.equal(logText.includes(u.csrf!), false, `${u.name}'s CSRF token is not in the log`);
    }
    assert.ok(logText.length > 200, 'there was a log to search');
  });
});
