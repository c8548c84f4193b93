import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LibDiskError } from './errors.ts';

/** `<byIdDir>/google-<deviceName>`: the stable name GCE's udev rules give an attached disk. */
export function devicePath(byIdDir: string, deviceName: string): string {
  return join(byIdDir, `google-${deviceName}`);
}

export interface DeviceWait {
  /** The by-id path, as the host sees it. */
  path: string;
  /** Where the host's root is visible to the agent (`/proc/1/root` in the pod; empty on the host itself). */
  hostRoot: string;
  timeoutMs: number;
  /** Poll interval; default 250 ms. udev creates the link within a second or two of attach. */
  intervalMs?: number;
  /** What was attached, for the timeout's message. */
  disk: string;
  signal?: AbortSignal;
}

/** Resolves once the device exists; rejects with `device_timeout` saying what to check. */
export async function waitForDevice(w: DeviceWait): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  for (;;) {
    if (await stat(w.hostRoot + w.path).then(() => true, () => false)) return;
    if (Date.now() >= deadline) {
      throw new LibDiskError(
        'device_timeout',
        `device ${w.path} did not appear within ${Math.round(w.timeoutMs / 1000)} s after disk ${w.disk} was attached. ` +
          'Check on the node: `ls -l /dev/disk/by-id/` (is there a google-* link for it?), that the instance lists the disk ' +
          '(gcloud compute instances describe), and that udev and the guest environment (google-guest-agent rules) run on the node image.',
      );
    }
    await sleep(w.intervalMs ?? 250, undefined, w.signal ? { signal: w.signal } : undefined);
  }
}

/** The kernel's name for a by-id link (`/dev/sdb`), as the host sees it; the path itself if it is no link. */
export async function resolveDevice(path: string, hostRoot: string): Promise<string> {
  const real = await realpath(hostRoot + path).catch(() => hostRoot + path);
  return hostRoot && real.startsWith(hostRoot) ? real.slice(hostRoot.length) : real;
}
