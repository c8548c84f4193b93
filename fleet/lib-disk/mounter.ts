import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LibDiskError } from './errors.ts';

const run = promisify(execFile);

export interface MountInfo {
  /** The mounted device as the kernel names it, e.g. `/dev/sdb`. */
  source: string;
  target: string;
  fsType: string;
  /** Per-mount options, e.g. `ro,relatime`. */
  options: string;
}

export interface MountRequest {
  /** The device path on the host, e.g. `/dev/disk/by-id/google-sdfleet-lib-…`. */
  device: string;
  /** The mount point on the host; created when missing. */
  target: string;
  fsType: string;
  options: string[];
}

/**
 * Mounts in the host's mount namespace, so that the WebUI pods' hostPath volumes
 * (mountPropagation: HostToContainer) see the disk. Paths are host paths.
 */
export interface Mounter {
  /** What is mounted at `target` now (the topmost mount), or undefined when nothing is. */
  mountAt(target: string): Promise<MountInfo | undefined>;
  /** Creates `target` and mounts `device` there; rejects with LibDiskError `mount_failed`. */
  mount(req: MountRequest): Promise<void>;
}

/**
 * Read-only mount options per file system. ext4's `noload` skips the journal replay that a
 * read-only block device cannot take; xfs's `norecovery` is the same idea.
 */
export function readOnlyOptions(fsType: string): string[] {
  if (fsType === 'ext4' || fsType === 'ext3') return ['ro', 'noload'];
  if (fsType === 'xfs') return ['ro', 'norecovery'];
  return ['ro'];
}

export interface HostMounterOptions {
  /** The host's init process, whose mount namespace is entered (the pod runs with hostPID). Default 1. */
  hostPid?: number;
  /** Default `nsenter` (util-linux, in the agent's image). */
  nsenter?: string;
  /** Per command; default 60 s. */
  timeoutMs?: number;
}

/** The real thing: `nsenter -t 1 -m -- mount …`, and the host's /proc/1/mountinfo. */
export class HostMounter implements Mounter {
  readonly #pid: number;
  readonly #nsenter: string;
  readonly #timeoutMs: number;

  constructor(opts: HostMounterOptions = {}) {
    this.#pid = opts.hostPid ?? 1;
    this.#nsenter = opts.nsenter ?? 'nsenter';
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async mountAt(target: string): Promise<MountInfo | undefined> {
    const text = await readFile(`/proc/${this.#pid}/mountinfo`, 'utf8');
    return findMount(text, target);
  }

  async mount(req: MountRequest): Promise<void> {
    await this.#inHost(['mkdir', '-p', req.target]);
    await this.#inHost(['mount', '-t', req.fsType, '-o', req.options.join(','), req.device, req.target]);
  }

  async #inHost(cmd: string[]): Promise<void> {
    const args = ['-t', String(this.#pid), '-m', '--', ...cmd];
    try {
      await run(this.#nsenter, args, { timeout: this.#timeoutMs });
    } catch (err) {
      const e = err as { stderr?: string; code?: string | number };
      const why = e.code === 'ENOENT' ? `${this.#nsenter} is not installed in the agent's image` : (e.stderr ?? '').trim() || String(err);
      throw new LibDiskError(
        'mount_failed',
        `${this.#nsenter} ${args.join(' ')} failed: ${why}. The agent needs a privileged container with hostPID; for "wrong fs type" check --fs-type against the image's file system.`,
        err,
      );
    }
  }
}

/** The topmost mount at `target` in a mountinfo text (proc(5)), or undefined. */
export function findMount(mountinfo: string, target: string): MountInfo | undefined {
  let found: MountInfo | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const mountPoint = unescape(f[4] ?? '');
    if (mountPoint !== target) continue;
    const [fsType = '', source = ''] = right.split(' ');
    found = { source: unescape(source), target: mountPoint, fsType, options: f[5] ?? '' };
  }
  return found;
}

function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
