/**
 * The autoscaler's steps between syncs (fleet/autoscaler/README.md) end to end: release-
 * time shrink (`shrinkOnRelease`) and grow on arrival (`growOnArrival`). The embedded
 * control plane (real API, Agones controllers; a FakeRunner that starts no process, each
 * GameServer Ready as soon as it runs), the allocator as the leader serving the Webhook
 * FleetAutoscaler, and users over its REST API. A user's session is released
 * (DELETE /sessions/{id}), the "wrapper" (this test) calls Shutdown as the real one does
 * after the release annotation, and the Fleet either refills the slot or not; users take
 * instances or queue, and the Fleet grows at once or waits for the sync.
 *
 * The FleetAutoscaler syncs once when created and then only every hour: whatever happens
 * to the Fleet after that within these tests is the allocator's doing (or Agones'
 * refill), never the sync's.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { ANNOTATION_RELEASE } from '../../fleet/agones/metadata.ts';
import { LABEL_FLEET, type GameServer } from '../../fleet/agones/types.ts';
import { WEBHOOK_PATH } from '../../fleet/autoscaler/webhook.ts';
import { startEmbedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { FakeRunner } from '../../fleet/control-plane/runner/fake-runner.ts';
import type { KubeObject } from '../../fleet/control-plane/store/types.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';
import type { EmbeddedRig } from '../helpers/embedded.ts';

const closers = closedAfterAll();
const FLEET = 'sd-webui';
/** A replacement the shrink raced and lost to must be gone within this long of its creation. */
const REPLACEMENT_LIFETIME_MS = 2000;
/** After the release, how long the Fleet is watched for a refill it should not make (or keep). */
const SETTLE_MS = 2500;

interface Setup {
  store: EmbeddedRig['e']['controlPlane']['store'];
  alloc: RunningAllocator;
  /** The allocator's log lines (debug and up), parsed. */
  logs: { message: string; [k: string]: unknown }[];
  browser(name: string): Promise<Browser>;
  /** The Fleet's GameServers not being deleted and not over. */
  live(): GameServer[];
  specReplicas(): number;
  /** GameServers of the fleet created since `since`: name → created at, deleted at. */
  created: Map<string, { at: number; deletedAt?: number; state?: string }>;
}

/**
 * The embedded control plane with a FakeRunner, a Fleet of `replicas` Ready GameServers,
 * the policy ConfigMap, the allocator (the leader) and a Webhook FleetAutoscaler on it.
 */
async function setUp(replicas: number, policyYaml: string): Promise<Setup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sdfleet-fleet-resize-'));
  closers.push(() => rm(dataDir, { recursive: true, force: true }));
  await mkdir(join(dataDir, 'lib'), { recursive: true });
  await writeFile(join(dataDir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
  // What the game server does once running: SDK.Ready(). (Runs only once GameServers exist, after `embedded` is set.)
  const runner = new FakeRunner((spec) => {
    try {
      embedded.controlPlane.store.mutate(RESOURCES.gameServers, spec.namespace, spec.name, (c) => {
        const gs = c as unknown as GameServer;
        if (gs.status?.state !== 'Starting' && gs.status?.state !== 'Scheduled') return undefined;
        gs.status = { ...gs.status, state: 'RequestReady' };
        return c;
      });
    } catch {
      /* deleted while starting */
    }
  });
  const embedded = await startEmbedded({ dataDir, port: 0, host: '127.0.0.1', runner, portRange: { min: 47000, max: 47999 } });
  closers.push(() => embedded.stop());
  const store = embedded.controlPlane.store;

  const created = new Map<string, { at: number; deletedAt?: number; state?: string }>();
  const off = store.onChange((e) => {
    if (e.resource !== RESOURCES.gameServers || e.object.metadata.labels?.[LABEL_FLEET] !== FLEET) return;
    const name = e.object.metadata.name!;
    if (e.type === 'ADDED') created.set(name, { at: Date.now() });
    const c = created.get(name);
    if (!c) return;
    c.state = (e.object as unknown as GameServer).status?.state;
    if (e.type === 'DELETED' || e.object.metadata.deletionTimestamp) c.deletedAt ??= Date.now();
  });
  closers.push(off);

  store.create(RESOURCES.configMaps, {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sdfleet-autoscaler', namespace: 'default' },
    data: { 'policy.yaml': policyYaml },
  });
  store.create(RESOURCES.fleets, {
    apiVersion: 'agones.dev/v1', kind: 'Fleet', metadata: { name: FLEET, namespace: 'default' },
    spec: {
      replicas,
      template: {
        spec: {
          ports: [{ name: 'webui', containerPort: 7860, protocol: 'TCP' }],
          health: { disabled: true },
          template: { spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'webui', image: 'local', command: ['none'] }] } },
        },
      },
    },
  } as KubeObject);
  const gss = (): GameServer[] => store.list(RESOURCES.gameServers).items as unknown as GameServer[];
  const live = (): GameServer[] => gss().filter((g) => g.metadata.labels?.[LABEL_FLEET] === FLEET && !g.metadata.deletionTimestamp && !['Shutdown', 'Unhealthy', 'Error'].includes(g.status?.state ?? ''));
  await until(() => live().filter((g) => g.status?.state === 'Ready').length, (n) => n === replicas, 10_000, `${replicas} Ready`);

  const logs: Setup['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim()) logs.push(JSON.parse(line) as Setup['logs'][number]);
      }
      done();
    },
  });
  const rigView = { kubeconfig: embedded.controlPlane.kubeconfigPath!, dataDir } as EmbeddedRig;
  const alloc = await allocatorOn(rigView, { logger: createLogger({ name: 'allocator', level: 'debug', destination: sink }), core: { queueGraceSeconds: 60 } });
  closers.push(() => alloc.stop());
  await until(() => alloc.core.isLeader, (l) => l, 10_000, 'the allocator to lead');

  const setup: Setup = {
    store, alloc, logs, live, created,
    specReplicas: () => (store.get(RESOURCES.fleets, 'default', FLEET).spec as { replicas: number }).replicas,
    browser: async (name) => {
      const b = new Browser(alloc.url, name);
      closers.push(() => b.close());
      return b.signIn();
    },
  };
  return setup;
}

interface UserSession {
  browser: Browser;
  id: string;
  /** Its GameServer. */
  instance: string;
}

/** Sessions for `names`, each on its own Ready GameServer. */
async function sessions(s: Setup, names: string[]): Promise<UserSession[]> {
  const out: UserSession[] = [];
  for (const name of names) {
    const browser = await s.browser(name);
    const r = await browser.start();
    assert.equal(r.status, 201, `${name} gets an instance at once: ${JSON.stringify(r.body)}`);
    out.push({ browser, id: r.body.session!.id, instance: r.body.session!.instance });
  }
  // Seen by the allocator's informer and in the Fleet's status (a review carries it).
  await until(() => s.alloc.core.fleet.all().filter((g) => g.status?.state === 'Allocated').length, (n) => n === names.length, 5000, 'the allocations seen by the allocator');
  await until(() => (s.store.get(RESOURCES.fleets, 'default', FLEET).status as { allocatedReplicas?: number } | undefined)?.allocatedReplicas, (n) => n === names.length, 5000, "the allocations in the Fleet's status");
  return out;
}

/** The Webhook FleetAutoscaler on the allocator; resolves once its first sync asked for `expect`. */
async function webhookAutoscaler(s: Setup, expect: number): Promise<void> {
  s.store.create(RESOURCES.fleetAutoscalers, {
    apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: `${FLEET}-autoscaler`, namespace: 'default' },
    spec: {
      fleetName: FLEET,
      policy: { type: 'Webhook', webhook: { url: `${s.alloc.url}${WEBHOOK_PATH}` } },
      sync: { type: 'FixedInterval', fixedInterval: { seconds: 3600 } },
    },
  });
  await until(
    () => (s.store.get(RESOURCES.fleetAutoscalers, 'default', `${FLEET}-autoscaler`).status ?? {}) as { ableToScale?: boolean; desiredReplicas?: number },
    (st) => st.ableToScale === true && st.desiredReplicas !== undefined, 10_000, `the FleetAutoscaler's first sync`,
  );
  const st = s.store.get(RESOURCES.fleetAutoscalers, 'default', `${FLEET}-autoscaler`).status as { desiredReplicas?: number };
  assert.equal(st.desiredReplicas, expect, `the first sync asks for ${expect}: ${s.alloc.autoscaler!.status()[0]?.reason}`);
  assert.equal(s.specReplicas(), expect);
}

/**
 * `user` releases their session; the wrapper, seeing the release annotation, calls
 * Shutdown (as sdk-wrapper does once outputs are stored). Resolves at the Shutdown.
 */
async function releaseAndShutDown(s: Setup, session: UserSession): Promise<number> {
  const r = await session.browser.api('DELETE', `/sessions/${session.id}`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const gs = s.store.get(RESOURCES.gameServers, 'default', session.instance) as unknown as GameServer;
  assert.ok(gs.metadata.annotations?.[ANNOTATION_RELEASE], 'the release is asked for through the annotation');
  const at = Date.now();
  s.store.mutate(RESOURCES.gameServers, 'default', session.instance, (c) => {
    (c as unknown as GameServer).status = { ...(c as unknown as GameServer).status, state: 'Shutdown' };
    return c;
  });
  return at;
}

/** What happened to the Fleet in the SETTLE_MS after the Shutdown. */
async function watchAfterRelease(s: Setup, at: number): Promise<{ replacements: { name: string; livedMs?: number; state?: string }[] }> {
  await new Promise((r) => setTimeout(r, Math.max(0, at + SETTLE_MS - Date.now())));
  const replacements = [...s.created].filter(([, c]) => c.at >= at).map(([name, c]) => ({ name, state: c.state, ...(c.deletedAt !== undefined ? { livedMs: c.deletedAt - c.at } : {}) }));
  return { replacements };
}

const lines = (s: Setup, re: RegExp): string[] => s.logs.map((l) => l.message).filter((m) => re.test(m));
const QUIET = 'maxWarm: 0\nmaxReplicas: 6\n';

/**
 * Two users on a Fleet of 2 (the FleetAutoscaler's first sync agrees: 2 allocated, no warm
 * ones wanted), one of them leaves. `fas` false: the Fleet has no FleetAutoscaler.
 */
async function oneOfTwoLeaves(policyYaml: string, fas = true): Promise<{ s: Setup; holder: UserSession; at: number }> {
  const s = await setUp(2, policyYaml);
  const [holder, leaver] = await sessions(s, ['holder', 'leaver']);
  if (fas) await webhookAutoscaler(s, 2);
  const at = await releaseAndShutDown(s, leaver!);
  return { s, holder: holder!, at };
}

/** The Fleet refilled the slot and keeps the replacement: Allocated + Ready, replicas 2. */
async function assertRefilled(s: Setup, at: number): Promise<void> {
  await until(() => s.live().filter((g) => g.status?.state === 'Ready').length, (n) => n === 1, 3000, 'a replacement Ready');
  const { replacements } = await watchAfterRelease(s, at);
  assert.equal(s.specReplicas(), 2, 'the replicas stay');
  assert.equal(replacements.length, 1, JSON.stringify(replacements));
  assert.equal(replacements[0]!.livedMs, undefined, 'the replacement is kept');
  assert.deepEqual(s.live().map((g) => g.status?.state).sort(), ['Allocated', 'Ready']);
  assert.deepEqual(lines(s, /release-time shrink: lowered/), []);
}

describe('release-time shrink, end to end (embedded control plane, allocator as leader, Webhook policy)', () => {
  it('on (the default): the Fleet is lowered by the freed slot and no replacement is kept', async (t) => {
    // No warm ones kept for arrivals that may come: after the release the policy wants the
    // one still allocated. shrinkOnRelease is not set: the default.
    const { s, holder, at } = await oneOfTwoLeaves(QUIET);
    await until(() => s.specReplicas(), (r) => r === 1, 3000, "the Fleet's replicas lowered from 2 to 1");
    const { replacements } = await watchAfterRelease(s, at);
    assert.equal(s.specReplicas(), 1, 'lowered by one, not more, and not raised again');
    // None created, or one created (the Fleet's refill won the race) and deleted within a couple of seconds.
    assert.ok(replacements.length <= 1, JSON.stringify(replacements));
    for (const r of replacements) assert.ok(r.livedMs !== undefined && r.livedMs < REPLACEMENT_LIFETIME_MS, `replacement ${r.name} was kept: ${JSON.stringify(r)}`);
    assert.deepEqual(s.live().map((g) => [g.metadata.name, g.status?.state]), [[holder.instance, 'Allocated']], "only the holder's instance is left");
    assert.deepEqual(lines(s, /session ended/).filter((m) => /the policy wants 1 of 2 .*2 → 1/.test(m)).length, 1, lines(s, /session ended/).join(' | '));
    assert.equal(lines(s, /release-time shrink: lowered/).length, 1, lines(s, /session ended|release-time shrink/).join(' | '));
    t.diagnostic(replacements.length === 0 ? 'no replacement created' : `the Fleet's refill won the race: ${replacements.map((r) => `${r.name} lived ${r.livedMs} ms`).join(', ')}`);
  });

  it('off (shrinkOnRelease: false): the same release, and the Fleet refills to its replicas', async () => {
    const { s, at } = await oneOfTwoLeaves(`${QUIET}shrinkOnRelease: false\n`);
    await assertRefilled(s, at);
    assert.deepEqual(lines(s, /session ended|release-time shrink/), [], 'nothing asked: the setting is off');
  });

  it('on, but a user is queued: the policy wants the slot, the replicas stay and the queued user gets the replacement', async () => {
    // Grow on arrival off: it would raise the Fleet for the waiter at once (tested below).
    const s = await setUp(2, `${QUIET}growOnArrival: false\n`);
    const [, leaver] = await sessions(s, ['holder', 'leaver']);
    await webhookAutoscaler(s, 2);
    // The next sync is an hour away: the waiter stays queued until a slot frees.
    const waiter = await s.browser('waiter');
    assert.equal((await waiter.start()).status, 202, 'queued: nothing is Ready');

    const at = await releaseAndShutDown(s, leaver!);
    const me = await until(() => waiter.api<{ session?: { state: string; instance: string } }>('GET', '/sessions/me'), (r) => r.body.session?.instance !== undefined, 5000, 'the waiter served');
    const { replacements } = await watchAfterRelease(s, at);
    assert.equal(s.specReplicas(), 2, 'the replicas stay');
    assert.equal(replacements.length, 1, JSON.stringify(replacements));
    assert.equal(replacements[0]!.name, me.body.session!.instance, "the replacement is the waiter's");
    assert.deepEqual(s.live().map((g) => g.status?.state), ['Allocated', 'Allocated']);
    assert.deepEqual(lines(s, /release-time shrink: lowered/), []);
    assert.equal(lines(s, /session ended: the policy keeps 2 \(.*1 allocated \+ 1 queued/).length, 1, `asked, and kept: ${lines(s, /session ended/).join(' | ')}`);
  });

  it('on, but a schedule rule holds 2: the replicas stay and the replacement is kept', async () => {
    const { s, at } = await oneOfTwoLeaves(`${QUIET}schedule:\n  - {days: '*', from: '00:00', to: '00:00', minReplicas: 2}\n`);
    await assertRefilled(s, at);
    assert.equal(lines(s, /session ended: the policy keeps 2 \(.*schedule/).length, 1, `asked, and kept: ${lines(s, /session ended/).join(' | ')}`);
  });

  it("on, but the Fleet is not sized by sdfleet's webhook (no FleetAutoscaler): never lowered", async () => {
    // Nothing would raise the replicas again: the Fleet refills as Agones would.
    const { s, at } = await oneOfTwoLeaves(QUIET, false);
    await assertRefilled(s, at);
    assert.equal(lines(s, /session ended: the policy wants 1 of 2/).length, 1, lines(s, /session ended/).join(' | '));
    assert.equal(lines(s, /not sdfleet's webhook's Fleet/).length, 1);
  });
});

describe('grow on arrival, end to end (embedded control plane, allocator as leader, Webhook policy syncing hourly)', () => {
  /** Users who queue at a full Fleet of 1 (its holder's), after the FleetAutoscaler's first sync. */
  async function queueAtFullFleet(policyYaml: string, names: string[]): Promise<{ s: Setup; waiters: Browser[] }> {
    const s = await setUp(1, policyYaml);
    await sessions(s, ['holder']);
    await webhookAutoscaler(s, 1);
    const waiters: Browser[] = [];
    for (const name of names) {
      const w = await s.browser(name);
      const r = await w.start();
      assert.ok(r.status === 202 || r.status === 201, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
      waiters.push(w);
    }
    return { s, waiters };
  }
  const served = (w: Browser) => until(() => w.api<{ session?: { state: string } }>('GET', '/sessions/me'), (r) => r.body.session?.state === 'active', 10_000, 'served');

  it('on (the default): users queue at a full Fleet, which grows at once, not at the next sync, and they are served', async () => {
    const { s, waiters } = await queueAtFullFleet(QUIET, ['w1', 'w2']);
    for (const w of waiters) await served(w);
    assert.equal(s.specReplicas(), 3, '1 holder + 2 who queued');
    assert.ok(lines(s, /grow on arrival: raised/).length >= 1, lines(s, /arrival/).join(' | '));
    assert.ok(lines(s, /autoscaler: arrival: the policy wants \d+ of \d+ \(queue\)/).length >= 1, lines(s, /arrival/).join(' | '));
    const metrics = await (await fetch(`${s.alloc.url}/metrics`)).text();
    const grown = /^sdfleet_fleet_resizes_total\{fleet="sd-webui",step="grow",result="set"\} (\d+)$/m.exec(metrics);
    assert.ok(grown && Number(grown[1]) >= 1, `the write is counted: ${metrics.split('\n').filter((l) => l.includes('resizes')).join(' | ')}`);
  });

  it('off (growOnArrival: false): the same users wait for the next sync', async () => {
    const { s, waiters } = await queueAtFullFleet(`${QUIET}growOnArrival: false\n`, ['w1']);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    assert.equal(s.specReplicas(), 1, 'nothing grows the Fleet before the sync');
    const me = await waiters[0]!.api<{ queue?: { position: number } }>('GET', '/sessions/me');
    assert.equal(me.body.queue?.position, 1, 'still waiting');
    assert.deepEqual(lines(s, /grow on arrival|autoscaler: arrival/), [], 'nothing asked: the setting is off');
  });

  it('on: the last warm one is taken and its replacement starts at the take', async () => {
    // One warm instance wanted at any time; the Fleet holds just that one.
    const s = await setUp(1, 'maxReplicas: 6\nminWarm: 1\nmaxWarm: 1\n');
    await webhookAutoscaler(s, 1);
    const taker = await sessions(s, ['taker']);
    await until(() => s.specReplicas(), (r) => r === 2, 5000, 'grown from 1 to 2 at the take');
    await until(() => s.live().filter((g) => g.status?.state === 'Ready').length, (n) => n === 1, 5000, 'a new warm one Ready');
    assert.deepEqual(s.live().filter((g) => g.status?.state === 'Allocated').map((g) => g.metadata.name), [taker[0]!.instance]);
    assert.equal(lines(s, /grow on arrival: raised/).length, 1, lines(s, /arrival/).join(' | '));
  });
});
