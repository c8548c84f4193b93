/** Everything an agent test needs: the three fakes, a disk's content, temp dirs, an agent factory. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../../common/log.ts';
import { LibDiskAgent, type LibDiskAgentOptions } from '../agent.ts';
import { GoogleDiskApi } from '../compute.ts';
import { MANIFEST_FILE, type LibManifest } from '../manifest.ts';
import { GceMetadata } from '../metadata.ts';
import { LibDiskMetrics } from '../metrics.ts';
import { HYPERDISK_ML_SERIES, parseImage, type ImageRef } from '../names.ts';
import { KubeNodeTaints } from '../taint.ts';
import { startFakeCompute, type FakeCompute } from './fake-compute.ts';
import { startFakeKube, type FakeKube } from './fake-kube.ts';
import { startFakeMetadata, type FakeMetadata } from './fake-metadata.ts';
import { FakeMounter } from './fake-mounter.ts';

export const NODE = 'gke-sd-gpu-pool-1a2b3c4d-x7k2';
export const TAINT = 'startup-taint.cluster-autoscaler.kubernetes.io/sdfleet-lib-disk';

export interface RigOptions {
  machineType?: string;
  /** Make the by-id link appear when a disk is attached; default true. */
  deviceAppears?: boolean;
  log?: Logger;
}

export interface Rig {
  metadata: FakeMetadata;
  compute: FakeCompute;
  kube: FakeKube;
  diskApi: GoogleDiskApi;
  mounter: FakeMounter;
  metrics: LibDiskMetrics;
  registry: Registry;
  image: ImageRef;
  manifest: LibManifest;
  /** The temp folder; `byIdDir`, `mountDir`, `markerPath` and `content` are inside it. */
  dir: string;
  byIdDir: string;
  mountDir: string;
  markerPath: string;
  /** The folder standing for the image's file system. */
  content: string;
  /** Options of `agent()` before overrides. */
  options(over?: Partial<LibDiskAgentOptions>): LibDiskAgentOptions;
  agent(over?: Partial<LibDiskAgentOptions>): LibDiskAgent;
  /** Makes the by-id link for a device name (as udev would). */
  addDevice(deviceName: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(o: RigOptions = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-lib-disk-'));
  const byIdDir = join(dir, 'dev', 'disk', 'by-id');
  const devDir = join(dir, 'dev');
  const content = join(dir, 'image-content');
  const mountDir = join(dir, 'host', 'mnt', 'disks', 'sdfleet', 'lib');
  const markerPath = join(dir, 'host', 'mnt', 'disks', 'sdfleet', '.sdfleet-ready');
  await mkdir(byIdDir, { recursive: true });
  await mkdir(mountDir, { recursive: true });
  const manifest = await writeImageContent(content, '2025.06-1');

  const metadata = await startFakeMetadata({ token: 'tok-1' });
  const compute = await startFakeCompute({ token: 'tok-1' });
  const kube = await startFakeKube();
  const image = parseImage('projects/sdfleet-images/global/images/sdfleet-lib-2025-06-1', compute.project);
  compute.images.add(image.path);
  compute.instances.set(NODE, {
    name: NODE, machineType: o.machineType ?? 'g2-standard-8',
    disks: [{ deviceName: 'persistent-disk-0', source: `https://www.googleapis.com/compute/v1/projects/${compute.project}/zones/${compute.zone}/disks/${NODE}`, mode: 'READ_WRITE', autoDelete: true, boot: true }],
  });
  kube.nodes.set(NODE, {
    apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, resourceVersion: '1' },
    spec: { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }, { key: TAINT, value: 'true', effect: 'NoSchedule' }] },
  });

  let devices = 0;
  const deviceFiles = new Set<string>();
  const addDevice = async (deviceName: string): Promise<void> => {
    const dev = join(devDir, `sd${String.fromCharCode(98 + devices++)}`);
    await writeFile(dev, '');
    deviceFiles.add(dev);
    await symlink(dev, join(byIdDir, `google-${deviceName}`));
  };
  const pending: Promise<void>[] = [];
  if (o.deviceAppears !== false) compute.onAttach = (_i, d) => void pending.push(addDevice(d.deviceName));

  const diskApi = new GoogleDiskApi({
    project: compute.project, endpoint: compute.url, log: o.log ?? silentLogger(),
    token: () => new GceMetadata({ host: metadata.host }).accessToken(),
  });
  const mounter = new FakeMounter((device) => (deviceFiles.has(device) ? content : undefined));
  const registry = new Registry();
  const metrics = new LibDiskMetrics(registry);
  const options = (over: Partial<LibDiskAgentOptions> = {}): LibDiskAgentOptions => ({
    node: NODE, project: compute.project, zone: compute.zone, image, strategy: 'per-node', diskType: 'auto',
    hyperdiskMlSeries: HYPERDISK_ML_SERIES, byIdDir, hostRoot: '', mountDir, markerPath, fsType: 'ext4', verify: 'full',
    taintKey: TAINT, taints: new KubeNodeTaints(kube.kubeConfig()), deviceTimeoutMs: 5000, devicePollMs: 20, diskPollMs: 20,
    diskReadyTimeoutMs: 5000, compute: diskApi, mounter, metrics, log: o.log ?? silentLogger(),
    ...over,
  });
  return {
    metadata, compute, kube, diskApi, mounter, metrics, registry, image, manifest, dir, byIdDir, mountDir, markerPath, content, options,
    agent: (over) => new LibDiskAgent(options(over)),
    addDevice,
    close: async () => {
      await Promise.allSettled(pending);
      await diskApi.close();
      await Promise.all([metadata.stop(), compute.stop(), kube.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A small stand-in for the runtime: a few files and their manifest. */
export async function writeImageContent(dir: string, version: string): Promise<LibManifest> {
  const files: Record<string, string> = {
    'venv/bin/python': '#!/bin/sh\necho python\n',
    'webui/launch.py': 'print("webui")\n',
    'webui/extensions/a/install.py': 'x = 1\n',
  };
  const manifest: LibManifest = { version, files: [] };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
    manifest.files.push({ path, size: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
  }
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  return manifest;
}
