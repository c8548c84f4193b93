/**
 * The embedded control plane with real processes: a Fleet of wrapper + sim-webui instances,
 * a WebUI killed with SIGKILL, scale-down around an Allocated instance, and 200 concurrent
 * allocations against 50 Ready instances (light processes), all through the Kubernetes API.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import { isRunning, logFileOf } from '../fleet/control-plane/runner/process-runner.ts';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from './helpers/embedded.ts';
import { isListening } from './helpers/net.ts';
import { readFileSync } from 'node:fs';

function readLog(r: EmbeddedRig, name: string): string | undefined {
  try {
    return readFileSync(logFileOf(join(r.dataDir, 'logs'), 'default', name), 'utf8');
  } catch {
    return undefined;
  }
}


const rigs: EmbeddedRig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});

function wrappedSimWebui(dataDir: string): string[] {
  return [
    'sdfleet', 'wrapper', '--lib-dir', join(dataDir, 'lib'), '--no-lib-require-mount', '--user-store', join(dataDir, 'user-store'),
    '--liveness-interval', '1', '--stop-grace', '3', '--log-level', 'info',
    '--', 'sdfleet', 'sim-webui', '--port', '{port}', '--boot-ms', '100', '--log-level', 'warn',
  ];
}

describe('embedded control plane with real processes', () => {
  it('a Fleet of wrapper + sim-webui reaches Ready; a WebUI killed -9 turns Unhealthy and is replaced; scale-down leaves Allocated alone', async () => {
    const r = await embeddedRig();
    rigs.push(r);
    r.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', 2, wrappedSimWebui(r.dataDir), { initialDelaySeconds: 30, periodSeconds: 2, failureThreshold: 3 }));
    // The wrapper annotates its phase table right after Ready.
    const first = await r.until((g) => ready(g).filter((x) => x.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)]).length === 2, '2 Ready with their phases', 60_000);
    for (const gs of first) {
      const port = gs.status?.ports?.[0]?.port ?? 0;
      const ping = await fetch(`http://127.0.0.1:${port}/internal/ping`);
      assert.equal(ping.status, 200, `the WebUI answers on the GameServer's port ${port}`);
    }

    // kill -9 the WebUI of one: its wrapper sees it, exits, the GameServer turns Unhealthy, the Fleet replaces it.
    const victim = first[0]!;
    const log = await readFile(logFileOf(join(r.dataDir, 'logs'), 'default', victim.metadata.name!), 'utf8');
    const webuiPid = Number(/"pid":(\d+),"command":"sdfleet sim-webui/.exec(log)?.[1]);
    assert.ok(webuiPid > 0, 'found the WebUI pid in the GameServer log');
    const states: string[] = [];
    const w = r.e.controlPlane.store.watch('gameservers.agones.dev', { fieldSelector: `metadata.name=${victim.metadata.name}`, resourceVersion: r.e.controlPlane.store.currentResourceVersion() }, (ev) => {
      states.push(ev.type === 'DELETED' ? 'DELETED' : String((ev.object as { status?: { state?: string } }).status?.state));
    });
    process.kill(webuiPid, 'SIGKILL');
    await r.until((g) => !g.some((x) => x.metadata.name === victim.metadata.name) && ready(g).length === 2, 'the replacement', 60_000);
    w.stop();
    assert.ok(states.includes('Unhealthy'), `went Unhealthy before it was deleted: ${states.join(' → ')}`);
    assert.equal(states.at(-1), 'DELETED');
    const reason = r.e.controlPlane.store.list('events').items.find((e) => e.reason === 'Unhealthy' && (e.involvedObject as { name: string }).name === victim.metadata.name);
    assert.match(String(reason?.message), /process exited \(code 5\)/);

    // Allocate one, scale to zero: the Allocated one stays, and keeps serving.
    const gsa = await r.allocate({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }], metadata: { labels: { 'sdfleet.dev/user': 'u-alice' } } } });
    assert.equal(gsa.status.state, 'Allocated');
    await r.scale('sd-webui', 0);
    const left = await r.until((g) => g.length === 1, 'only the Allocated one', 30_000);
    assert.equal(left[0]!.metadata.name, gsa.status.gameServerName);
    assert.equal(left[0]!.status?.state, 'Allocated');
    assert.equal(await isListening(left[0]!.status?.ports?.[0]?.port ?? 0), true);
  });

  it('GPUs: each GameServer gets its own device; with none free it waits visibly, then gets the freed one', async () => {
    const r = await embeddedRig({ portRange: { min: 33000, max: 33999 }, gpus: ['0'] });
    rigs.push(r);
    r.e.controlPlane.store.create('fleets.agones.dev', fleetOf('gpu', 2, undefined, undefined, { limits: { 'nvidia.com/gpu': 1 } }));
    const [first] = await r.until((g) => ready(g).length === 1 && g.some((x) => x.status?.state === 'Starting'), 'one Ready, one waiting', 30_000);
    const holder = ready(r.gameServers())[0]!;
    const waiting = r.gameServers().find((g) => g.status?.state === 'Starting')!;
    assert.ok(first);
    await r.until(() => (readLog(r, holder.metadata.name!) ?? '').includes('CUDA_VISIBLE_DEVICES=0'), 'the holder sees GPU 0', 5000);
    const event = r.e.controlPlane.store.list('events').items.find((e) => e.reason === 'FailedScheduling' && (e.involvedObject as { name: string }).name === waiting.metadata.name);
    assert.match(String(event?.message), /0\/1 GPUs free: waits for 1 nvidia.com\/gpu/);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(r.gameServers().find((g) => g.metadata.name === waiting.metadata.name)?.status?.state, 'Starting', 'still waiting');
    r.e.controlPlane.store.delete('gameservers.agones.dev', 'default', holder.metadata.name!);
    await r.until((g) => g.find((x) => x.metadata.name === waiting.metadata.name)?.status?.state === 'Ready', 'the waiting one gets the GPU', 30_000);
    assert.match(readLog(r, waiting.metadata.name!) ?? '', /CUDA_VISIBLE_DEVICES=0/);
  });

  it('no process outlives the control plane', async () => {
    const r = await embeddedRig({ portRange: { min: 34000, max: 34999 } });
    rigs.push(r);
    r.e.controlPlane.store.create('fleets.agones.dev', fleetOf('short', 3));
    // A process says Ready, then logs its pid: wait for both.
    const gss = await r.until((g) => ready(g).length === 3 && g.every((x) => /pid=\d+/.test(readLog(r, x.metadata.name!) ?? '')), '3 Ready with their pids logged', 30_000);
    const pids = gss.map((g) => Number(/pid=(\d+)/.exec(readLog(r, g.metadata.name!) ?? '')?.[1]));
    assert.ok(pids.every((p) => p > 0 && isRunning(p)), `pids ${pids.join(',')}`);
    await r.close();
    assert.deepEqual(pids.filter(isRunning), [], 'all gone');
  });

  it('200 concurrent allocations against 50 Ready: exactly 50 Allocated, 150 UnAllocated, no GameServer twice', async () => {
    const r = await embeddedRig({ portRange: { min: 31000, max: 31999 } });
    rigs.push(r);
    r.e.controlPlane.store.create('fleets.agones.dev', fleetOf('pool', 50));
    await r.until((g) => ready(g).length === 50, '50 Ready', 90_000);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => r.allocate({
      apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation',
      spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'pool' } }], metadata: { annotations: { 'sdfleet.dev/session': `s${i}` } } },
    })));
    const allocated = results.filter((x) => x.status.state === 'Allocated');
    assert.equal(allocated.length, 50);
    assert.equal(results.filter((x) => x.status.state === 'UnAllocated').length, 150);
    const names = allocated.map((x) => x.status.gameServerName);
    assert.equal(new Set(names).size, 50, 'no GameServer twice');
    // Each GameServer carries the session of exactly the allocation that got it.
    for (const a of allocated) {
      const gs = r.gameServers().find((g) => g.metadata.name === a.status.gameServerName)!;
      assert.equal(gs.metadata.annotations?.['sdfleet.dev/session'], (a.spec as { metadata: { annotations: Record<string, string> } }).metadata.annotations['sdfleet.dev/session']);
    }
  });
});
