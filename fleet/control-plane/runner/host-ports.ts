import net from 'node:net';

/**
 * Host ports for GameServer ports with the Dynamic policy, as Agones' port allocator
 * hands them out from a range (Agones: 7000–8000). A port is taken only after a test bind
 * shows nothing else on the machine holds it.
 */
export class HostPortAllocator {
  readonly #min: number;
  readonly #max: number;
  #used = new Set<number>();
  #next: number;

  constructor(range: { min: number; max: number } = { min: 7000, max: 8000 }) {
    if (range.min < 1 || range.max > 65535 || range.min > range.max) {
      throw new Error(`port range ${range.min}-${range.max} is not a valid range of ports`);
    }
    this.#min = range.min;
    this.#max = range.max;
    this.#next = range.min;
  }

  /** Marks ports as in use (GameServers that already have them, e.g. after a restart). */
  reserve(ports: number[]): void {
    for (const p of ports) this.#used.add(p);
  }

  release(ports: number[]): void {
    for (const p of ports) this.#used.delete(p);
  }

  /** `n` free ports, or rejects when the range is exhausted. */
  async allocate(n: number, host = '127.0.0.1'): Promise<number[]> {
    const out: number[] = [];
    const size = this.#max - this.#min + 1;
    for (let tried = 0; tried < size && out.length < n; tried++) {
      const p = this.#next;
      this.#next = p >= this.#max ? this.#min : p + 1;
      if (this.#used.has(p)) continue;
      this.#used.add(p);
      if (await bindable(p, host)) out.push(p);
      else this.#used.delete(p);
    }
    if (out.length < n) {
      this.release(out);
      throw new Error(`no free host port left in ${this.#min}-${this.#max} (${this.#used.size} in use): widen --port-range or scale the fleet down`);
    }
    return out;
  }
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
