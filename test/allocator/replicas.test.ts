/**
 * Two allocator replicas on one control plane: 200 concurrent session requests from 60
 * users never give a user two instances or an instance two users; idle sessions are
 * warned, kept by keep-alive, and reclaimed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const closers = closedAfterAll();

describe('allocator replicas', () => {
  it('200 concurrent requests from 60 users through two replicas: no double allocation', async () => {
    const rig = await embeddedRig({ portRange: { min: 41000, max: 41999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 40));
    await rig.until((g) => ready(g).length === 40, '40 Ready', 60_000);
    const logger = createLogger({ name: 'replicas', level: process.env.SDFLEET_TEST_LOG ?? 'silent' });
    const a = await allocatorOn(rig, { logger });
    const b = await allocatorOn(rig, { logger });
    closers.push(() => a.stop(), () => b.stop());
    const users = await Promise.all(Array.from({ length: 60 }, async (_, i) => {
      const u = new Browser(i % 2 ? a.url : b.url, `user${i}`);
      await u.signIn();
      return u;
    }));
    // Each request goes to one replica or the other, whatever the user's cookie came from
    // (they share the secret), several per user at once.
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => {
      const u = users[i % 60]!;
      const other = new Browser(i % 3 ? a.url : b.url, u.name);
      other.cookie = u.cookie;
      other.csrf = u.csrf;
      return other.start();
    }));
    const statuses = results.map((r) => r.status);
    const failed = results.find((r) => r.status >= 500);
    assert.equal(failed, undefined, `a 5xx: ${JSON.stringify(failed?.body)}`);
    assert.ok(statuses.every((s) => [200, 201, 202, 409].includes(s)), `statuses ${[...new Set(statuses)].join(',')}`);
    const allocated = rig.gameServers().filter((g) => g.status?.state === 'Allocated');
    const byUser = new Map<string, string[]>();
    for (const g of allocated) {
      const u = g.metadata.labels!['sdfleet.dev/user']!;
      byUser.set(u, [...(byUser.get(u) ?? []), g.metadata.name!]);
    }
    for (const [u, gss] of byUser) assert.equal(gss.length, 1, `user ${u} holds ${gss.join(', ')}`);
    assert.equal(allocated.length, 40, 'every instance went to someone');
    // The 20 without an instance are in the queue, once each.
    const queued = await Promise.all(users.map((u) => u.api<{ queue?: unknown; session?: unknown }>('GET', '/sessions/me')));
    assert.equal(queued.filter((r) => r.body.session).length, 40);
    assert.equal(queued.filter((r) => r.body.queue).length, 20);
  });

  it('idle → warning over socket.io → reclaimed; keep-alive holds it off', async () => {
    const rig = await embeddedRig({ portRange: { min: 42000, max: 42999 } });
    closers.push(() => rig.close());
    rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 2));
    await rig.until((g) => ready(g).length === 2, '2 Ready');
    const alloc = await allocatorOn(rig, { policy: { idleLimitMs: 4000, warnBeforeMs: 2500 } });
    closers.push(() => alloc.stop());
    const keeper = await new Browser(alloc.url, 'keeper').signIn();
    const idler = await new Browser(alloc.url, 'idler').signIn();
    closers.push(() => keeper.close(), () => idler.close());
    const k = await keeper.start();
    const i = await idler.start();
    const ks = await keeper.socket();
    // The keeper answers "I'm still here" each time it is warned.
    ks.socket.on('idle-warning', () => ks.socket.emit('keepalive', () => undefined));
    const is = await idler.socket();
    await until(() => is.events.find((e) => e.name === 'idle-warning'), Boolean, 5000, 'the idle warning');
    const warning = is.events.find((e) => e.name === 'idle-warning')!.data as { secondsLeft: number; reason: string };
    assert.equal(warning.reason, 'idle');
    assert.ok(warning.secondsLeft <= 3, `${warning.secondsLeft} s left`);
    await until(() => rig.gameServers().find((g) => g.metadata.name === i.body.session!.instance)?.metadata.annotations?.['sdfleet.dev/release'], (v) => v === 'idle', 10_000, 'the idler reclaimed');
    assert.equal(rig.gameServers().find((g) => g.metadata.name === k.body.session!.instance)?.metadata.annotations?.['sdfleet.dev/release'], undefined, 'the keeper kept it');
    const metrics = await (await fetch(`${alloc.url}/metrics`)).text();
    assert.match(metrics, /sdfleet_reclaims_total\{reason="idle"\} 1/);
  });
});
