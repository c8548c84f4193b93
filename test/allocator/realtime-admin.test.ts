/**
 * Admin snapshots over socket.io: built only while an admin is connected (each covers every
 * GameServer and session: at 10,000 it held the event loop ~150 ms per change, for nobody),
 * and an admin who connects gets one at once and then every change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

describe('allocator realtime: admin snapshots', () => {
  it('are not built with no admin connected; an admin gets one on connecting and after each change', async () => {
    const rig = await embeddedRig({ portRange: { min: 50000, max: 50999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 2));
    await rig.until((g) => ready(g).length === 2, '2 Ready');
    const alloc = await allocatorOn(rig);
    closers.push(() => alloc.stop());
    let built = 0;
    const adminView = alloc.core.adminView.bind(alloc.core);
    alloc.core.adminView = (now?: number) => {
      built++;
      return adminView(now);
    };
    const browser = (name: string): Browser => {
      const b = new Browser(alloc.url, name);
      closers.push(() => b.close());
      return b;
    };

    const alice = await browser('alice').signIn();
    await alice.socket();
    assert.equal((await alice.start()).status, 201);
    // Past the snapshot's 300 ms debounce.
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(built, 0, 'no admin connected: no snapshot');

    const admin = await browser('admin').signIn();
    const { events } = await admin.socket();
    const snapshots = (): { sessions: { user: string }[] }[] => events.filter((e) => e.name === 'admin').map((e) => e.data as { sessions: { user: string }[] });
    await until(snapshots, (s) => s.length >= 1, 5000, 'a snapshot on connecting');
    assert.deepEqual(snapshots()[0]!.sessions.map((s) => s.user), ['alice']);

    const bob = await browser('bob').signIn();
    assert.equal((await bob.start()).status, 201);
    await until(snapshots, (s) => s.at(-1)!.sessions.length === 2, 5000, "a snapshot with bob's session");
  });
});
