/**
 * The allocator against the embedded control plane, with light real instances: sessions,
 * idempotence, the queue over socket.io, release, crash, restart, the proxy's routing,
 * and who may reach what.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GameServer } from '../../fleet/agones/types.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

async function setup(replicas: number, range: number) {
  const rig = await embeddedRig({ portRange: { min: range, max: range + 999 } });
  closers.push(() => rig.close());
  rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', replicas));
  await rig.until((g) => ready(g).length === replicas, `${replicas} Ready`);
  const alloc = await allocatorOn(rig);
  closers.push(() => alloc.stop());
  const browser = (name: string) => {
    const b = new Browser(alloc.url, name);
    closers.push(() => b.close());
    return b;
  };
  return { rig, alloc, browser };
}

const owners = (rig: EmbeddedRig) =>
  Object.fromEntries(rig.gameServers().filter((g) => g.status?.state === 'Allocated').map((g) => [g.metadata.name, g.metadata.labels?.['sdfleet.dev/user']]));

describe('allocator sessions', () => {
  it('two users get two instances; the same user twice gets the same one; the proxy takes each to their own', async () => {
    const { rig, browser } = await setup(3, 35000);
    const alice = await browser('alice').signIn();
    const bob = await browser('bob').signIn();
    const a1 = await alice.start();
    assert.equal(a1.status, 201);
    const b1 = await bob.start();
    assert.equal(b1.status, 201);
    assert.notEqual(a1.body.session!.instance, b1.body.session!.instance);
    const a2 = await alice.start();
    assert.equal(a2.status, 200, 'idempotent');
    assert.equal(a2.body.session!.instance, a1.body.session!.instance);
    assert.deepEqual(Object.values(owners(rig)).sort().length, 2);
    // The GameServer carries the session: label and annotations.
    const gs = rig.gameServers().find((g) => g.metadata.name === a1.body.session!.instance)!;
    assert.equal(gs.metadata.annotations?.['sdfleet.dev/user-id'], 'alice');
    assert.equal(gs.metadata.annotations?.['sdfleet.dev/session'], a1.body.session!.id);
    assert.match(gs.metadata.labels?.['sdfleet.dev/user'] ?? '', /^u-[0-9a-f]{20}$/);
    // Through the proxy, each lands on their own instance.
    assert.equal(await (await alice.fetch('GET', '/')).text(), `ok from ${a1.body.session!.instance}\n`);
    assert.equal(await (await bob.fetch('GET', '/')).text(), `ok from ${b1.body.session!.instance}\n`);
  });

  it('nobody reaches an instance that is not theirs: no cookie, a tampered one, or one of another user', async () => {
    const { alloc, browser } = await setup(1, 36000);
    const carol = await browser('carol').signIn();
    const s = await carol.start();
    assert.equal(s.status, 201);
    const anon = new Browser(alloc.url, 'anon');
    const r = await anon.fetch('GET', '/', undefined, { accept: 'text/html' });
    assert.equal(r.status, 302, 'no session: to the start page');
    assert.equal(r.headers.get('location'), '/_sdfleet/');
    const tampered = new Browser(alloc.url, 'mallory');
    const [name, value] = carol.cookie.split('=');
    // One character of the signature changed for another (the one before the last: the
    // last may carry only padding bits), so the cookie is never the same as carol's.
    const c = value!.at(-2)!;
    tampered.cookie = `${name}=${value!.slice(0, -2)}${c === 'A' ? 'B' : 'A'}${value!.slice(-1)}`;
    assert.notEqual(tampered.cookie, carol.cookie);
    const t = await tampered.fetch('GET', '/', undefined, { accept: 'text/html' });
    assert.notEqual(t.status, 200);
    assert.doesNotMatch(await t.text(), /ok from/);
    const dave = await browser('dave').signIn();
    const d = await dave.fetch('GET', '/');
    assert.notEqual(d.status, 200, 'dave has no session: he does not reach carol’s');
    const other = await dave.api('GET', `/sessions/${s.body.session!.id}`);
    assert.equal(other.status, 404, "another user's session id reads as unknown");
    const del = await dave.api('DELETE', `/sessions/${s.body.session!.id}`);
    assert.equal(del.status, 404);
  });

  it('admin routes refuse non-admins; state changes need the CSRF token and the same origin', async () => {
    const { alloc, browser } = await setup(1, 37000);
    const eve = await browser('eve').signIn();
    for (const [m, p] of [['GET', '/sessions'], ['GET', '/fleets'], ['GET', '/queue'], ['PUT', '/fleets/sd-webui/scale']] as const) {
      const r = await eve.api(m, p, m === 'PUT' ? { replicas: 2 } : undefined);
      assert.equal(r.status, 403, `${m} ${p}`);
    }
    const admin = await browser('admin').signIn();
    const fleets = await admin.api<{ fleets: { fleet: string; ready: number }[] }>('GET', '/fleets');
    assert.equal(fleets.status, 200);
    assert.equal(fleets.body.fleets[0]?.fleet, 'sd-webui');
    const noCsrf = new Browser(alloc.url, 'eve');
    noCsrf.cookie = eve.cookie;
    assert.equal((await noCsrf.api('POST', '/sessions', {})).status, 403, 'no CSRF token');
    assert.equal((await eve.api('POST', '/sessions', {}, { origin: 'https://evil.example' })).status, 403, 'cross-origin');
    const bad = await eve.api('POST', '/sessions', { profile: 'nope' });
    assert.equal(bad.status, 400);
    assert.match(String((bad.body as { error: { message: string } }).error.message), /no profile "nope"/);
    const big = await eve.fetch('POST', '/_sdfleet/api/v1/sessions', { profile: 'x'.repeat(40_000) });
    assert.equal(big.status, 413);
  });

  it('a full fleet queues users in order with positions over socket.io; a release serves the head and the fleet replaces the released one', async () => {
    const { rig, browser } = await setup(1, 38000);
    const first = await browser('u1').signIn();
    const s1 = await first.start();
    assert.equal(s1.status, 201);
    const second = await browser('u2').signIn();
    const third = await browser('u3').signIn();
    const q2 = await second.start();
    assert.equal(q2.status, 202);
    assert.equal(q2.body.queue?.position, 1);
    const q3 = await third.start();
    assert.equal(q3.body.queue?.position, 2);
    assert.equal(q3.body.queue?.total, 2);
    const sock3 = await third.socket();
    const lastState = () => [...sock3.events].reverse().find((e) => e.name === 'state')?.data as { queue?: { position: number }; session?: { state: string } } | undefined;
    await until(lastState, (s) => s?.queue?.position === 2, 3000, 'u3 at 2 over socket.io');
    // u1 ends the session: the wrapper-less instance never shuts down by itself, so
    // the GameServer goes after the release timeout; here we shut it down as a wrapper would.
    const del = await first.api('DELETE', `/sessions/${s1.body.session!.id}`);
    assert.equal(del.status, 202);
    const released = rig.gameServers().find((g) => g.metadata.name === s1.body.session!.instance)!;
    assert.equal(released.metadata.annotations?.['sdfleet.dev/release'], 'user');
    rig.e.controlPlane.store.mutate('gameservers.agones.dev', 'default', released.metadata.name!, (c) => {
      (c as unknown as GameServer).status!.state = 'Shutdown';
      return c;
    });
    // The Fleet replaces it; the queue head gets the new one; u3 moves up.
    const served = await until(() => second.api<{ session?: { state: string; instance: string } }>('GET', '/sessions/me'), (r) => r.body.session?.state === 'active', 20_000, 'u2 served');
    assert.notEqual(served.body.session!.instance, released.metadata.name);
    await until(lastState, (s) => s?.queue?.position === 1, 5000, 'u3 at 1 over socket.io');
  });

  it('an instance that crashes: the user is told, and can start again', async () => {
    const { rig, browser } = await setup(2, 39000);
    const u = await browser('crashy').signIn();
    const s = await u.start();
    const { events } = await u.socket();
    rig.e.controlPlane.store.mutate('gameservers.agones.dev', 'default', s.body.session!.instance, (c) => {
      (c as unknown as GameServer).status!.state = 'Unhealthy';
      c.metadata.annotations = { ...c.metadata.annotations, 'sdfleet.dev/state-reason': 'its process exited (code 5)' };
      return c;
    });
    const gone = await until(() => events.find((e) => e.name === 'instance-gone'), Boolean, 5000, 'instance-gone');
    assert.match(String((gone!.data as { reason: string }).reason), /process exited/);
    const again = await until(() => u.start(), (r) => r.status === 201, 20_000, 'a new session');
    assert.notEqual(again.body.session!.instance, s.body.session!.instance);
  });

  it('Start while the last session is still ending: 409 session_releasing with Retry-After, then a new instance once it has ended', async () => {
    const { rig, browser } = await setup(2, 53000);
    const u = await browser('again').signIn();
    const s1 = await u.start();
    assert.equal(s1.status, 201);
    assert.equal((await u.api('DELETE', `/sessions/${s1.body.session!.id}`)).status, 202);
    const early = await u.start();
    assert.equal(early.status, 409, 'the releasing session still holds the one instance a user may have');
    assert.equal((early.body as unknown as { error: { code: string } }).error.code, 'session_releasing');
    assert.equal(early.headers.get('retry-after'), '3');
    assert.equal(rig.gameServers().filter((g) => g.metadata.labels?.['sdfleet.dev/user']).length, 1, 'no second instance for the user');
    // The wrapper would save the images and shut down; here the test does the shutdown.
    rig.e.controlPlane.store.mutate('gameservers.agones.dev', 'default', s1.body.session!.instance, (c) => {
      (c as unknown as GameServer).status!.state = 'Shutdown';
      return c;
    });
    const again = await until(() => u.start(), (r) => r.status === 201, 20_000, 'a new session once the last has ended');
    assert.notEqual(again.body.session!.instance, s1.body.session!.instance);
    assert.equal(again.body.session!.state, 'active');
  });

  it('after an allocator restart every session is intact', async () => {
    const { rig, alloc, browser } = await setup(2, 40000);
    const u = await browser('steady').signIn();
    const s = await u.start();
    await alloc.stop();
    const again = await allocatorOn(rig);
    closers.push(() => again.stop());
    const back = new Browser(again.url, 'steady');
    back.cookie = u.cookie;
    const me = await back.api<{ session: { id: string; instance: string; state: string } }>('GET', '/me');
    assert.equal(me.status, 200, 'the cookie still works (same secret)');
    assert.equal(me.body.session.id, s.body.session!.id);
    assert.equal(me.body.session.instance, s.body.session!.instance);
    assert.equal(me.body.session.state, 'active');
    assert.equal(await (await back.fetch('GET', '/')).text(), `ok from ${s.body.session!.instance}\n`);
  });
});
