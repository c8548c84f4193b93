/**
 * The simulated hang: while on, the process behaves as if stuck (a deadlocked GPU driver,
 * a swap storm). Connections are still accepted by the kernel, but requests, WebSocket
 * upgrades and the running generation wait in `whenFree()` until it is switched off.
 */
export class HangSwitch {
  private waiters: (() => void)[] = [];
  private on = false;

  get hung(): boolean {
    return this.on;
  }

  set(hung: boolean): void {
    this.on = hung;
    if (!hung) this.release();
  }

  /** Resolves at once when not hung, else when the hang ends. */
  whenFree(): Promise<void> {
    if (!this.on) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Lets every waiter go, hung or not (used on close so nothing waits for ever). */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
