import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibDiskError } from './errors.ts';
import { runLoop } from './agent.ts';
import { formatPlan } from './plan.ts';
import { NODE, TAINT, startRig, type Rig } from './testing/rig.ts';

const WRITES = ['disks.insert', 'instances.attachDisk'];

async function withRig(fn: (r: Rig) => Promise<void>, opts?: Parameters<typeof startRig>[0]): Promise<void> {
  const r = await startRig(opts);
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, text: RegExp): Promise<LibDiskError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LibDiskError, `expected a LibDiskError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, text);
    return err;
  }
  assert.fail(`expected ${code}`);
}

function taintKeys(r: Rig): string[] {
  return (r.kube.nodes.get(NODE)?.spec?.taints ?? []).map((t) => t.key);
}

describe('lib-disk agent against loopback fakes', { timeout: 30_000 }, () => {
  it('per-node: creates the disk from the image, attaches it, waits on operations, mounts, verifies, marks, untaints', () =>
    withRig(async (r) => {
      r.compute.pollsPerOperation = 2;
      const result = await r.agent().pass();
      const name = result.plan.target.choice.name;
      assert.match(name, /^sdfleet-lib-gke-sd-gpu-pool-1a2b3c4d-x7k2-[0-9a-f]{8}$/);
      const disk = r.compute.disks.get(name)!;
      assert.equal(disk.status, 'READY');
      assert.equal(disk.type, 'pd-balanced');
      assert.equal(disk.sourceImage, r.image.path);
      assert.equal(disk.labels['sdfleet-strategy'], 'per-node');
      const attached = r.compute.instances.get(NODE)!.disks.find((d) => d.source.endsWith(`/disks/${name}`))!;
      assert.deepEqual([attached.mode, attached.autoDelete, attached.deviceName], ['READ_ONLY', true, name]);
      // Each operation was waited on until DONE: two RUNNING answers, then DONE.
      assert.deepEqual(r.compute.calls.filter((c) => c !== 'disks.get' && c !== 'instances.get'), [
        'disks.insert', 'zoneOperations.wait', 'zoneOperations.wait', 'zoneOperations.wait',
        'instances.attachDisk', 'zoneOperations.wait', 'zoneOperations.wait', 'zoneOperations.wait',
      ]);
      assert.deepEqual(r.mounter.calls.map((c) => [c.device, c.fsType, c.options.join(',')]), [[join(r.byIdDir, `google-${name}`), 'ext4', 'ro,noload']]);
      const marker = JSON.parse(await readFile(r.markerPath, 'utf8')) as Record<string, unknown>;
      assert.equal(marker.version, '2025.06-1');
      assert.equal(marker.image, r.image.path);
      assert.equal(typeof marker.mountedAt, 'string');
      assert.deepEqual(taintKeys(r), ['nvidia.com/gpu']);
      assert.equal(result.version, '2025.06-1');
      for (const phase of ['inspect', 'create', 'attach', 'device', 'mount', 'verify', 'marker', 'taint', 'total'] as const) {
        assert.ok((result.timings[phase] ?? -1) >= 0, `phase ${phase} timed`);
      }
      const metrics = await r.registry.metrics();
      assert.match(metrics, /sdfleet_lib_disk_phase_seconds\{phase="attach"\} \d/);
      assert.match(metrics, /sdfleet_lib_disk_ready 1/);
      assert.ok(r.metadata.tokenRequests >= 1, 'the Compute calls carried the metadata server token');
    }));

  it('already attached and mounted: a second pass changes nothing', () =>
    withRig(async (r) => {
      await r.agent().pass();
      const before = r.compute.calls.length;
      const second = await r.agent().pass();
      assert.deepEqual(second.plan.steps.map((s) => s.kind), ['remove-taint']);
      assert.deepEqual(r.compute.calls.slice(before), ['instances.get', 'disks.get']);
      assert.equal(r.mounter.calls.length, 1);
    }));

  it('after a reboot (mount gone, disk still attached) it clears the stale marker and mounts again', () =>
    withRig(async (r) => {
      await r.agent().pass();
      await r.mounter.reboot();
      const plan = await r.agent().plan();
      assert.deepEqual(plan.steps.map((s) => s.kind), ['clear-marker', 'mount', 'verify', 'write-marker', 'remove-taint']);
      await r.agent().pass();
      assert.equal(r.mounter.calls.length, 2);
      assert.ok(!r.compute.calls.slice(-4).some((c) => WRITES.includes(c)));
      assert.equal(r.compute.calls.filter((c) => WRITES.includes(c)).length, 2, 'one insert and one attach in all');
      assert.equal((JSON.parse(await readFile(r.markerPath, 'utf8')) as { version: string }).version, '2025.06-1');
    }));

  it('--dry-run: prints the plan and makes no change', () =>
    withRig(async (r) => {
      const plan = await r.agent().plan();
      const text = formatPlan(plan);
      assert.match(text, /create disk sdfleet-lib-gke-sd-gpu-pool-1a2b3c4d-x7k2-\w+ in us-central1-a: pd-balanced from projects\/sdfleet-images\/global\/images\/sdfleet-lib-2025-06-1/);
      assert.match(text, /attach .* READ_ONLY, deleted with the instance/);
      assert.match(text, /mount .* \(ext4, ro,noload\) in the host's mount namespace/);
      assert.match(text, /remove taint startup-taint\.cluster-autoscaler\.kubernetes\.io\/sdfleet-lib-disk/);
      assert.deepEqual([...new Set(r.compute.calls)].sort(), ['disks.get', 'instances.get']);
      assert.equal(r.mounter.calls.length, 0);
      assert.deepEqual(taintKeys(r), ['nvidia.com/gpu', TAINT]);
    }));

  it('shared on a G2 node: one Hyperdisk ML disk, READ_ONLY_MANY, not deleted with the node', () =>
    withRig(async (r) => {
      const result = await r.agent({ strategy: 'shared' }).pass();
      const c = result.plan.target.choice;
      assert.equal(c.name, 'sdfleet-lib-hdml-sdfleet-lib-2025-06-1');
      const disk = r.compute.disks.get(c.name)!;
      assert.deepEqual([disk.type, disk.accessMode], ['hyperdisk-ml', 'READ_ONLY_MANY']);
      const a = r.compute.instances.get(NODE)!.disks.find((d) => d.deviceName === c.deviceName)!;
      assert.deepEqual([a.mode, a.autoDelete], ['READ_ONLY', false]);
    }));

  it('shared on an N1 node: pd-balanced attached read-only', () =>
    withRig(async (r) => {
      const result = await r.agent({ strategy: 'shared' }).pass();
      const disk = r.compute.disks.get(result.plan.target.choice.name)!;
      assert.equal(result.plan.target.choice.name, 'sdfleet-lib-pd-balanced-sdfleet-lib-2025-06-1');
      assert.deepEqual([disk.type, disk.accessMode], ['pd-balanced', 'READ_WRITE_SINGLE']);
    }, { machineType: 'n1-standard-8' }));

  it('shared, another node creating the disk at the same time: 409 on insert, wait for READY, attach', () =>
    withRig(async (r) => {
      const name = 'sdfleet-lib-hdml-sdfleet-lib-2025-06-1';
      r.compute.onCall = (method) => {
        if (method !== 'disks.insert' || r.compute.disks.has(name)) return;
        r.compute.disks.set(name, { name, status: 'CREATING', type: 'hyperdisk-ml', sourceImage: r.image.path, accessMode: 'READ_ONLY_MANY', users: [], labels: {} });
        setTimeout(() => (r.compute.disks.get(name)!.status = 'READY'), 100);
      };
      r.compute.failNext('disks.insert', { status: 409, message: `The resource 'projects/test-project/zones/us-central1-a/disks/${name}' already exists`, reason: 'alreadyExists' });
      await r.agent({ strategy: 'shared' }).pass();
      assert.ok(r.compute.instances.get(NODE)!.disks.some((d) => d.deviceName === name));
      assert.ok(r.compute.calls.filter((c) => c === 'disks.get').length >= 2, 'polled the disk until READY');
    }));

  it('403 on disks.insert names the missing permission', () =>
    withRig(async (r) => {
      r.compute.failNext('disks.insert', { status: 403, message: "Required 'compute.disks.create' permission for 'projects/test-project/zones/us-central1-a/disks/x'" });
      await rejectsWith(r.agent().pass(), 'permission_denied', /disks\.insert on projects\/test-project\/zones\/us-central1-a\/disks\/\S+ was denied .*needs compute\.disks\.create, compute\.images\.useReadOnly .*Workload Identity/);
      assert.match(await r.registry.metrics(), /sdfleet_lib_disk_ready 0/);
      assert.deepEqual(taintKeys(r), ['nvidia.com/gpu', TAINT], 'taint stays until the disk is ready');
    }));

  it('403 on instances.attachDisk names attachDisk and useReadOnly', () =>
    withRig(async (r) => {
      r.compute.failNext('instances.attachDisk', { status: 403, message: "Required 'compute.instances.attachDisk' permission" });
      await rejectsWith(r.agent().pass(), 'permission_denied', /needs compute\.instances\.attachDisk, compute\.disks\.useReadOnly/);
    }));

  it('404 on the instance: says the node name must be the instance name', () =>
    withRig(async (r) => {
      await rejectsWith(r.agent({ node: 'no-such-node' }).plan(), 'not_found', /instances\/no-such-node was not found.*Downward API spec\.nodeName/);
    }));

  it('404 on the image: names the image', () =>
    withRig(async (r) => {
      r.compute.images.clear();
      await rejectsWith(r.agent().pass(), 'not_found', /disks\.insert: .* was not found .*Check that the image projects\/sdfleet-images\/global\/images\/sdfleet-lib-2025-06-1 exists/);
    }));

  it('409 on attach that is not "already attached": a conflict with what to do', () =>
    withRig(async (r) => {
      r.compute.failNext('instances.attachDisk', { status: 409, message: 'Operation on the instance conflicts with another operation' });
      await rejectsWith(r.agent().pass(), 'conflict', /instances\.attachDisk on .* conflicts with the current state/);
    }));

  it('a failed operation: the operation error is the message', () =>
    withRig(async (r) => {
      r.compute.failOperation('instances.attachDisk', { code: 'RESOURCE_OPERATION_RATE_EXCEEDED', message: 'Operation rate exceeded for resource', httpStatus: 403 });
      await rejectsWith(r.agent().pass(), 'operation_failed', /operation operation-\d+-attachDisk failed \(HTTP 403\): RESOURCE_OPERATION_RATE_EXCEEDED: Operation rate exceeded.*compute\.instances\.attachDisk/);
    }));

  it('a device that never appears: a timeout that says what to check', () =>
    withRig(async (r) => {
      const t0 = Date.now();
      await rejectsWith(r.agent({ deviceTimeoutMs: 300 }).pass(), 'device_timeout', /device .*google-sdfleet-lib-.* did not appear within 0 s after disk .* was attached\. Check on the node: `ls -l \/dev\/disk\/by-id\/`/);
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(r.mounter.calls.length, 0);
    }, { deviceAppears: false }));

  it('content that does not match the manifest: no marker, taint kept', () =>
    withRig(async (r) => {
      await writeFile(join(r.content, 'webui', 'launch.py'), 'print("tampered")\n');
      await rejectsWith(r.agent().pass(), 'verify_failed', /webui\/launch\.py has (\d+ bytes|sha256)/);
      await assert.rejects(readFile(r.markerPath), /ENOENT/);
      assert.deepEqual(taintKeys(r), ['nvidia.com/gpu', TAINT]);
    }));

  it('--image-version that the disk does not have', () =>
    withRig(async (r) => {
      await rejectsWith(r.agent({ imageVersion: '2024.01-9' }).pass(), 'verify_failed', /manifest says version "2025\.06-1" but --image-version is "2024\.01-9"/);
    }));

  it('a disk of the same name from another image is refused', () =>
    withRig(async (r) => {
      const name = 'sdfleet-lib-hdml-sdfleet-lib-2025-06-1';
      r.compute.disks.set(name, { name, status: 'READY', type: 'hyperdisk-ml', sourceImage: 'projects/x/global/images/other', accessMode: 'READ_ONLY_MANY', users: [], labels: {} });
      await rejectsWith(r.agent({ strategy: 'shared' }).plan(), 'conflict', /exists but was made from .*images\/other, not projects\/sdfleet-images/);
    }));

  it('something else mounted at the mount point is refused', () =>
    withRig(async (r) => {
      r.mounter.mounts.set(r.mountDir, { source: '/dev/sdz', target: r.mountDir, fsType: 'ext4', options: 'rw' });
      await rejectsWith(r.agent().pass(), 'conflict', /already has \/dev\/sdz \(ext4\) mounted, not the lib disk/);
    }));

  it('a mount failure passes mount\'s own words on', () =>
    withRig(async (r) => {
      r.mounter.failNext = 'mount: wrong fs type, bad option, bad superblock on /dev/sdb';
      await rejectsWith(r.agent().pass(), 'mount_failed', /wrong fs type/);
    }));

  it('403 from Kubernetes on the taint: names the verbs on nodes', () =>
    withRig(async (r) => {
      r.kube.failNext(403);
      await rejectsWith(r.agent().pass(), 'taint_failed', /forbidden: .* needs "get" and "patch" on nodes/);
    }));

  it('the loop retries a failed pass with backoff, then keeps the disk ready', () =>
    withRig(async (r) => {
      r.compute.failNext('instances.get', { status: 403, message: "Required 'compute.instances.get' permission" });
      const ac = new AbortController();
      const done = runLoop(r.agent(), { recheckMs: 50, backoffMs: 20, signal: ac.signal, log: r.options().log });
      const deadline = Date.now() + 10_000;
      while (!(await readFile(r.markerPath, 'utf8').catch(() => '')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      ac.abort();
      await done;
      assert.match(await r.registry.metrics(), /sdfleet_lib_disk_passes_total\{result="error"\} 1/);
      assert.match(await r.registry.metrics(), /sdfleet_lib_disk_passes_total\{result="ok"\} [1-9]/);
    }));
});

describe('metadata and Compute auth', { timeout: 10_000 }, () => {
  let r: Rig;
  before(async () => {
    r = await startRig();
  });
  after(() => r.close());

  it('project and zone from the metadata server; instance/name hidden as under Workload Identity', async () => {
    const { GceMetadata } = await import('./metadata.ts');
    const { resolveLocation } = await import('./agent.ts');
    const md = new GceMetadata({ host: r.metadata.host });
    assert.deepEqual(await resolveLocation(md, {}), { project: 'test-project', zone: 'us-central1-a' });
    assert.deepEqual(await resolveLocation(md, { zone: 'europe-west4-b' }), { project: 'test-project', zone: 'europe-west4-b' });
    await rejectsWith(md.get('instance/name'), 'metadata_unavailable', /has no instance\/name \(404\).*Workload Identity/);
  });

  it('an unreachable metadata server says what to set', async () => {
    const { GceMetadata } = await import('./metadata.ts');
    const md = new GceMetadata({ host: '127.0.0.1:1', timeoutMs: 1000 });
    await rejectsWith(md.projectId(), 'metadata_unavailable', /did not answer project\/project-id .*GCE_METADATA_HOST/);
  });

  it('a wrong token is refused by Compute and reported as such', async () => {
    const { GoogleDiskApi } = await import('./compute.ts');
    const api = new GoogleDiskApi({ project: r.compute.project, endpoint: r.compute.url, log: r.options().log, token: async () => ({ token: 'wrong', expiresAt: Date.now() + 3_600_000 }) });
    try {
      await rejectsWith(api.getInstance(r.compute.zone, NODE), 'unauthenticated', /did not accept the access token/);
    } finally {
      await api.close();
    }
  });
});
