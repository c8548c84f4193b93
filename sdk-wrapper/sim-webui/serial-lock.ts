/**
 * One holder at a time, first come first served: A1111's `queue_lock`, which makes a
 * second txt2img (or a model switch) wait for the running one.
 */
export class SerialLock {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** How many callers wait for the lock (not counting the holder). */
  get queued(): number {
    return this.waiting;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise((resolve) => (release = resolve));
    this.waiting++;
    await previous;
    this.waiting--;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
