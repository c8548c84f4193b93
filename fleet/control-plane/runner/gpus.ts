/**
 * The machine's GPUs (`--gpus 0,1,…`), handed out whole: each GameServer that asks for
 * `nvidia.com/gpu: n` gets n devices of its own through CUDA_VISIBLE_DEVICES, as the
 * NVIDIA device plugin gives a pod its own devices.
 */
export class GpuPool {
  readonly #all: string[];
  #owner = new Map<string, string>();

  constructor(devices: string[]) {
    this.#all = [...new Set(devices)];
  }

  get total(): number {
    return this.#all.length;
  }

  free(): string[] {
    return this.#all.filter((d) => !this.#owner.has(d));
  }

  /** Devices held by `key` (after a restart: claim them again with `claim`). */
  heldBy(key: string): string[] {
    return this.#all.filter((d) => this.#owner.get(d) === key);
  }

  /** n free devices for `key`, or undefined when fewer are free (the caller waits). Idempotent per key. */
  acquire(key: string, n: number): string[] | undefined {
    const held = this.heldBy(key);
    if (held.length >= n) return held.slice(0, n);
    const free = this.free();
    if (free.length < n - held.length) return undefined;
    const got = [...held, ...free.slice(0, n - held.length)];
    for (const d of got) this.#owner.set(d, key);
    return got;
  }

  /** Marks devices as held (adopting a run after a restart). */
  claim(key: string, devices: string[]): void {
    for (const d of devices) if (this.#all.includes(d)) this.#owner.set(d, key);
  }

  release(key: string): void {
    for (const [d, k] of this.#owner) if (k === key) this.#owner.delete(d);
  }
}

/** GPUs a container asks for (`resources.limits["nvidia.com/gpu"]`, else requests). */
export function gpusRequested(resources: { limits?: Record<string, string | number>; requests?: Record<string, string | number> } | undefined): number {
  const v = resources?.limits?.['nvidia.com/gpu'] ?? resources?.requests?.['nvidia.com/gpu'];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Parses `--gpus`: "0,1,2", "all:4" (devices 0–3), or "" for none. */
export function parseGpuList(text: string | undefined): string[] {
  if (!text) return [];
  const m = /^all:(\d+)$/.exec(text.trim());
  if (m) return Array.from({ length: Number(m[1]) }, (_, i) => String(i));
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`--gpus takes device ids like 0,1 or GPU-uuid, got "${id}"`);
  }
  return ids;
}
