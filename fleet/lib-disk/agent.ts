import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { DiskApi } from './compute.ts';
import { devicePath, resolveDevice, waitForDevice } from './device.ts';
import { LibDiskError } from './errors.ts';
import { verifyManifest, type LibManifest, type VerifyMode } from './manifest.ts';
import { clearMarker, writeMarker, type ReadyMarker } from './marker.ts';
import type { GceMetadata } from './metadata.ts';
import type { LibDiskMetrics, Phase } from './metrics.ts';
import { readOnlyOptions, type Mounter } from './mounter.ts';
import { chooseDisk, sameImage, type ImageRef, type Strategy } from './names.ts';
import { decidePlan, type Plan, type Step, type Target } from './plan.ts';
import type { NodeTaints } from './taint.ts';

export interface LibDiskAgentOptions {
  /** The node, i.e. the GCE instance (Downward API spec.nodeName). */
  node: string;
  project: string;
  zone: string;
  image: ImageRef;
  /** The manifest's version must equal this; default: whatever the image has. */
  imageVersion?: string;
  strategy: Strategy;
  /** `auto`, or a disk type name. */
  diskType: string;
  /** Disk name prefix; default `sdfleet-lib`. */
  prefix?: string;
  hyperdiskMlSeries: readonly string[];
  /** Disk size; default the image's. */
  sizeGb?: number;
  /** Where attached disks' links are, as the host sees it; default /dev/disk/by-id. */
  byIdDir?: string;
  /** Where the host's root is visible to the agent: `/proc/1/root` in a hostPID pod, '' on the host. */
  hostRoot: string;
  /** The mount point on the host. */
  mountDir: string;
  /** The marker on the host (never inside the read-only mount). */
  markerPath: string;
  fsType: string;
  verify: VerifyMode;
  manifestFile?: string;
  /** The startup taint to remove; undefined: leave taints alone. */
  taintKey?: string;
  /** How long the device may take to appear after the attach; default 120 s. */
  deviceTimeoutMs?: number;
  /** How long a disk another node is creating may take to be READY; default 10 min. */
  diskReadyTimeoutMs?: number;
  /** Poll interval while waiting for a disk or a device; default 2 s and 250 ms. */
  diskPollMs?: number;
  devicePollMs?: number;
  compute: DiskApi;
  mounter: Mounter;
  /** Required when taintKey is set. */
  taints?: NodeTaints;
  metrics?: LibDiskMetrics;
  log: Logger;
}

interface StepContext {
  plan: Plan;
  timed: <T>(phase: Phase, fn: () => Promise<T>) => Promise<T>;
  signal?: AbortSignal;
  /** Set by the verify step, read by the marker step. */
  manifest?: LibManifest;
}

export interface PassResult {
  plan: Plan;
  /** Milliseconds per phase that ran. */
  timings: Partial<Record<Phase, number>>;
  /** The marker written (or found) at the end. */
  version: string | undefined;
}

/**
 * The node agent: one `pass()` makes the node's lib disk exist, attached, mounted,
 * verified, marked and the node untainted, skipping whatever is already so. Safe to run
 * again at any time: after a crash, a reboot, or on every node of a zone at once.
 */
export class LibDiskAgent {
  readonly #o: LibDiskAgentOptions;

  constructor(opts: LibDiskAgentOptions) {
    if (opts.taintKey && !opts.taints) throw new LibDiskError('bad_input', 'a taint key was given without a Kubernetes client to remove it');
    this.#o = opts;
  }

  /** Looks (instance, disk, device, mount, marker) and decides; changes nothing. `--dry-run` prints it. */
  async plan(): Promise<Plan> {
    const o = this.#o;
    const instance = await o.compute.getInstance(o.zone, o.node);
    const choice = chooseDisk({
      strategy: o.strategy, node: o.node, image: o.image, machineType: instance.machineType,
      prefix: o.prefix ?? 'sdfleet-lib', diskType: o.diskType, hyperdiskMlSeries: o.hyperdiskMlSeries,
    });
    const disk = await o.compute.getDisk(o.zone, choice.name);
    const attachment = instance.disks.find((d) => d.diskName === choice.name && (d.diskZone === o.zone || d.diskZone === ''));
    // An attachment made earlier keeps its device name; the link follows it.
    const devPath = devicePath(o.byIdDir ?? '/dev/disk/by-id', attachment?.deviceName || choice.deviceName);
    const devPresent = await exists(o.hostRoot + devPath);
    const target: Target = {
      node: o.node, project: o.project, zone: o.zone, image: o.image, choice,
      ...(o.sizeGb ? { sizeGb: o.sizeGb } : {}),
      devicePath: devPath, mountDir: o.mountDir, fsType: o.fsType, mountOptions: readOnlyOptions(o.fsType),
      markerPath: o.markerPath, verify: o.verify, taintKey: o.taintKey,
    };
    return decidePlan(target, {
      instance, disk, attachment,
      device: devPresent ? await resolveDevice(devPath, o.hostRoot) : undefined,
      mount: await o.mounter.mountAt(o.mountDir),
      markerPresent: await exists(o.hostRoot + o.markerPath),
    });
  }

  /** One pass: plan, then each step in order. Rejects with a LibDiskError saying what to fix. */
  async pass(signal?: AbortSignal): Promise<PassResult> {
    const o = this.#o;
    const timings: Partial<Record<Phase, number>> = {};
    const started = performance.now();
    const timed = async <T>(phase: Phase, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        const ms = performance.now() - t0;
        timings[phase] = (timings[phase] ?? 0) + ms;
        o.metrics?.phaseSeconds.set({ phase }, (timings[phase] ?? ms) / 1000);
      }
    };
    try {
      const plan = await timed('inspect', () => this.plan());
      o.log.info({ disk: plan.target.choice.name, steps: plan.steps.map((s) => s.kind) }, plan.target.choice.why);
      const ctx: StepContext = { plan, timed, ...(signal ? { signal } : {}) };
      for (const step of plan.steps) {
        signal?.throwIfAborted();
        const t0 = performance.now();
        await this.#step(step, ctx);
        o.log.info({ step: step.kind, ms: Math.round(performance.now() - t0) }, stepDone(step));
      }
      const manifest = ctx.manifest;
      timings.total = performance.now() - started;
      o.metrics?.phaseSeconds.set({ phase: 'total' }, timings.total / 1000);
      o.metrics?.ready.set(1);
      o.metrics?.passes.inc({ result: 'ok' });
      o.log.info({ timings: roundAll(timings), version: manifest?.version }, plan.steps.some((s) => s.kind === 'mount') ? 'lib disk ready' : 'lib disk was already ready');
      return { plan, timings, version: manifest?.version };
    } catch (err) {
      o.metrics?.ready.set(0);
      o.metrics?.passes.inc({ result: 'error' });
      throw err;
    }
  }

  async #step(step: Step, ctx: StepContext): Promise<void> {
    const o = this.#o;
    const { plan, timed, signal } = ctx;
    const t = plan.target;
    switch (step.kind) {
      case 'create-disk': {
        const result = await timed('create', () => o.compute.insertDisk(o.zone, step.disk));
        if (result === 'exists') {
          // Another node won the race (shared), or an earlier run got this far (per-node).
          o.log.info({ disk: step.disk.name }, 'disk already exists; waiting for it to be READY');
          await timed('create', () => this.#waitDiskReady(step.disk.name, signal));
        }
        return;
      }
      case 'wait-disk-ready':
        await timed('create', () => this.#waitDiskReady(step.disk, signal));
        return;
      case 'attach':
        await timed('attach', () => this.#attach(step, plan));
        return;
      case 'wait-device':
        await timed('device', () => waitForDevice({
          path: step.path, hostRoot: o.hostRoot, timeoutMs: o.deviceTimeoutMs ?? 120_000, disk: t.choice.name,
          ...(o.devicePollMs ? { intervalMs: o.devicePollMs } : {}), ...(signal ? { signal } : {}),
        }));
        return;
      case 'clear-marker':
        await timed('marker', () => clearMarker(o.hostRoot + step.path));
        return;
      case 'mount':
        await timed('mount', () => o.mounter.mount(step.request));
        return;
      case 'verify': {
        const r = await timed('verify', () => verifyManifest({
          dir: o.hostRoot + step.dir, mode: step.mode,
          ...(o.manifestFile ? { manifestFile: o.manifestFile } : {}), ...(o.imageVersion !== undefined ? { expectedVersion: o.imageVersion } : {}),
        }));
        o.log.info({ version: r.manifest.version, files: r.checked, mode: step.mode }, 'lib disk matches its manifest');
        ctx.manifest = r.manifest;
        return;
      }
      case 'write-marker': {
        const version = ctx.manifest?.version;
        if (version === undefined) throw new Error('internal: write-marker planned without a verify step before it');
        const marker: ReadyMarker = {
          image: o.image.path, version, mountedAt: new Date().toISOString(), disk: t.choice.name, device: t.devicePath,
          strategy: t.choice.strategy, node: o.node, zone: o.zone, verify: o.verify,
        };
        await timed('marker', () => writeMarker(o.hostRoot + step.path, marker));
        return;
      }
      case 'remove-taint': {
        const removed = await timed('taint', () => o.taints!.remove(step.node, step.key));
        o.log.info({ taint: step.key, removed }, removed ? 'startup taint removed' : 'startup taint was not there');
        return;
      }
    }
  }

  async #attach(step: Extract<Step, { kind: 'attach' }>, plan: Plan): Promise<void> {
    const o = this.#o;
    try {
      await o.compute.attachDisk(o.zone, o.node, step.attachment);
    } catch (err) {
      // A concurrent pass may have attached it meanwhile: look before failing.
      const now = await o.compute.getInstance(o.zone, o.node).catch(() => undefined);
      if (now?.disks.some((d) => d.diskName === step.attachment.diskName)) {
        o.log.info({ disk: step.attachment.diskName }, 'disk got attached meanwhile');
        return;
      }
      if (err instanceof LibDiskError && err.code === 'api_error' && plan.target.choice.strategy === 'per-node') {
        throw new LibDiskError('api_error', `${err.message} (a per-node disk can be attached to one instance only: is ${step.attachment.diskName} still attached to an old instance?)`, err);
      }
      throw err;
    }
  }

  async #waitDiskReady(name: string, signal?: AbortSignal): Promise<void> {
    const o = this.#o;
    const timeoutMs = o.diskReadyTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await o.compute.getDisk(o.zone, name);
      if (d?.status === 'READY') {
        if (!sameImage(d.sourceImage, o.image)) {
          throw new LibDiskError('conflict', `disk ${name} in ${o.zone} was made from ${d.sourceImage}, not ${o.image.path}; delete it or use another --disk-prefix.`);
        }
        return;
      }
      if (d?.status === 'FAILED') throw new LibDiskError('operation_failed', `disk ${name} in ${o.zone} is FAILED; delete it (gcloud compute disks delete ${name} --zone ${o.zone}) and the agent makes it again.`);
      if (Date.now() > deadline) throw new LibDiskError('operation_timeout', `disk ${name} in ${o.zone} not READY after ${Math.round(timeoutMs / 1000)} s (status ${d?.status ?? 'gone'}).`);
      await sleep(o.diskPollMs ?? 2000, undefined, signal ? { signal } : undefined);
    }
  }
}

function stepDone(s: Step): string {
  switch (s.kind) {
    case 'create-disk': return `disk ${s.disk.name} created`;
    case 'wait-disk-ready': return `disk ${s.disk} is READY`;
    case 'attach': return `disk ${s.attachment.diskName} attached as ${s.attachment.deviceName}`;
    case 'wait-device': return `device ${s.path} is there`;
    case 'clear-marker': return `stale marker ${s.path} removed`;
    case 'mount': return `${s.request.device} mounted at ${s.request.target}`;
    case 'verify': return `${s.dir} verified`;
    case 'write-marker': return `marker ${s.path} written`;
    case 'remove-taint': return `taint ${s.key} handled`;
  }
}

function roundAll(t: Partial<Record<Phase, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Project and zone: the flags when given, else the metadata server. */
export async function resolveLocation(
  metadata: GceMetadata,
  given: { project?: string; zone?: string },
  metrics?: LibDiskMetrics,
): Promise<{ project: string; zone: string }> {
  const t0 = performance.now();
  const [project, zone] = await Promise.all([given.project ?? metadata.projectId(), given.zone ?? metadata.zone()]);
  metrics?.phaseSeconds.set({ phase: 'metadata' }, (performance.now() - t0) / 1000);
  return { project, zone };
}

export interface LoopOptions {
  /** Between passes after a good one; the mount is looked at again (a reboot, an unmount). */
  recheckMs: number;
  /** First wait after a failed pass, doubled up to maxBackoffMs. Default 5 s. */
  backoffMs?: number;
  /** Default 5 min. */
  maxBackoffMs?: number;
  signal: AbortSignal;
  log: Logger;
}

/**
 * Passes until the signal aborts: a failure is logged and retried with backoff (IAM fixed
 * by an operator, another node's disk becoming READY); success is looked at again every
 * `recheckMs`. Resolves when aborted.
 */
export async function runLoop(agent: LibDiskAgent, l: LoopOptions): Promise<void> {
  let backoff = l.backoffMs ?? 5000;
  while (!l.signal.aborted) {
    let wait: number;
    try {
      await agent.pass(l.signal);
      backoff = l.backoffMs ?? 5000;
      wait = l.recheckMs;
    } catch (err) {
      if (l.signal.aborted) return;
      const code = err instanceof LibDiskError ? err.code : 'error';
      l.log.error({ code, retryInMs: backoff }, errorMessage(err));
      wait = backoff;
      backoff = Math.min(backoff * 2, l.maxBackoffMs ?? 300_000);
    }
    try {
      await sleep(wait, undefined, { signal: l.signal });
    } catch {
      return;
    }
  }
}
