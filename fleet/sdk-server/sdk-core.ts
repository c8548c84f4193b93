import type { GameServer, GameServerState } from '../agones/types.ts';
import { ANNOTATION_LAST_ALLOCATED, HEALTH_DEFAULTS, SDK_METADATA_PREFIX } from '../agones/types.ts';
import { labelValueErrors, qualifiedNameErrors } from '../kube/names.ts';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { toSdkGameServer } from './convert.ts';
import { SdkError, GrpcStatus } from './errors.ts';
import type { Counter, CounterUpdateRequest, List, SdkGameServer, UpdateListRequest } from './proto.ts';
import type { GameServerStore } from './store.ts';

export interface SdkCoreOptions {
  /** The GameServer this server serves. */
  store: GameServerStore;
  /**
   * Also play the Agones controller's part for Ready: write Ready where the sidecar only
   * requests it (RequestReady), as Agones' local mode does. For the standalone server;
   * off under a control plane, whose controller makes that step. Default false.
   */
  localLifecycle?: boolean;
  /** Run health checks per `spec.health`. Default true. */
  healthChecks?: boolean;
  logger?: Logger;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** States the health checker and the SDK never move a GameServer out of. */
const FINAL_STATES = new Set<GameServerState | undefined>(['Unhealthy', 'Shutdown', 'Error']);

/**
 * What Agones' SDK sidecar does for one GameServer, apart from the wire: state requests,
 * metadata with the `agones.dev/sdk-` prefix, health checking, the Reserve timer, counters
 * and lists, and the fan-out of every change to watchers. The gRPC service and the HTTP
 * gateway are thin bindings over it.
 *
 * Lifecycle: `start()` reads the GameServer and starts health checks (it rejects when the
 * store has no GameServer); calls made before `start()` work but no health checking runs;
 * `stop()` ends timers and watchers and is safe to call twice.
 */
/** The longest reservation a timer can end: Node's timers hold at most 2^31 - 1 ms. */
export const MAX_RESERVE_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A counter or list by name: only the GameServer's own entries, never `__proto__`, `constructor` and kin. */
function ownEntry<T>(entries: Record<string, T> | undefined, name: string): T | undefined {
  return entries !== undefined && Object.hasOwn(entries, name) ? entries[name] : undefined;
}

export class SdkCore {
  readonly #store: GameServerStore;
  readonly #log: Logger;
  readonly #localLifecycle: boolean;
  readonly #healthChecks: boolean;
  readonly #now: () => number;
  #listeners = new Set<(gs: SdkGameServer) => void>();
  #unwatch: (() => void) | undefined;
  #reserveTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #lastPing = 0;
  #failures = 0;
  #stopped = false;
  #onGone = new Set<() => void>();

  constructor(opts: SdkCoreOptions) {
    this.#store = opts.store;
    this.#log = opts.logger ?? silentLogger();
    this.#localLifecycle = opts.localLifecycle ?? false;
    this.#healthChecks = opts.healthChecks ?? true;
    this.#now = opts.now ?? Date.now;
  }

  async start(): Promise<void> {
    const gs = await this.#store.get();
    this.#unwatch = this.#store.watch(
      (next) => this.#publish(next),
      () => {
        for (const f of this.#onGone) f();
      },
    );
    this.#lastPing = this.#now();
    if (gs.status?.state === 'Reserved' && gs.status.reservedUntil) {
      this.#armReserveTimer(Date.parse(gs.status.reservedUntil) - this.#now());
    }
    if (this.#healthChecks) this.#startHealthChecks(gs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    clearTimeout(this.#reserveTimer);
    clearTimeout(this.#healthTimer);
    this.#listeners.clear();
  }

  // ---- lifecycle ----

  async ready(): Promise<void> {
    this.#clearReserveTimer();
    await this.#setState(this.#localLifecycle ? 'Ready' : 'RequestReady');
  }

  async allocate(): Promise<void> {
    this.#clearReserveTimer();
    await this.#setState('Allocated');
  }

  async shutdown(): Promise<void> {
    this.#clearReserveTimer();
    await this.#setState('Shutdown');
  }

  /** Reserved for `seconds` (0 = until something else changes the state), then Ready again. */
  async reserve(seconds: number): Promise<void> {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `reserve duration must be zero or more seconds, got ${seconds}`);
    }
    if (seconds > MAX_RESERVE_SECONDS) {
      throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `reserve duration must be at most ${MAX_RESERVE_SECONDS} seconds (about 24 days, the longest timer), got ${seconds}; use 0 to stay Reserved until the state changes`);
    }
    this.#clearReserveTimer();
    const stored = await this.#setState('Reserved', seconds);
    if (seconds > 0 && stored?.status?.state === 'Reserved') this.#armReserveTimer(seconds * 1000);
  }

  /** One health ping. */
  health(): void {
    this.#lastPing = this.#now();
    this.#failures = 0;
  }

  // ---- metadata ----

  async setLabel(key: string, value: string): Promise<void> {
    const full = this.#metadataKey('label', key);
    const errs = labelValueErrors(value);
    if (errs.length > 0) {
      throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `invalid label value "${value}" for key "${key}": ${errs.join('; ')}`);
    }
    await this.#store.update((gs) => {
      gs.metadata.labels = { ...gs.metadata.labels, [full]: value };
      return gs;
    });
  }

  async setAnnotation(key: string, value: string): Promise<void> {
    const full = this.#metadataKey('annotation', key);
    await this.#store.update((gs) => {
      gs.metadata.annotations = { ...gs.metadata.annotations, [full]: value };
      return gs;
    });
  }

  #metadataKey(kind: string, key: string): string {
    const full = SDK_METADATA_PREFIX + key;
    const errs = key.length === 0 ? ['key must be non-empty'] : qualifiedNameErrors(full);
    if (errs.length > 0) {
      throw new SdkError(
        GrpcStatus.INVALID_ARGUMENT,
        `invalid ${kind} key "${key}" (stored as "${full}"): ${errs.join('; ')}`,
      );
    }
    return full;
  }

  // ---- reading ----

  async getGameServer(): Promise<SdkGameServer> {
    return toSdkGameServer(await this.#getOrUnavailable());
  }

  /** `listener` gets every change from now on; call the result to stop. */
  watch(listener: (gs: SdkGameServer) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `f` runs when the GameServer is deleted (watch streams end then). */
  onGone(f: () => void): () => void {
    this.#onGone.add(f);
    return () => this.#onGone.delete(f);
  }

  // ---- counters and lists (beta) ----

  async getCounter(name: string): Promise<Counter> {
    const gs = await this.#getOrUnavailable();
    const c = ownEntry(gs.status?.counters, name);
    if (!c) throw new SdkError(GrpcStatus.NOT_FOUND, `counter not found: ${name} (declare it in the GameServer's spec.counters)`);
    return { name, count: c.count ?? 0, capacity: c.capacity ?? 0 };
  }

  async updateCounter(req: CounterUpdateRequest | null | undefined): Promise<Counter> {
    if (!req?.name) throw new SdkError(GrpcStatus.INVALID_ARGUMENT, 'counterUpdateRequest.name is required');
    const name = req.name;
    let result: Counter | undefined;
    await this.#store.update((gs) => {
      const c = ownEntry(gs.status?.counters, name);
      if (!c) throw new SdkError(GrpcStatus.NOT_FOUND, `counter not found: ${name} (declare it in the GameServer's spec.counters)`);
      let capacity = c.capacity ?? 0;
      let count = c.count ?? 0;
      if (req.capacity) capacity = req.capacity.value;
      if (capacity < 0) throw new SdkError(GrpcStatus.OUT_OF_RANGE, `counter ${name}: capacity must be ≥ 0, got ${capacity}`);
      if (req.count) count = req.count.value;
      count += req.countDiff ?? 0;
      if (count < 0 || count > capacity) {
        throw new SdkError(GrpcStatus.OUT_OF_RANGE, `counter ${name}: count ${count} is out of range 0..${capacity}`);
      }
      gs.status = { ...gs.status, counters: { ...gs.status?.counters, [name]: { count, capacity } } };
      result = { name, count, capacity };
      return gs;
    });
    return result!;
  }

  async getList(name: string): Promise<List> {
    const gs = await this.#getOrUnavailable();
    const l = ownEntry(gs.status?.lists, name);
    if (!l) throw new SdkError(GrpcStatus.NOT_FOUND, `list not found: ${name} (declare it in the GameServer's spec.lists)`);
    return { name, capacity: l.capacity ?? 0, values: [...(l.values ?? [])] };
  }

  async updateList(req: UpdateListRequest): Promise<List> {
    const want = req.list;
    if (!want?.name) throw new SdkError(GrpcStatus.INVALID_ARGUMENT, 'list.name is required');
    const paths = req.updateMask?.paths ?? [];
    if (paths.length === 0) throw new SdkError(GrpcStatus.INVALID_ARGUMENT, 'updateMask.paths must name the fields to update: capacity and/or values');
    const bad = paths.filter((p) => p !== 'capacity' && p !== 'values');
    if (bad.length > 0) throw new SdkError(GrpcStatus.INVALID_ARGUMENT, `updateMask may name capacity and values only, got ${bad.join(', ')}`);
    return this.#changeList(want.name, (l) => {
      if (paths.includes('capacity')) {
        if (want.capacity < 0 || want.capacity > 1000) {
          throw new SdkError(GrpcStatus.OUT_OF_RANGE, `list ${want.name}: capacity must be 0..1000, got ${want.capacity}`);
        }
        l.capacity = want.capacity;
      }
      if (paths.includes('values')) l.values = [...new Set(want.values)];
      l.values = l.values.slice(0, l.capacity);
    });
  }

  async addListValue(name: string, value: string): Promise<List> {
    return this.#changeList(name, (l) => {
      if (l.values.includes(value)) throw new SdkError(GrpcStatus.ALREADY_EXISTS, `list ${name} already holds "${value}"`);
      if (l.values.length >= l.capacity) throw new SdkError(GrpcStatus.OUT_OF_RANGE, `list ${name} is at its capacity ${l.capacity}`);
      l.values.push(value);
    });
  }

  async removeListValue(name: string, value: string): Promise<List> {
    return this.#changeList(name, (l) => {
      const i = l.values.indexOf(value);
      if (i < 0) throw new SdkError(GrpcStatus.NOT_FOUND, `list ${name} does not hold "${value}"`);
      l.values.splice(i, 1);
    });
  }

  async #changeList(name: string, change: (l: List) => void): Promise<List> {
    let result: List | undefined;
    await this.#store.update((gs) => {
      const cur = ownEntry(gs.status?.lists, name);
      if (!cur) throw new SdkError(GrpcStatus.NOT_FOUND, `list not found: ${name} (declare it in the GameServer's spec.lists)`);
      const l: List = { name, capacity: cur.capacity ?? 0, values: [...(cur.values ?? [])] };
      change(l);
      gs.status = { ...gs.status, lists: { ...gs.status?.lists, [name]: { capacity: l.capacity, values: l.values } } };
      result = l;
      return gs;
    });
    return result!;
  }

  // ---- internals ----

  async #getOrUnavailable(): Promise<GameServer> {
    try {
      return await this.#store.get();
    } catch (err) {
      throw new SdkError(GrpcStatus.UNAVAILABLE, `could not read the GameServer: ${(err as Error).message}`);
    }
  }

  /** Writes a state the way the sidecar's updateState does; resolves with what was stored. */
  async #setState(state: GameServerState, reserveSeconds = 0): Promise<GameServer | undefined> {
    let changed = false;
    const stored = await this.#store.update((gs) => {
      // Being deleted: there is no escaping. Unhealthy: the SDK can't bring it back.
      if (gs.metadata.deletionTimestamp) return undefined;
      if (gs.status?.state === 'Unhealthy' && state !== 'Unhealthy') return undefined;
      const status = { ...gs.status, state };
      status.reservedUntil = state === 'Reserved' && reserveSeconds > 0
        ? new Date(this.#now() + reserveSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
        : null;
      gs.status = status;
      if (state === 'Allocated') {
        gs.metadata.annotations = { ...gs.metadata.annotations, [ANNOTATION_LAST_ALLOCATED]: new Date(this.#now()).toISOString() };
      }
      changed = true;
      return gs;
    });
    if (changed) this.#log.info({ state }, 'SDK state change');
    return stored;
  }

  #publish(gs: GameServer): void {
    if (this.#stopped) return;
    const sdkGs = toSdkGameServer(gs);
    for (const l of [...this.#listeners]) {
      try {
        l(sdkGs);
      } catch (err) {
        this.#log.warn({ err }, 'a GameServer watcher failed; dropping it');
        this.#listeners.delete(l);
      }
    }
  }

  #clearReserveTimer(): void {
    clearTimeout(this.#reserveTimer);
    this.#reserveTimer = undefined;
  }

  #armReserveTimer(ms: number): void {
    this.#clearReserveTimer();
    this.#reserveTimer = setTimeout(() => {
      this.#reserveTimer = undefined;
      this.ready().catch((err: unknown) => this.#log.error({ err }, 'could not return to Ready after Reserve ended'));
    }, Math.max(0, ms));
    this.#reserveTimer.unref();
  }

  /**
   * As the sidecar with its kubelet probe: after initialDelaySeconds, every periodSeconds a
   * check fails when no ping came within the last period; failureThreshold failures in a
   * row mark the GameServer Unhealthy.
   */
  #startHealthChecks(gs: GameServer): void {
    const h = { ...HEALTH_DEFAULTS, ...gs.spec.health };
    if (h.disabled) return;
    const periodMs = Math.max(1, h.periodSeconds) * 1000;
    const check = (): void => {
      if (this.#stopped) return;
      if (this.#now() - this.#lastPing > periodMs) {
        this.#failures += 1;
        this.#log.warn({ failures: this.#failures, threshold: h.failureThreshold }, 'GameServer health check failed: no ping within the period');
      }
      if (this.#failures >= h.failureThreshold) {
        void this.#markUnhealthy();
        return;
      }
      this.#healthTimer = setTimeout(check, periodMs);
      this.#healthTimer.unref();
    };
    this.#healthTimer = setTimeout(check, Math.max(0, h.initialDelaySeconds) * 1000);
    this.#healthTimer.unref();
  }

  async #markUnhealthy(): Promise<void> {
    try {
      await this.#store.update((gs) => {
        if (gs.metadata.deletionTimestamp || FINAL_STATES.has(gs.status?.state)) return undefined;
        gs.status = { ...gs.status, state: 'Unhealthy' };
        return gs;
      });
      this.#log.warn('GameServer marked Unhealthy: health pings stopped');
    } catch (err) {
      this.#log.error({ err }, 'could not mark the GameServer Unhealthy');
    }
  }
}
