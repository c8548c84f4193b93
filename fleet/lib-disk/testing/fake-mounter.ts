import { mkdir, realpath, rm, stat, symlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LibDiskError } from '../errors.ts';
import type { MountInfo, MountRequest, Mounter } from '../mounter.ts';

/**
 * Mounts without root: a "mount" replaces the (empty) mount point with a symlink to the
 * folder that holds the device's content, so what the agent reads through the mount
 * point is the disk. `reboot()` drops every mount, as a node restart does.
 */
export class FakeMounter implements Mounter {
  readonly mounts = new Map<string, MountInfo>();
  readonly calls: MountRequest[] = [];
  /** The next mount fails with this message. */
  failNext: string | undefined;
  readonly #contentOf: (device: string) => string | undefined;

  /** `contentOf`: the folder standing for a device's file system (by the device's real path). */
  constructor(contentOf: (device: string) => string | undefined) {
    this.#contentOf = contentOf;
  }

  async mountAt(target: string): Promise<MountInfo | undefined> {
    return this.mounts.get(target);
  }

  async mount(req: MountRequest): Promise<void> {
    this.calls.push(req);
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new LibDiskError('mount_failed', msg);
    }
    if (!(await stat(req.device).catch(() => undefined))) throw new LibDiskError('mount_failed', `mount: ${req.device}: special device does not exist`);
    const source = await realpath(req.device);
    const content = this.#contentOf(source);
    if (!content) throw new LibDiskError('mount_failed', `mount: ${source}: wrong fs type, bad option, bad superblock`);
    await mkdir(dirname(req.target), { recursive: true });
    await rm(req.target, { recursive: true, force: true });
    await symlink(content, req.target);
    this.mounts.set(req.target, { source, target: req.target, fsType: req.fsType, options: req.options.join(',') });
  }

  /** Every mount gone; mount points back to empty folders. */
  async reboot(): Promise<void> {
    for (const target of this.mounts.keys()) {
      await rm(target, { force: true });
      await mkdir(target, { recursive: true });
    }
    this.mounts.clear();
  }
}
