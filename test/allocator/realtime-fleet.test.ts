/**
 * Who hears what over socket.io when the queue or the fleet changes: a queue change sends
 * `state` to the users who wait or just stopped waiting, not to those holding a session
 * (nothing in theirs changed; at 10,000 users those emits were most of a fleet update's
 * cost); `fleet` (counts only, nobody's data) reaches every signed-in socket, once per
 * change of its counts. With the default gap between `fleet` broadcasts (1 s) each step
 * below waits for the last one to arrive before making the next change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GameServer } from '../../fleet/agones/types.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

type Events = { name: string; data: unknown }[];
interface StateEvent { session: { id: string } | null; queue: { position: number; total: number } | null }
interface FleetEvent { ready: number; starting: number; allocated: number; waiting: number; profiles: { name: string; ready: number; starting: number; waiting: number }[] }

const of = <T>(events: Events, name: string): T[] => events.filter((e) => e.name === name).map((e) => e.data as T);
const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('allocator realtime: queue changes and the fleet broadcast', () => {
  it('a queue change sends `state` to queued users and to one who left, never to users holding a session; `fleet` reaches every socket without user data', async () => {
    const rig = await embeddedRig({ portRange: { min: 51000, max: 51999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 1));
    await rig.until((g) => ready(g).length === 1, '1 Ready');
    const alloc = await allocatorOn(rig);
    closers.push(() => alloc.stop());
    const browser = async (name: string): Promise<Browser> => {
      const b = new Browser(alloc.url, name);
      closers.push(() => b.close());
      return b.signIn();
    };

    // Alice holds the only instance; Bob is signed in and idle; Carol waits; the admin watches.
    const alice = await browser('alice');
    const started = await alice.start();
    assert.equal(started.status, 201);
    const bob = await browser('bob');
    const carol = await browser('carol');
    assert.equal((await carol.start()).status, 202);
    const admin = await browser('admin');
    const sockets = { alice: await alice.socket(), bob: await bob.socket(), carol: await carol.socket(), admin: await admin.socket() };
    const all = Object.values(sockets);
    const fleetsOf = (s: { events: Events }): FleetEvent[] => of<FleetEvent>(s.events, 'fleet');
    for (const s of all) await until(() => fleetsOf(s), (f) => f.length === 1, 5000, '`fleet` on connecting');
    assert.deepEqual(fleetsOf(sockets.alice)[0], { ready: 0, starting: 0, allocated: 1, waiting: 1, profiles: [{ name: 'default', ready: 0, starting: 0, waiting: 1 }] });
    await until(() => of<StateEvent>(sockets.carol.events, 'state'), (s) => s.at(-1)?.queue?.position === 1, 5000, 'carol at 1');
    const statesOf = (s: { events: Events }): StateEvent[] => of<StateEvent>(s.events, 'state');
    const before = { alice: statesOf(sockets.alice).length, bob: statesOf(sockets.bob).length, admin: statesOf(sockets.admin).length };

    // Dave joins the queue: Carol hears the new total; everyone hears the new count once.
    const dave = await browser('dave');
    assert.equal((await dave.start()).status, 202);
    await until(() => statesOf(sockets.carol), (s) => s.at(-1)?.queue?.total === 2, 5000, 'carol sees 2 waiting');
    for (const s of all) await until(() => fleetsOf(s), (f) => f.at(-1)?.waiting === 2, 5000, '`fleet` with 2 waiting at every socket');

    // Carol leaves: she hears that she no longer waits.
    sockets.carol.socket.emit('leave-queue');
    await until(() => statesOf(sockets.carol), (s) => s.at(-1)?.queue === null, 5000, 'carol told she left');
    for (const s of all) await until(() => fleetsOf(s), (f) => f.at(-1)?.waiting === 1, 5000, '`fleet` with 1 waiting at every socket');
    const carolStates = statesOf(sockets.carol).length;

    // Dave leaves too: Carol, no longer waiting, hears nothing more of the queue.
    assert.equal((await dave.api('DELETE', '/queue/me')).status, 204);
    for (const s of all) await until(() => fleetsOf(s), (f) => f.at(-1)?.waiting === 0, 5000, '`fleet` with nobody waiting at every socket');
    await quiet(300);
    assert.equal(statesOf(sockets.carol).length, carolStates, 'carol, gone from the queue, is not sent it again');
    assert.deepEqual({ alice: statesOf(sockets.alice).length, bob: statesOf(sockets.bob).length, admin: statesOf(sockets.admin).length }, before,
      'no `state` to a user holding a session, nor to users who never waited, on a queue change');
    for (const s of all) assert.deepEqual(fleetsOf(s).map((f) => f.waiting), [1, 2, 1, 0], 'each count once at every socket, none twice');

    // Nothing of anybody in it.
    const words = ['alice', 'bob', 'carol', 'dave', 'admin', started.body.session!.id, started.body.session!.instance, 'u-'];
    for (const f of fleetsOf(sockets.bob)) {
      assert.deepEqual(Object.keys(f).sort(), ['allocated', 'profiles', 'ready', 'starting', 'waiting']);
      const text = JSON.stringify(f);
      for (const w of words) assert.ok(!text.includes(w), `\`fleet\` names nobody: found "${w}" in ${text}`);
    }

    // Activity written on Alice's GameServer moves no count: no `fleet` for it.
    rig.e.controlPlane.store.mutate('gameservers.agones.dev', 'default', started.body.session!.instance, (c) => {
      c.metadata.annotations = { ...c.metadata.annotations, 'sdfleet.dev/keepalive-at': new Date().toISOString() };
      return c;
    });
    // Alice ends her session: her instance shuts down, the Fleet replaces it, every socket hears the counts move.
    assert.equal((await alice.api('DELETE', `/sessions/${started.body.session!.id}`)).status, 202);
    rig.e.controlPlane.store.mutate('gameservers.agones.dev', 'default', started.body.session!.instance, (c) => {
      (c as unknown as GameServer).status!.state = 'Shutdown';
      return c;
    });
    for (const s of all) await until(() => fleetsOf(s), (f) => f.at(-1)?.ready === 1 && f.at(-1)?.allocated === 0, 20_000, '`fleet` with the replacement Ready at every socket');
    const counts = all.map((s) => fleetsOf(s).map((f) => JSON.stringify(f)));
    for (const c of counts) {
      assert.deepEqual(c, counts[0], 'every socket heard the same `fleet` events');
      for (let i = 1; i < c.length; i++) assert.notEqual(c[i], c[i - 1], 'never the same `fleet` twice in a row');
    }
  });
});
