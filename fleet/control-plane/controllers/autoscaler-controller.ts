import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { Fleet } from '../../agones/types.ts';
import { RESOURCES } from '../resources/registry.ts';
import { isApiError } from '../store/errors.ts';
import type { KubeObject, ObjectStore } from '../store/types.ts';
import { applyBuffer, type BufferPolicy, type ScaleDecision } from './autoscaler-decision.ts';
import type { EventRecorder } from './events.ts';
import { keyOf, splitKey } from './gameserver-controller.ts';

/** Failures within this long after start are logged at debug. */
const STARTUP_GRACE_MS = 15_000;
/**
 * A sync whose write lost to another writer (the Fleet changed while the policy was asked)
 * runs again this soon, as Agones' rate-limited work queue retries a failed sync; after
 * `QUICK_RETRIES` such retries in a row, the next waits `SLOW_RETRY_MS`.
 */
const QUICK_RETRY_MS = 20;
const QUICK_RETRIES = 5;
const SLOW_RETRY_MS = 3000;

interface WebhookPolicy {
  url?: string;
  service?: { name: string; namespace: string; path?: string; port?: number };
}

interface FasSpec {
  fleetName: string;
  policy: { type: string; buffer?: BufferPolicy; webhook?: WebhookPolicy };
  sync?: { type?: string; fixedInterval?: { seconds?: number } };
}

/** How a sync ended: `conflict` when its write lost to another writer (it runs again soon). */
export type SyncResult = 'done' | 'failed' | 'conflict';

export interface AutoscalerControllerOptions {
  store: ObjectStore;
  events: EventRecorder;
  log: Logger;
  /**
   * Where a webhook `service` reference points on this machine, by `namespace/name`, e.g.
   * `{'default/sdfleet-allocator': 'http://127.0.0.1:8080'}`: the manifests stay the same
   * as on GKE, where the service resolves in the cluster.
   */
  services?: Record<string, string>;
  /** Webhook answer deadline. Default 10 s. */
  webhookTimeoutMs?: number;
}

/**
 * FleetAutoscalers with Agones' semantics: every sync.fixedInterval.seconds (and at once
 * when created or changed) the policy sizes the Fleet: Buffer in-process, Webhook by a
 * FleetAutoscaleReview POST. Status tells what it did: currentReplicas, desiredReplicas,
 * lastScaleTime, ableToScale, scalingLimited.
 */
export class AutoscalerController {
  readonly #o: AutoscalerControllerOptions;
  #timers = new Map<string, NodeJS.Timeout>();
  #running = new Map<string, Promise<SyncResult>>();
  /** Per key: syncs in a row whose write lost to another writer. */
  #conflicts = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(o: AutoscalerControllerOptions) {
    this.#o = o;
  }

  /** When start() ran: failures in the first seconds (a webhook still starting) are not warned about. */
  #startedAt = 0;

  start(): void {
    this.#startedAt = Date.now();
    this.#unsubscribe = this.#o.store.onChange((e) => {
      if (e.resource !== RESOURCES.fleetAutoscalers) return;
      const key = keyOf(e.object);
      if (e.type === 'DELETED') {
        clearTimeout(this.#timers.get(key));
        this.#timers.delete(key);
      } else if (e.type === 'ADDED' || JSON.stringify(e.object.spec) !== JSON.stringify(e.oldObject?.spec)) {
        this.#schedule(key, 0);
      }
    });
    for (const fas of this.#o.store.list(RESOURCES.fleetAutoscalers).items) this.#schedule(keyOf(fas), 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#running.values());
  }

  /** Runs one sync of `key` now (tests, and the admin's "autoscale now"). */
  syncNow(key: string): Promise<SyncResult> {
    const running = this.#running.get(key);
    if (running) return running;
    const p = this.#sync(key).finally(() => this.#running.delete(key));
    this.#running.set(key, p);
    return p;
  }

  #schedule(key: string, ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timers.get(key));
    const t = setTimeout(() => {
      void this.syncNow(key).catch(() => 'failed' as const).then((result) => {
        const [ns, name] = splitKey(key);
        const fas = this.#o.store.tryGet(RESOURCES.fleetAutoscalers, ns, name);
        if (!fas) return;
        const conflicts = result === 'conflict' ? (this.#conflicts.get(key) ?? 0) + 1 : 0;
        if (conflicts > 0) this.#conflicts.set(key, conflicts);
        else this.#conflicts.delete(key);
        this.#schedule(key, conflicts === 0 ? intervalOf(fas) * 1000 : conflicts <= QUICK_RETRIES ? QUICK_RETRY_MS : SLOW_RETRY_MS);
      });
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  async #sync(key: string): Promise<SyncResult> {
    const [ns, name] = splitKey(key);
    const fasObj = this.#o.store.tryGet(RESOURCES.fleetAutoscalers, ns, name);
    if (!fasObj) return 'done';
    const spec = fasObj.spec as FasSpec;
    const fleetObj = this.#o.store.tryGet(RESOURCES.fleets, ns, spec.fleetName);
    if (!fleetObj) {
      this.#status(ns, name, { ableToScale: false, scalingLimited: false, currentReplicas: 0, desiredReplicas: 0 });
      this.#o.events.record(fasObj, 'Warning', 'FailedGetFleet', `could not find fleet ${spec.fleetName} in namespace ${ns}`);
      return 'done';
    }
    const fleet = fleetObj as unknown as Fleet;
    let decision: ScaleDecision;
    try {
      decision = await this.#decide(spec, fleet, ns);
    } catch (err) {
      this.#status(ns, name, { ableToScale: false, scalingLimited: false, currentReplicas: fleet.status?.replicas ?? 0, desiredReplicas: fleet.spec.replicas ?? 0 });
      this.#o.events.record(fasObj, 'Warning', 'FleetAutoscaler', `Error calculating desired fleet size on FleetAutoscaler ${name}: ${errorMessage(err)}`);
      // Right after start the webhook's server may still be starting (sdfleet up starts the
      // allocator after the control plane): that is a debug line, later it is a warning.
      const level = Date.now() - this.#startedAt < STARTUP_GRACE_MS ? 'debug' : 'warn';
      this.#o.log[level]({ fleetAutoscaler: key, err: errorMessage(err) }, 'autoscaling failed');
      return 'failed';
    }
    const before = fleet.spec.replicas ?? 0;
    let scaled = false;
    if (decision.replicas !== before) {
      // As Agones: an update of the Fleet as it was read before the policy was asked. If it
      // changed meanwhile (the allocator grew it for an arrival, a status update, an admin's
      // scale), the write is refused and the sync runs again on the Fleet as it is now: an
      // answer computed on the old Fleet never overwrites a newer size.
      try {
        this.#o.store.update(RESOURCES.fleets, { ...fleetObj, spec: { ...(fleetObj.spec as Record<string, unknown>), replicas: decision.replicas } });
      } catch (err) {
        if (!isApiError(err, 'Conflict') && !isApiError(err, 'NotFound')) throw err;
        this.#o.events.record(fasObj, 'Warning', 'AutoScalingFleetError', `Error on scaling fleet ${spec.fleetName} from ${before} to ${decision.replicas}. Error: ${errorMessage(err)}`);
        this.#o.log.debug({ fleetAutoscaler: key, err: errorMessage(err) }, 'the Fleet changed while the policy was asked; syncing again');
        return isApiError(err, 'Conflict') ? 'conflict' : 'failed';
      }
      scaled = true;
      this.#o.events.record(fasObj, 'Normal', 'AutoScalingFleet', `Scaling fleet ${spec.fleetName} from ${before} to ${decision.replicas}`);
    }
    this.#status(ns, name, {
      ableToScale: true,
      scalingLimited: decision.limited,
      currentReplicas: fleet.status?.replicas ?? 0,
      desiredReplicas: decision.replicas,
      ...(scaled ? { lastScaleTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
    });
    return 'done';
  }

  async #decide(spec: FasSpec, fleet: Fleet, ns: string): Promise<ScaleDecision> {
    switch (spec.policy.type) {
      case 'Buffer':
        if (!spec.policy.buffer) throw new Error('policy.type is Buffer but policy.buffer is missing');
        return applyBuffer(fleet.status ?? {}, spec.policy.buffer);
      case 'Webhook':
        return this.#webhook(spec.policy.webhook ?? {}, fleet, ns);
      default:
        throw new Error(`policy type ${spec.policy.type} is not supported by the embedded control plane (Buffer and Webhook are)`);
    }
  }

  async #webhook(w: WebhookPolicy, fleet: Fleet, ns: string): Promise<ScaleDecision> {
    const url = this.#webhookUrl(w, ns);
    const uid = randomUUID();
    const review = {
      apiVersion: 'autoscaling.agones.dev/v1',
      kind: 'FleetAutoscaleReview',
      request: {
        uid,
        name: fleet.metadata.name,
        namespace: fleet.metadata.namespace ?? ns,
        status: fleet.status ?? {},
        labels: fleet.metadata.labels ?? {},
        annotations: fleet.metadata.annotations ?? {},
      },
    };
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review),
      signal: AbortSignal.timeout(this.#o.webhookTimeoutMs ?? 10_000),
    });
    if (res.status !== 200) throw new Error(`bad status code ${res.status} from the server: ${url}`);
    const body = (await res.json()) as { response?: { uid?: string; scale?: boolean; replicas?: number } };
    if (!body.response) throw new Error(`the webhook at ${url} answered without "response"`);
    if (body.response.scale) {
      const r = body.response.replicas;
      if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw new Error(`the webhook at ${url} answered replicas ${JSON.stringify(r)}`);
      return { replicas: r, limited: false };
    }
    return { replicas: fleet.status?.replicas ?? fleet.spec.replicas ?? 0, limited: false };
  }

  #webhookUrl(w: WebhookPolicy, ns: string): string {
    if (w.url) return w.url;
    if (w.service) {
      const key = `${w.service.namespace || ns}/${w.service.name}`;
      const base = this.#o.services?.[key];
      if (!base) throw new Error(`webhook service ${key} is not known on this machine (known: ${Object.keys(this.#o.services ?? {}).join(', ') || 'none'}); give webhook.url instead`);
      return new URL(w.service.path ?? '/', base).toString();
    }
    throw new Error('policy.webhook needs url or service');
  }

  #status(ns: string, name: string, st: Record<string, unknown>): void {
    try {
      this.#o.store.mutate(RESOURCES.fleetAutoscalers, ns, name, (copy) => {
        const cur = (copy.status ?? {}) as Record<string, unknown>;
        const next = { ...cur, ...st };
        if (JSON.stringify(next) === JSON.stringify(cur)) return undefined;
        copy.status = next;
        return copy;
      }, { subresource: 'status' });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
}

function intervalOf(fas: KubeObject): number {
  const s = (fas.spec as FasSpec).sync?.fixedInterval?.seconds;
  return typeof s === 'number' && s > 0 ? s : 30;
}
