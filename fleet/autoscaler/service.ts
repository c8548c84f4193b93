/**
 * The webhook's engine: answers each FleetAutoscaleReview with decideReplicas, from the
 * demand in the views, the fleet's history (recorded here, learned here, kept in the
 * control plane by the writer replica) and the settings (defaults under the policy
 * ConfigMap). The HTTP side is webhook.ts; the allocator mounts it, `sdfleet autoscaler`
 * serves it alone.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { errorMessage, type SdfleetError } from '../../common/errors.ts';
import { ArrivalHistory, parseStoredHistory } from './arrival-history.ts';
import { compilePolicy, policyForFleet, POLICY_DEFAULTS, retentionMsFor, type CompiledPolicy, type PolicyConfig } from './config.ts';
import { readDemand, type DemandReading, type DemandViews, type FleetRef } from './demand.ts';
import { decideReplicas, type Decision, type ReviewStatus } from './policy.ts';
import { growOnArrival, type ArrivalGrow } from './grow.ts';
import { shrinkOnRelease, type ReleaseShrink } from './release.ts';
import { parseReview, reviewResponse } from './review.ts';
import type { AutoscalerStore } from './store.ts';

export interface AutoscalerServiceOptions {
  /** Where the queue, the sessions and the profiles are read. */
  views: DemandViews;
  /** Where the policy ConfigMap is read and the history kept. */
  store: AutoscalerStore;
  /** Settings the policy ConfigMap's are laid over. Default POLICY_DEFAULTS. */
  base?: PolicyConfig;
  log: Logger;
  /** Whether this replica writes the history (the allocator's leader; alone: always). Default always. */
  isWriter?: () => boolean;
  /** A fleet's history is written at most this often. Default 60 s. */
  saveEveryMs?: number;
  /** The policy ConfigMap is read again at most this often. Default 10 s. */
  policyEveryMs?: number;
  /** Gauges and counters `sdfleet_autoscaler_*` go here when given. */
  metrics?: Registry;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
}

/** What the autoscaler last did for a fleet (logs, /status, the admin page). */
export interface FleetAutoscalerStatus {
  fleet: string;
  namespace: string;
  at: string;
  replicas: number;
  code: Decision['code'];
  reason: string;
  /** Seconds between reviews, as seen by this replica. */
  syncSeconds: number | undefined;
  queued: number | undefined;
  arrivalsKept: number;
  problems: string[];
}

interface FleetState {
  ref: FleetRef;
  history: ArrivalHistory | undefined;
  loading: Promise<void> | undefined;
  reviews: number[];
  savedAt: number;
  last: FleetAutoscalerStatus | undefined;
  lastCode: string | undefined;
}

/** Longest arrival memory kept whatever the settings ask (ms): 8 h. */
const MIN_RETENTION_MS = 8 * 3_600_000;

export class AutoscalerService {
  readonly #o: AutoscalerServiceOptions;
  readonly #fleets = new Map<string, FleetState>();
  readonly #policies = new Map<string, { at: number; text: string | undefined; version: string | undefined; problem?: string }>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #m: { replicas: Gauge; warm: Gauge; rate: Gauge; reviews: Counter } | undefined;
  #stopped = false;

  constructor(o: AutoscalerServiceOptions) {
    this.#o = o;
    if (o.metrics) {
      const registers = [o.metrics];
      this.#m = {
        replicas: new Gauge({ name: 'sdfleet_autoscaler_desired_replicas', help: 'Replicas the demand-aware policy last asked for', labelNames: ['fleet'], registers }),
        warm: new Gauge({ name: 'sdfleet_autoscaler_warm_target', help: 'Warm (unallocated) GameServers the policy keeps', labelNames: ['fleet'], registers }),
        rate: new Gauge({ name: 'sdfleet_autoscaler_expected_arrivals_per_hour', help: 'Arrivals per hour the policy expects', labelNames: ['fleet'], registers }),
        reviews: new Counter({ name: 'sdfleet_autoscaler_reviews_total', help: 'FleetAutoscaleReviews answered, by what set the number', labelNames: ['fleet', 'code'], registers }),
      };
    }
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /**
   * Answers a FleetAutoscaleReview: 200 `{response:{uid, scale, replicas}}`, or 400 with
   * a message for a malformed review. Missing signals do not fail it: the policy falls
   * back to Buffer-like sizing and says so in the logged reason.
   */
  async review(body: unknown): Promise<{ status: number; body: unknown }> {
    let req;
    try {
      req = parseReview(body);
    } catch (err) {
      const e = err as SdfleetError;
      return { status: e.status ?? 400, body: { error: { code: e.code ?? 'bad_request', message: e.message } } };
    }
    const ref = { namespace: req.namespace, name: req.name };
    const st = this.#fleet(ref);
    const now = this.#now();
    st.reviews.push(now);
    if (st.reviews.length > 9) st.reviews.shift();

    const { decision, policy, demand, syncMs, history } = await this.#decide(st, req.status, now);
    const reason = policy.problem ? `${decision.reason}; ${policy.problem}` : decision.reason;
    const problems = [...demand.problems, ...(policy.problem ? [policy.problem] : [])];
    st.last = {
      fleet: ref.name, namespace: ref.namespace, at: new Date(now).toISOString(), replicas: decision.replicas, code: decision.code, reason,
      syncSeconds: syncMs === undefined ? undefined : syncMs / 1000, queued: demand.queued, arrivalsKept: history.arrivals.length, problems,
    };
    const changed = decision.replicas !== req.status.replicas || decision.code !== st.lastCode;
    st.lastCode = decision.code;
    this.#o.log[decision.code === 'fallback' ? 'warn' : changed ? 'info' : 'debug'](
      { fleet: `${ref.namespace}/${ref.name}`, replicas: decision.replicas, from: req.status.replicas, code: decision.code },
      `autoscaler: ${reason}`,
    );
    if (this.#m) {
      const fleet = `${ref.namespace}/${ref.name}`;
      this.#m.replicas.set({ fleet }, decision.replicas);
      this.#m.reviews.inc({ fleet, code: decision.code });
      if (decision.signals) {
        this.#m.warm.set({ fleet }, decision.signals.warm);
        this.#m.rate.set({ fleet }, decision.signals.ratePerHour);
      }
    }
    if ((this.#o.isWriter?.() ?? true) && now - st.savedAt >= (this.#o.saveEveryMs ?? 60_000)) this.#track(this.#save(st, now));
    return { status: 200, body: reviewResponse({ uid: req.uid, scale: decision.scale, replicas: decision.replicas }) };
  }

  /**
   * Release-time shrink (release.ts): asked by the allocator when one of the fleet's
   * sessions ended, with the Fleet's spec.replicas as read and its status after the
   * release (the released GameServer not counted). The same decideReplicas, over the same
   * demand and history as a review; undefined when the fleet's settings leave
   * `shrinkOnRelease` off. It decides only: the caller writes the Fleet.
   */
  release(ref: FleetRef, fleet: { specReplicas: number; status: ReviewStatus }): Promise<ReleaseShrink | undefined> {
    return this.#between(ref, fleet, 'shrinkOnRelease', 'session ended', (decision) => {
      const r = shrinkOnRelease({ specReplicas: fleet.specReplicas, liveAfter: fleet.status.replicas ?? -1, decision });
      return { r, act: r.shrink };
    });
  }

  /**
   * Grow on arrival (grow.ts): asked by the allocator when a user took one of the fleet's
   * instances or joined a queue it serves, with the Fleet's spec.replicas as read and its
   * status now. The same decideReplicas, over the same demand and history as a review;
   * undefined when the fleet's settings leave `growOnArrival` off. It decides only: the
   * caller writes the Fleet.
   */
  arrival(ref: FleetRef, fleet: { specReplicas: number; status: ReviewStatus }): Promise<ArrivalGrow | undefined> {
    return this.#between(ref, fleet, 'growOnArrival', 'arrival', (decision) => {
      const r = growOnArrival({ specReplicas: fleet.specReplicas, decision });
      return { r, act: r.grow };
    });
  }

  /** A step between syncs: when `setting` is on, the decision now, judged by `judge`, logged. */
  async #between<R extends { replicas: number; reason: string }>(
    ref: FleetRef, fleet: { specReplicas: number; status: ReviewStatus }, setting: 'shrinkOnRelease' | 'growOnArrival', what: string,
    judge: (d: Decision) => { r: R; act: boolean },
  ): Promise<R | undefined> {
    const st = this.#fleet(ref);
    const now = this.#now();
    const policy = await this.#policy(ref);
    if (!policy.compiled.config[setting]) return undefined;
    const { decision } = await this.#decide(st, fleet.status, now);
    const { r, act } = judge(decision);
    this.#o.log[act ? 'info' : 'debug']({ fleet: `${ref.namespace}/${ref.name}`, replicas: r.replicas, from: fleet.specReplicas, code: decision.code }, `autoscaler: ${what}: ${r.reason}; ${decision.reason}`);
    return r;
  }

  /** decideReplicas for the fleet now: the settings, the history (recording what is seen), the demand. */
  async #decide(st: FleetState, status: ReviewStatus, now: number): Promise<{ decision: Decision; policy: { compiled: CompiledPolicy; problem?: string }; demand: DemandReading; syncMs: number | undefined; history: ArrivalHistory }> {
    const ref = st.ref;
    const policy = await this.#policy(ref);
    await this.#loaded(st, policy);
    const history = st.history!;
    let demand: DemandReading;
    try {
      demand = await readDemand(this.#o.views, ref);
    } catch (err) {
      demand = { coldStartSamples: 0, problems: [`reading the demand failed: ${errorMessage(err)}`] };
    }
    for (const s of demand.sightings ?? []) history.record(s.at, s.id);
    history.advance(now);
    const syncMs = minGap(st.reviews);
    const decision = decideReplicas(
      { status },
      {
        now,
        ...(demand.queued !== undefined ? { queued: demand.queued } : {}),
        ...(demand.sightings !== undefined ? { arrivals: history.arrivals, arrivalsSince: history.knownSince } : {}),
        ...(demand.coldStartMs !== undefined ? { coldStartMs: demand.coldStartMs } : {}),
        ...(syncMs !== undefined ? { syncMs } : {}),
        problems: demand.problems,
      },
      history.history(),
      policy.compiled,
    );
    return { decision, policy, demand, syncMs, history };
  }

  /** The last decision of every fleet reviewed here. */
  status(): FleetAutoscalerStatus[] {
    return [...this.#fleets.values()].flatMap((s) => (s.last ? [s.last] : []));
  }

  /** Writes every fleet's history now (the writer only). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
    if (!(this.#o.isWriter?.() ?? true)) return;
    const now = this.#now();
    await Promise.all([...this.#fleets.values()].filter((s) => s.history).map((s) => this.#save(s, now)));
  }

  /** Finishes writes in flight and saves once more. Reviews after stop are still answered. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.flush().catch((err: unknown) => this.#o.log.warn({ err: errorMessage(err) }, 'autoscaler: could not save the history on stop'));
  }

  #fleet(ref: FleetRef): FleetState {
    const key = `${ref.namespace}/${ref.name}`;
    let st = this.#fleets.get(key);
    if (!st) {
      st = { ref, history: undefined, loading: undefined, reviews: [], savedAt: 0, last: undefined, lastCode: undefined };
      this.#fleets.set(key, st);
    }
    return st;
  }

  /** The fleet's settings: the policy ConfigMap (read at most every policyEveryMs) over the base. */
  async #policy(ref: FleetRef): Promise<{ compiled: CompiledPolicy; problem?: string }> {
    const base = this.#o.base ?? POLICY_DEFAULTS;
    const now = this.#now();
    let cached = this.#policies.get(ref.namespace);
    if (!cached || now - cached.at >= (this.#o.policyEveryMs ?? 10_000)) {
      try {
        const loaded = await this.#o.store.loadPolicy(ref.namespace);
        cached = { at: now, text: loaded?.text, version: loaded?.version };
      } catch (err) {
        // Keep the last good text; say what failed.
        cached = { at: now, text: cached?.text, version: cached?.version, problem: errorMessage(err) };
      }
      this.#policies.set(ref.namespace, cached);
    }
    const { config, problem } = policyForFleet(cached.text, ref.name, base);
    const problems = [cached.problem, problem].filter((x): x is string => !!x);
    try {
      return { compiled: compilePolicy(config), ...(problems.length ? { problem: problems.join('; ') } : {}) };
    } catch (err) {
      return { compiled: compilePolicy(base), problem: [...problems, `${errorMessage(err)} (the ConfigMap's settings are ignored until fixed)`].join('; ') };
    }
  }

  /** Loads the fleet's stored history once (a new one when there is none or it is unreadable). */
  async #loaded(st: FleetState, policy: { compiled: CompiledPolicy }): Promise<void> {
    const clock = policy.compiled.clock;
    if (st.history && st.history.profile.timeZone === clock.timeZone) return;
    st.loading ??= (async () => {
      const now = this.#now();
      const retentionMs = Math.max(MIN_RETENTION_MS, retentionMsFor(policy.compiled.config));
      let stored;
      try {
        const raw = st.history ? st.history.snapshot(now) : await this.#o.store.loadHistory(st.ref);
        stored = raw === undefined ? undefined : parseStoredHistory(raw);
      } catch (err) {
        this.#o.log.warn({ fleet: `${st.ref.namespace}/${st.ref.name}`, err: errorMessage(err) }, 'autoscaler: the stored history is unusable; starting a new one');
      }
      st.history = new ArrivalHistory({ clock, retentionMs, knownSince: now }, stored);
      st.savedAt = now;
    })().finally(() => (st.loading = undefined));
    await st.loading;
  }

  async #save(st: FleetState, now: number): Promise<void> {
    if (!st.history) return;
    st.savedAt = now;
    try {
      await this.#o.store.saveHistory(st.ref, st.history.snapshot(now));
    } catch (err) {
      this.#o.log.warn({ fleet: `${st.ref.namespace}/${st.ref.name}`, err: errorMessage(err) }, 'autoscaler: could not save the history; will retry');
      st.savedAt = 0;
    }
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}

/** Shortest gap between reviews: with several replicas behind a Service, each sees only some. */
function minGap(times: number[]): number | undefined {
  let min: number | undefined;
  for (let i = 1; i < times.length; i++) {
    const g = times[i]! - times[i - 1]!;
    if (g >= 1000 && (min === undefined || g < min)) min = g;
  }
  return min;
}
