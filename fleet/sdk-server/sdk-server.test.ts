import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { closeSdk, connectSdk, sdkFixture, waitFor } from './testing.ts';
import { startSdkServer } from './sdk-server.ts';
import { MemoryGameServerStore } from './store.ts';
import { defaultGameServer } from './game-server-file.ts';

import { metadataOf, type SdkClientGameServer } from '../agones/sdk-client.ts';

const labels = (gs: SdkClientGameServer) => metadataOf(gs).labels;
const annotations = (gs: SdkClientGameServer) => metadataOf(gs).annotations;

describe('sdk-server with the real @google-cloud/agones-sdk client', () => {
  it('Ready: the local lifecycle writes Ready; under a control plane only RequestReady', async () => {
    const local = await sdkFixture();
    try {
      await local.sdk.ready();
      assert.equal((await local.store.get()).status?.state, 'Ready');
    } finally {
      await local.close();
    }
    const managed = await sdkFixture({ localLifecycle: false });
    try {
      await managed.sdk.ready();
      assert.equal((await managed.store.get()).status?.state, 'RequestReady');
    } finally {
      await managed.close();
    }
  });

  it('Allocate sets Allocated and the last-allocated annotation; Shutdown sets Shutdown', async () => {
    const f = await sdkFixture();
    try {
      await f.sdk.ready();
      const before = Date.now();
      await f.sdk.allocate();
      const gs = await f.sdk.getGameServer();
      assert.equal(gs.status.state, 'Allocated');
      const at = Date.parse(annotations(gs)['agones.dev/last-allocated'] ?? '');
      assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `last-allocated ${at} near now`);
      await f.sdk.shutdown();
      assert.equal((await f.sdk.getGameServer()).status.state, 'Shutdown');
    } finally {
      await f.close();
    }
  });

  it('Reserve holds Reserved with reservedUntil, then returns to Ready', async () => {
    const f = await sdkFixture();
    try {
      await f.sdk.ready();
      await f.sdk.reserve(1);
      const reserved = await f.store.get();
      assert.equal(reserved.status?.state, 'Reserved');
      const until = Date.parse(reserved.status?.reservedUntil ?? '');
      assert.ok(until > Date.now() - 1000 && until <= Date.now() + 1500, 'reservedUntil about a second ahead');
      await waitFor(() => f.store.get(), (gs) => gs.status?.state === 'Ready', 3000, 'Ready after the reservation');
      assert.equal((await f.store.get()).status?.reservedUntil, null);
    } finally {
      await f.close();
    }
  });

  it('Allocate during a reservation cancels the timer', async () => {
    const f = await sdkFixture();
    try {
      await f.sdk.reserve(1);
      await f.sdk.allocate();
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal((await f.store.get()).status?.state, 'Allocated');
    } finally {
      await f.close();
    }
  });

  it('labels and annotations round-trip with the agones.dev/sdk- prefix', async () => {
    const f = await sdkFixture();
    try {
      await f.sdk.setLabel('user', 'alice');
      await f.sdk.setAnnotation('sdfleet-phases', '{"lib":12}');
      const gs = await f.sdk.getGameServer();
      assert.equal(labels(gs)['agones.dev/sdk-user'], 'alice');
      assert.equal(annotations(gs)['agones.dev/sdk-sdfleet-phases'], '{"lib":12}');
      const stored = await f.store.get();
      assert.equal(stored.metadata.labels?.['agones.dev/sdk-user'], 'alice');
    } finally {
      await f.close();
    }
  });

  it('refuses invalid label keys and values with INVALID_ARGUMENT and a reason', async () => {
    const f = await sdkFixture();
    try {
      await assert.rejects(f.sdk.setLabel('a/b', 'x'), (err: { code: number; details: string }) => {
        assert.equal(err.code, 3);
        assert.match(err.details, /invalid label key "a\/b"/);
        return true;
      });
      await assert.rejects(f.sdk.setLabel('ok', 'not valid!'), /invalid label value/);
      await assert.rejects(f.sdk.setAnnotation('', 'x'), /key must be non-empty/);
    } finally {
      await f.close();
    }
  });

  it('WatchGameServer sends the current GameServer, then every change in order', async () => {
    const f = await sdkFixture();
    try {
      const seen: string[] = [];
      f.sdk.watchGameServer((gs) => seen.push(`${gs.status.state}:${labels(gs)['agones.dev/sdk-k'] ?? ''}`), () => undefined);
      await waitFor(() => seen.length, (n) => n >= 1, 2000, 'the first watch event');
      await f.sdk.setLabel('k', 'v1');
      await f.sdk.ready();
      // A change from outside the SDK (an allocation by the control plane) reaches watchers too.
      const gs = await f.store.get();
      gs.status = { ...gs.status, state: 'Allocated' };
      f.store.replace(gs);
      await waitFor(() => seen.length, (n) => n >= 4, 2000, 'four watch events');
      assert.deepEqual(seen, ['Scheduled:', 'Scheduled:v1', 'Ready:v1', 'Allocated:v1']);
    } finally {
      await f.close();
    }
  });

  it('health: pings keep it healthy; when they stop it turns Unhealthy, and the SDK cannot undo that', async () => {
    const f = await sdkFixture({
      gs: { spec: { health: { initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 2 } } },
      healthChecks: true,
    });
    try {
      await f.sdk.ready();
      const pinger = setInterval(() => f.sdk.health(() => undefined), 200);
      await new Promise((r) => setTimeout(r, 2500));
      clearInterval(pinger);
      assert.equal((await f.store.get()).status?.state, 'Ready', 'still Ready while pinging');
      const stoppedAt = Date.now();
      await waitFor(() => f.store.get(), (gs) => gs.status?.state === 'Unhealthy', 5000, 'Unhealthy');
      const took = Date.now() - stoppedAt;
      assert.ok(took >= 1000, `Unhealthy after ${took} ms, not before a whole period without pings`);
      await f.sdk.ready();
      assert.equal((await f.store.get()).status?.state, 'Unhealthy');
    } finally {
      await f.close();
    }
  });

  it('health disabled: no pings, never Unhealthy', async () => {
    const f = await sdkFixture({
      gs: { spec: { health: { disabled: true, initialDelaySeconds: 0, periodSeconds: 1, failureThreshold: 1 } } },
      healthChecks: true,
    });
    try {
      await f.sdk.ready();
      await new Promise((r) => setTimeout(r, 2200));
      assert.equal((await f.store.get()).status?.state, 'Ready');
    } finally {
      await f.close();
    }
  });

  it('beta counters and lists work on what spec declares; unknown names are NOT_FOUND', async () => {
    const f = await sdkFixture({
      gs: { status: { state: 'Scheduled', counters: { rooms: { count: 1, capacity: 10 } }, lists: { players: { capacity: 2, values: [] } } } },
    });
    try {
      assert.equal(await f.sdk.beta.getCounterCount('rooms'), 1);
      await f.sdk.beta.incrementCounter('rooms', 4);
      assert.equal(await f.sdk.beta.getCounterCount('rooms'), 5);
      await assert.rejects(f.sdk.beta.incrementCounter('rooms', 6), /out of range/);
      await assert.rejects(f.sdk.beta.getCounterCount('nope'), /counter not found: nope/);
      await f.sdk.beta.appendListValue('players', 'p1');
      await f.sdk.beta.appendListValue('players', 'p2');
      await assert.rejects(f.sdk.beta.appendListValue('players', 'p3'), /capacity/);
      assert.deepEqual(await f.sdk.beta.getListValues('players'), ['p1', 'p2']);
      await f.sdk.beta.deleteListValue('players', 'p1');
      assert.deepEqual((await f.store.get()).status?.lists?.players?.values, ['p2']);
    } finally {
      await f.close();
    }
  });

  it('alpha player tracking answers UNIMPLEMENTED with a reason', async () => {
    const f = await sdkFixture();
    try {
      await assert.rejects(f.sdk.alpha.getPlayerCount(), (err: { code: number; details: string }) => {
        assert.equal(err.code, 12);
        assert.match(err.details, /player tracking/);
        return true;
      });
    } finally {
      await f.close();
    }
  });

  it('a deleted GameServer is UNAVAILABLE to the SDK; a taken port is a clear error', async () => {
    const f = await sdkFixture();
    try {
      let errored = false;
      let events = 0;
      f.sdk.watchGameServer(() => events++, () => (errored = true));
      await waitFor(() => events, (n) => n >= 1, 2000, 'first event');
      f.store.delete();
      await assert.rejects(f.sdk.getGameServer(), /deleted/);
      assert.equal(errored, false);
    } finally {
      await f.close();
    }
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startSdkServer({ store: new MemoryGameServerStore(defaultGameServer()), grpcPort: 0, httpPort: port }),
        /could not listen for HTTP on 127\.0\.0\.1:\d+: EADDRINUSE/,
      );
    } finally {
      blocker.close();
    }
  });

  it('serves many clients at once', async () => {
    const f = await sdkFixture();
    const extra = await Promise.all([1, 2, 3].map(() => connectSdk(f.server.grpcPort)));
    try {
      await Promise.all(extra.map((s, i) => s.setAnnotation(`c${i}`, String(i))));
      const ann = (await f.store.get()).metadata.annotations ?? {};
      assert.deepEqual([ann['agones.dev/sdk-c0'], ann['agones.dev/sdk-c1'], ann['agones.dev/sdk-c2']], ['0', '1', '2']);
    } finally {
      extra.forEach(closeSdk);
      await f.close();
    }
  });
});
