/**
 * A counter and a histogram for the proxy's hot path, read through a prom-client Registry
 * like any of its metrics (`registry.metrics()`, `getMetricsAsJSON()`, `resetMetrics()`).
 *
 * Why not prom-client's own: its `inc` and `observe` build and hash a label object on every
 * call, bound children included; at tens of thousands of proxied requests a second that
 * was ~2.3 µs a request, 8 % of the fast lane's CPU (measured with the proxy bench's
 * server, metrics on and off). These keep plain numbers per label value, fixed when the
 * metric is made, and hand prom-client the values only when it asks.
 */
import type { Registry, RegistryContentType } from 'prom-client';

/** What prom-client's Registry reads from a metric (the shape its own metrics return from `get()`). */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  /** prom-client's histogram buckets carry one (null without exemplars). */
  exemplar?: null;
}
interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** A counter with one label whose values are known up front (`code` = `2xx`, …), or none. */
export class HotCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #label: string | undefined;
  readonly #values: readonly string[];
  readonly #counts: Float64Array;

  constructor(o: { name: string; help: string; label?: string; values?: readonly string[]; registry: Registry<RegistryContentType> }) {
    this.name = o.name;
    this.help = o.help;
    this.#label = o.label;
    this.#values = o.label === undefined ? [''] : o.values ?? [];
    this.#counts = new Float64Array(this.#values.length);
    o.registry.registerMetric(this as never);
  }

  /** The index of a label value, for `add`. */
  index(value: string): number {
    const i = this.#values.indexOf(value);
    if (i === -1) throw new Error(`${this.name}: ${this.#label}="${value}" is not one of ${this.#values.join(', ')}`);
    return i;
  }

  add(i: number, n = 1): void {
    this.#counts[i]! += n;
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    if (this.#label === undefined) {
      // As prom-client's counters without labels: one series, from zero.
      values.push({ value: this.#counts[0]!, labels: {} });
    } else {
      for (let i = 0; i < this.#values.length; i++) {
        // As prom-client's labelled counters: a series appears once it has been counted.
        if (this.#counts[i]! > 0) values.push({ value: this.#counts[i]!, labels: { [this.#label]: this.#values[i]! } });
      }
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' });
  }

  reset(): void {
    this.#counts.fill(0);
  }
}

/** A histogram without labels. */
export class HotHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last is above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  /** As prom-client's: zeros from the start, no series at all after a reset until the next observation. */
  #shown = true;

  constructor(o: { name: string; help: string; buckets: readonly number[]; registry: Registry<RegistryContentType> }) {
    this.name = o.name;
    this.help = o.help;
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
    this.#counts = new Float64Array(this.#bounds.length + 1);
    o.registry.registerMetric(this as never);
  }

  /** A value that is not a finite number (a clock gone wrong) is dropped: the hot path never throws, unlike prom-client's. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.#counts[i]! += 1;
    this.#sum += v;
    this.#shown = true;
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    if (!this.#shown) return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ value: cumulative, labels: { le: this.#bounds[i]! }, metricName: `${this.name}_bucket`, exemplar: null });
    }
    cumulative += this.#counts[this.#bounds.length]!;
    values.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${this.name}_bucket`, exemplar: null });
    values.push({ value: this.#sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: cumulative, labels: {}, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#shown = false;
  }
}
