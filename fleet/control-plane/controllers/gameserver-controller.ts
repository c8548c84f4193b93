import type { Logger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Container, GameServer, GameServerState } from '../../agones/types.ts';
import { startSdkServer, type RunningSdkServer } from '../../sdk-server/sdk-server.ts';
import { RESOURCES } from '../resources/registry.ts';
import type { GpuPool } from '../runner/gpus.ts';
import { gpusRequested } from '../runner/gpus.ts';
import type { HostPortAllocator } from '../runner/host-ports.ts';
import type { ExitStatus, GameServerRunner, RunHandle } from '../runner/runner.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';
import type { EventRecorder } from './events.ts';
import { ObjectStoreGameServerStore } from './sdk-store.ts';
import { WorkQueue } from './workqueue.ts';

/** Annotation with why a GameServer went to Error or Unhealthy (the runner's side of it). */
export const ANNOTATION_REASON = 'sdfleet.dev/state-reason';

export interface GameServerControllerOptions {
  store: ObjectStore;
  runner: GameServerRunner;
  events: EventRecorder;
  ports: HostPortAllocator;
  gpus: GpuPool;
  log: Logger;
  /** Run an Agones SDK server per GameServer (off for runners that start no process). Default true. */
  sdkServers?: boolean;
  /** Shown as status.nodeName and the Hostname address. */
  nodeName: string;
  /** status.address; the allocator reaches instances there. Default 127.0.0.1. */
  address?: string;
  /** GameServers reconciled at once. Default 8. */
  workers?: number;
}

interface Run {
  handle?: RunHandle;
  sdk?: RunningSdkServer;
  ports: number[];
}

/** States in which the GameServer's process must be running. */
const RUNNING_STATES = new Set<GameServerState | undefined>(['Scheduled', 'RequestReady', 'Ready', 'Reserved', 'Allocated']);
/** Running states whose reconcile, with the run followed, does nothing. */
const STEADY_STATES = new Set<GameServerState | undefined>(['Ready', 'Reserved', 'Allocated']);

/**
 * The GameServer lifecycle on one machine: PortAllocation → Creating → Starting (waiting
 * for a GPU, like an unschedulable pod) → Scheduled (process started) → RequestReady (from
 * the SDK) → Ready → Allocated / Reserved → Shutdown (deleted); a process that exits makes
 * it Unhealthy; a process that cannot start makes it Error. Each step checks whether it
 * applies, works on a copy, and leaves the next step to the change it causes.
 */
export class GameServerController {
  readonly #o: GameServerControllerOptions;
  readonly #queue: WorkQueue;
  readonly #runs = new Map<string, Run>();
  readonly #teardowns = new Set<Promise<void>>();
  #unsubscribe: (() => void) | undefined;
  #waitingForGpu = new Set<string>();
  #stopping = false;

  constructor(o: GameServerControllerOptions) {
    this.#o = o;
    this.#queue = new WorkQueue({ name: 'gameservers', handler: (k) => this.#reconcile(k), log: o.log, workers: o.workers ?? 8 });
  }

  start(): void {
    this.#unsubscribe = this.#o.store.onChange((e) => {
      if (e.resource !== RESOURCES.gameServers) return;
      if (e.type === 'MODIFIED' && this.#nothingToDo(e.object, e.oldObject)) return;
      this.#queue.enqueue(keyOf(e.object));
    });
    for (const gs of this.#o.store.list(RESOURCES.gameServers).items) this.#queue.enqueue(keyOf(gs));
  }

  /** Stops reconciling and every run (their SIGTERM grace included). */
  async stop(): Promise<void> {
    // Processes ending now end because of this stop: not a failure of theirs.
    this.#stopping = true;
    this.#unsubscribe?.();
    this.#queue.stop();
    await Promise.all([...this.#teardowns]);
    await Promise.all([...this.#runs.keys()].map((k) => this.#teardown(k)));
  }

  /**
   * A change between steady running states (Ready ⇄ Allocated ⇄ Reserved, labels,
   * annotations) of a GameServer whose run this controller follows: its reconcile would
   * find nothing to do. Allocations are such changes, thousands a second under load.
   */
  #nothingToDo(now: KubeObject, before: KubeObject | undefined): boolean {
    if (!before || now.metadata.deletionTimestamp) return false;
    const state = (now as unknown as GameServer).status?.state;
    const was = (before as unknown as GameServer).status?.state;
    return STEADY_STATES.has(state) && STEADY_STATES.has(was) && this.#runs.has(keyOf(now));
  }

  /** For tests: resolves when nothing waits in the queue. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  async #reconcile(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const obj = this.#o.store.tryGet(RESOURCES.gameServers, ns, name);
    if (!obj) {
      if (this.#runs.has(key)) this.#background(this.#teardown(key));
      else await this.#stopLeftover(ns, name);
      return;
    }
    const gs = obj as unknown as GameServer;
    if (gs.metadata.deletionTimestamp) return;
    const state = gs.status?.state;
    switch (state) {
      case undefined:
      case 'PortAllocation':
        return this.#allocatePorts(key, obj);
      case 'Creating':
        return this.#setState(obj, 'Starting', 'Creating', `process group for ${name} to be created`);
      case 'Starting':
        return this.#startRun(key, obj);
      case 'RequestReady':
        return this.#setState(obj, 'Ready', 'Ready', 'SDK.Ready() complete', (c) => this.#fillAddress(c));
      case 'Shutdown':
        this.#o.store.delete(RESOURCES.gameServers, ns, name);
        return;
      default:
        if (RUNNING_STATES.has(state) && !this.#runs.has(key)) {
          // Not adopted: a process this control plane did not start cannot be followed
          // (exit, SDK server); it is stopped and the GameServer replaced, its user told.
          const pid = await this.#stopLeftover(ns, name);
          this.#markFailed(key, 'Unhealthy', pid
            ? `the control plane restarted while it ran; its process (pid ${pid}) cannot be followed and was stopped`
            : 'its process is not running (the control plane may have restarted without it)');
        }
    }
  }

  // PortAllocation → Creating: a host port for each Dynamic port, hostPort = containerPort for Passthrough.
  async #allocatePorts(key: string, obj: KubeObject): Promise<void> {
    const gs = obj as unknown as GameServer;
    const ports = gs.spec.ports ?? [];
    const dynamic = ports.filter((p) => (p.portPolicy ?? 'Dynamic') === 'Dynamic' || p.portPolicy === 'Passthrough');
    const known = this.#runs.get(key)?.ports;
    const got = known && known.length === dynamic.length ? known : await this.#o.ports.allocate(dynamic.length);
    const run = this.#runs.get(key) ?? { ports: [] };
    run.ports = got;
    this.#runs.set(key, run);
    const [ns, name] = splitKey(key);
    this.#o.store.mutate(RESOURCES.gameServers, ns, name, (copy) => {
      const c = copy as unknown as GameServer;
      if (c.status?.state && c.status.state !== 'PortAllocation') return undefined;
      let i = 0;
      for (const p of c.spec.ports ?? []) {
        const policy = p.portPolicy ?? 'Dynamic';
        if (policy === 'Dynamic') p.hostPort = got[i++];
        else if (policy === 'Passthrough') {
          p.hostPort = got[i++];
          p.containerPort = p.hostPort;
        }
      }
      c.status = { ...c.status, state: 'Creating' };
      return copy;
    });
  }

  async #startRun(key: string, obj: KubeObject): Promise<void> {
    const gs = obj as unknown as GameServer;
    const run = this.#runs.get(key) ?? { ports: [] };
    this.#runs.set(key, run);
    if (run.handle) return;
    const container = containerOf(gs);
    if (!container) {
      this.#markFailed(key, 'Error', `spec.template.spec.containers has no container named "${gs.spec.container ?? ''}"`);
      return;
    }
    const env: Record<string, string> = { SDFLEET_GAMESERVER: gs.metadata.name! };
    const wantGpus = gpusRequested(container.resources);
    if (this.#o.gpus.total > 0 || wantGpus > 0) {
      // First come, first served: while an earlier GameServer waits for GPUs, a later one
      // (e.g. the Fleet's replacement of the one that just freed them) does not take them.
      const first = this.#waitingForGpu.values().next().value;
      const behind = wantGpus > 0 && first !== undefined && first !== key && this.#o.gpus.heldBy(key).length === 0;
      const devices = wantGpus > 0 ? (behind ? undefined : this.#o.gpus.acquire(key, wantGpus)) : [];
      if (!devices) {
        if (!this.#waitingForGpu.has(key)) {
          this.#waitingForGpu.add(key);
          this.#o.events.record(obj, 'Warning', 'FailedScheduling', `0/${this.#o.gpus.total} GPUs free: waits for ${wantGpus} nvidia.com/gpu (scale down, or add GPUs with --gpus)`);
        }
        return;
      }
      if (this.#waitingForGpu.delete(key) && this.#o.gpus.free().length > 0) {
        // GPUs left over: the next in line may fit now.
        for (const k of this.#waitingForGpu) this.#queue.enqueue(k);
      }
      env.CUDA_VISIBLE_DEVICES = devices.join(',');
    }
    for (const p of gs.spec.ports ?? []) {
      if (p.hostPort === undefined) continue;
      env[`SDFLEET_PORT_${p.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = String(p.hostPort);
    }
    const webui = (gs.spec.ports ?? []).find((p) => p.name === 'webui') ?? gs.spec.ports?.[0];
    if (webui?.hostPort !== undefined) env.SDFLEET_WEBUI_PORT = String(webui.hostPort);

    try {
      if (this.#o.sdkServers ?? true) {
        run.sdk = await startSdkServer({
          store: new ObjectStoreGameServerStore(this.#o.store, gs.metadata.namespace ?? 'default', gs.metadata.name!),
          grpcPort: 0,
          httpPort: 0,
          logger: this.#o.log.child({ gameServer: key, part: 'sdk' }),
        });
        env.AGONES_SDK_GRPC_PORT = String(run.sdk.grpcPort);
        env.AGONES_SDK_HTTP_PORT = String(run.sdk.httpPort);
      }
      const templateSpec = gs.spec.template?.spec ?? {};
      run.handle = await this.#o.runner.start({
        key,
        namespace: gs.metadata.namespace ?? 'default',
        name: gs.metadata.name!,
        container,
        env,
        terminationGracePeriodSeconds: typeof templateSpec.terminationGracePeriodSeconds === 'number' ? templateSpec.terminationGracePeriodSeconds : 30,
      });
    } catch (err) {
      await run.sdk?.stop();
      run.sdk = undefined;
      this.#o.gpus.release(key);
      this.#markFailed(key, 'Error', errorMessage(err));
      return;
    }
    const handle = run.handle;
    void handle.exited.then((exit) => this.#onExit(key, handle, exit));
    const [ns, name] = splitKey(key);
    const stored = this.#o.store.mutate(RESOURCES.gameServers, ns, name, (copy) => {
      const c = copy as unknown as GameServer;
      // The process may have asked for Ready already; the address is filled in either way.
      if (c.status?.state === 'Starting') c.status = { ...c.status, state: 'Scheduled' };
      else if (c.status?.address) return undefined;
      this.#fillAddress(c);
      return copy;
    });
    this.#o.events.record(stored, 'Normal', 'Scheduled', `Address and port populated (pid ${handle.pid})`);
  }

  #onExit(key: string, handle: RunHandle, exit: ExitStatus): void {
    const run = this.#runs.get(key);
    if (run?.handle === handle) run.handle = undefined;
    if (this.#stopping) return;
    const [ns, name] = splitKey(key);
    const gs = this.#o.store.tryGet(RESOURCES.gameServers, ns, name) as unknown as GameServer | undefined;
    if (!gs || gs.metadata.deletionTimestamp) return;
    const state = gs.status?.state;
    if (state === 'Shutdown' || state === 'Unhealthy' || state === 'Error') return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    const last = exit.lastLines.filter((l) => l.trim()).at(-1);
    this.#markFailed(key, 'Unhealthy', `its process exited (${how})${last ? `: ${last.slice(0, 200)}` : ''}`);
  }

  #markFailed(key: string, state: 'Unhealthy' | 'Error', reason: string): void {
    const [ns, name] = splitKey(key);
    try {
      const stored = this.#o.store.mutate(RESOURCES.gameServers, ns, name, (copy) => {
        const c = copy as unknown as GameServer;
        if (c.status?.state === 'Shutdown' || c.status?.state === state) return undefined;
        c.status = { ...c.status, state };
        c.metadata.annotations = { ...c.metadata.annotations, [ANNOTATION_REASON]: reason };
        return copy;
      });
      this.#o.events.record(stored, 'Warning', state, reason);
      this.#o.log.warn({ gameServer: key, state }, reason);
    } catch (err) {
      this.#o.log.debug({ gameServer: key, err: errorMessage(err) }, 'could not mark a GameServer failed');
    }
  }

  /** status.address, addresses, nodeName and ports, as the pod's scheduling gives them. */
  #fillAddress(c: GameServer): void {
    if (c.status?.address) return;
    const address = this.#o.address ?? '127.0.0.1';
    c.status = {
      ...c.status,
      address,
      addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: this.#o.nodeName }],
      nodeName: this.#o.nodeName,
      ports: (c.spec.ports ?? []).filter((p) => p.hostPort !== undefined).map((p) => ({ name: p.name, port: p.hostPort! })),
    };
  }

  #setState(obj: KubeObject, to: GameServerState, reason: string, message: string, also?: (c: GameServer) => void): void {
    const from = (obj as unknown as GameServer).status?.state;
    const stored = this.#o.store.mutate(RESOURCES.gameServers, obj.metadata.namespace, obj.metadata.name!, (copy) => {
      const c = copy as unknown as GameServer;
      if (c.status?.state !== from) return undefined;
      c.status = { ...c.status, state: to };
      also?.(c);
      return copy;
    });
    this.#o.events.record(stored, 'Normal', reason, message);
  }

  async #teardown(key: string): Promise<void> {
    const run = this.#runs.get(key);
    this.#runs.delete(key);
    const wasFirst = this.#waitingForGpu.values().next().value === key;
    this.#waitingForGpu.delete(key);
    // The head of the GPU line is gone: the next may fit.
    if (wasFirst) for (const k of this.#waitingForGpu) this.#queue.enqueue(k);
    if (!run) return;
    await this.#o.runner.stop(key);
    await run.sdk?.stop();
    this.#o.ports.release(run.ports);
    const hadGpus = this.#o.gpus.heldBy(key).length > 0;
    this.#o.gpus.release(key);
    if (hadGpus) for (const k of this.#waitingForGpu) this.#queue.enqueue(k);
  }

  async #stopLeftover(ns: string, name: string): Promise<number | undefined> {
    try {
      return await this.#o.runner.stopLeftover?.(ns, name);
    } catch (err) {
      this.#o.log.warn({ gameServer: `${ns}/${name}`, err: errorMessage(err) }, 'could not stop what a previous control plane left running');
      return undefined;
    }
  }

  #background(p: Promise<void>): void {
    this.#teardowns.add(p);
    void p
      .catch((err: unknown) => this.#o.log.error({ err: errorMessage(err) }, 'teardown failed'))
      .finally(() => this.#teardowns.delete(p));
  }
}

function containerOf(gs: GameServer): Container | undefined {
  const containers = gs.spec.template?.spec?.containers ?? [];
  return gs.spec.container ? containers.find((c) => c.name === gs.spec.container) : containers[0];
}

export function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
