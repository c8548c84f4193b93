import type { ExitStatus, GameServerRunner, RunHandle, RunSpec } from './runner.ts';

/**
 * A runner that starts no process: for benchmarks of the control plane with thousands of
 * GameServers. `onStart` stands for what the game server would do (e.g. call Ready).
 */
export class FakeRunner implements GameServerRunner {
  readonly #onStart: (spec: RunSpec) => void;
  #runs = new Map<string, (s: ExitStatus) => void>();

  constructor(onStart: (spec: RunSpec) => void = () => undefined) {
    this.#onStart = onStart;
  }

  async start(spec: RunSpec): Promise<RunHandle> {
    const exited = new Promise<ExitStatus>((resolve) => this.#runs.set(spec.key, resolve));
    queueMicrotask(() => this.#onStart(spec));
    return { pid: 0, exited };
  }

  running(key: string): boolean {
    return this.#runs.has(key);
  }

  /** Simulates the process dying. */
  crash(key: string, code = 1): void {
    const r = this.#runs.get(key);
    this.#runs.delete(key);
    r?.({ code, signal: null, lastLines: ['fake crash'] });
  }

  async stop(key: string): Promise<void> {
    const r = this.#runs.get(key);
    this.#runs.delete(key);
    r?.({ code: null, signal: 'SIGTERM', lastLines: [] });
  }

  async stopAll(): Promise<void> {
    for (const k of [...this.#runs.keys()]) await this.stop(k);
  }
}
