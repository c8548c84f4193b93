import Queue from 'yocto-queue';
import type { Logger } from '../../../common/log.ts';

export interface WorkQueueOptions {
  name: string;
  /** Reconciles one key. Throwing requeues it with backoff (see `classify`). */
  handler: (key: string) => Promise<void> | void;
  log: Logger;
  /** Keys handled at once; one key is never handled twice at the same time. Default 1. */
  workers?: number;
  /** Backoff of a failing key: base × 2^failures, capped. Defaults 5 ms and 5 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * What an error means: `drop` (the object is gone: a 404), `retry` (a conflict: retry
   * quietly), or `error` (log and retry with backoff). Default: by `.status`/`.code`.
   */
  classify?: (err: unknown) => 'drop' | 'retry' | 'error';
  /**
   * A key is handled at most once per this many ms: events in between merge into one more
   * run (client-go's rate-limited queue). For keys whose handler reads many objects, e.g.
   * a Fleet's thousands of GameServers. Default 0.
   */
  minIntervalMs?: number;
}

function defaultClassify(err: unknown): 'drop' | 'retry' | 'error' {
  const code = (err as { code?: unknown; status?: unknown } | undefined)?.code ?? (err as { status?: unknown } | undefined)?.status;
  if (code === 404) return 'drop';
  if (code === 409) return 'retry';
  return 'error';
}

/**
 * A queue of keys, merged while they wait (Agones' workerqueue / client-go's workqueue):
 * enqueueing a key already waiting does nothing, and a key enqueued while it is being
 * handled is handled once more afterwards. Handlers start on a later turn of the event
 * loop (setImmediate), never inside enqueue(): the events of one turn merge, and a
 * handler never runs inside the store's change notification that enqueued it.
 */
export class WorkQueue {
  readonly #o: Required<Omit<WorkQueueOptions, 'classify'>> & Pick<WorkQueueOptions, 'classify'>;
  #lastStart = new Map<string, number>();
  #pumpScheduled: NodeJS.Immediate | undefined;
  #waiting = new Set<string>();
  /**
   * Keys in the order they are handled. A queue, not an array: Array#shift copies the
   * whole array once it outgrows V8's in-place trim (~16k entries), and a Fleet of 20,000
   * GameServers queued all its keys at once (20,000 shifts of 20,000: half a second).
   */
  #order = new Queue<string>();
  #active = new Set<string>();
  #dirty = new Set<string>();
  #failures = new Map<string, number>();
  #timers = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(o: WorkQueueOptions) {
    this.#o = { workers: 1, baseDelayMs: 5, maxDelayMs: 5000, minIntervalMs: 0, ...o };
  }

  enqueue(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#waiting.has(key)) return;
    this.#waiting.add(key);
    const wait = this.#o.minIntervalMs - (Date.now() - (this.#lastStart.get(key) ?? -Infinity));
    if (wait > 0) {
      // Too soon after its last run: it waits (merging further events) until the interval is up.
      const t = setTimeout(() => {
        this.#timers.delete(`interval:${key}`);
        if (this.#stopped || !this.#waiting.has(key)) return;
        this.#order.enqueue(key);
        this.#schedulePump();
      }, wait);
      this.#timers.set(`interval:${key}`, t);
      return;
    }
    this.#order.enqueue(key);
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#stopped) return;
    this.#pumpScheduled = setImmediate(() => {
      this.#pumpScheduled = undefined;
      this.#pump();
    });
  }

  /** Enqueue after `ms` (a timer per key; a later call replaces an earlier one). */
  enqueueAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timers.get(key));
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.enqueue(key);
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  /** Number of keys waiting or being handled. */
  get length(): number {
    return this.#waiting.size + this.#active.size;
  }

  /** Resolves when nothing waits and nothing runs (for tests). */
  idle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#pumpScheduled) clearImmediate(this.#pumpScheduled);
    this.#pumpScheduled = undefined;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#waiting.clear();
    this.#order.clear();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#o.workers && this.#order.size > 0) {
      const key = this.#order.dequeue()!;
      this.#waiting.delete(key);
      this.#active.add(key);
      if (this.#o.minIntervalMs > 0) this.#lastStart.set(key, Date.now());
      this.#running++;
      void this.#handle(key);
    }
    if (this.length === 0) for (const r of this.#idle.splice(0)) r();
  }

  async #handle(key: string): Promise<void> {
    try {
      await this.#o.handler(key);
      this.#failures.delete(key);
    } catch (err) {
      const kind = (this.#o.classify ?? defaultClassify)(err);
      if (kind === 'drop') {
        this.#failures.delete(key);
      } else {
        const n = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, n);
        const delay = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (n - 1));
        if (kind === 'error') this.#o.log.warn({ queue: this.#o.name, key, failures: n, retryInMs: delay, err: (err as Error)?.message ?? String(err) }, 'reconcile failed; will retry');
        this.enqueueAfter(key, delay);
      }
    } finally {
      this.#active.delete(key);
      this.#running--;
      if (this.#dirty.delete(key)) this.enqueue(key);
      this.#schedulePump();
    }
  }
}
