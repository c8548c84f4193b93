/**
 * Runs a task soon after it is asked for, once for many asks: at the end of the event
 * loop's current turn (so the events of one informer read make one run), but never sooner
 * than `minGapMs` after the last run that did its work began (so changes arriving back to
 * back cost one run per gap, however many there are). A change after a quiet spell goes
 * out at once; only a burst waits. A run whose task returns false (it found nothing to
 * send) starts no gap.
 */
export class Coalescer {
  readonly #task: () => boolean | void;
  readonly #minGapMs: number;
  readonly #now: () => number;
  #lastRun = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;

  /** `now`: a monotonic clock in ms (tests pass their own). */
  constructor(o: { task: () => boolean | void; minGapMs: number; now?: () => number }) {
    this.#task = o.task;
    this.#minGapMs = o.minGapMs;
    this.#now = o.now ?? (() => performance.now());
  }

  /** Asks for a run; one already planned covers this ask. */
  poke(): void {
    if (this.#timer || this.#immediate) return;
    const wait = this.#lastRun + this.#minGapMs - this.#now();
    if (wait > 0) {
      this.#timer = setTimeout(() => this.#run(), wait);
      this.#timer.unref();
    } else {
      this.#immediate = setImmediate(() => this.#run());
    }
  }

  /** Drops a planned run (closing). */
  cancel(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #run(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    const at = this.#now();
    if (this.#task() !== false) this.#lastRun = at;
  }
}
