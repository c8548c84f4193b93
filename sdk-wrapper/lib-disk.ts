import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Logger } from '../common/log.ts';

/** What the lib-disk node agent writes once the disk is mounted and verified. */
export interface LibMarker {
  image: string;
  version: string;
  mountedAt: string;
  [key: string]: unknown;
}

export interface LibDiskOptions {
  /** The lib disk's mount point, e.g. /opt/sdfleet/lib. */
  dir: string;
  /** (a) `dir` must be a mount point. On in a pod, off for local use. */
  requireMount: boolean;
  /** (b) The marker file; default `<dir>/.sdfleet-ready`. */
  marker?: string;
  /** (c) The marker's `version` must equal this, when given. */
  version?: string;
  /** (d) Paths that must exist, relative to `dir` (e.g. `venv/bin/python`) or absolute. */
  require?: string[];
}

export interface LibDiskCheck {
  ready: boolean;
  /** Every unmet condition, each saying what is missing and what to check. */
  missing: string[];
  marker?: LibMarker;
}

export function markerPath(opts: LibDiskOptions): string {
  return opts.marker ?? join(opts.dir, '.sdfleet-ready');
}

/** One look at the lib disk: which of the four conditions hold. */
export async function checkLibDisk(opts: LibDiskOptions): Promise<LibDiskCheck> {
  const missing: string[] = [];
  const dirStat = await stat(opts.dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    missing.push(`${opts.dir} does not exist or is not a directory (is the lib disk volume mounted into the container?)`);
    return { ready: false, missing };
  }
  if (opts.requireMount && !(await isMountPoint(opts.dir))) {
    missing.push(`${opts.dir} is not a mount point yet (the node agent has not mounted the lib disk; check the sdfleet lib-disk DaemonSet's log on this node)`);
  }
  const mpath = markerPath(opts);
  let marker: LibMarker | undefined;
  const text = await readFile(mpath, 'utf8').catch(() => undefined);
  if (text === undefined) {
    missing.push(`marker ${mpath} is not there (the node agent writes it after mounting and verifying the disk)`);
  } else {
    try {
      const parsed = JSON.parse(text) as Partial<LibMarker>;
      if (typeof parsed.version !== 'string' || typeof parsed.image !== 'string') {
        missing.push(`marker ${mpath} lacks "image" or "version" (expected JSON {image, version, mountedAt})`);
      } else {
        marker = parsed as LibMarker;
      }
    } catch {
      missing.push(`marker ${mpath} is not valid JSON yet (expected {image, version, mountedAt})`);
    }
  }
  if (marker && opts.version !== undefined && marker.version !== opts.version) {
    missing.push(`lib disk version is "${marker.version}" (image ${marker.image}) but this GameServer needs "${opts.version}" (roll the node pool's lib disk, or fix --lib-version)`);
  }
  for (const p of opts.require ?? []) {
    const full = isAbsolute(p) ? p : join(opts.dir, p);
    if (!(await stat(full).catch(() => undefined))) {
      missing.push(`required path ${full} is missing (is this the right lib disk image?)`);
    }
  }
  return { ready: missing.length === 0, missing, ...(marker ? { marker } : {}) };
}

/** True when `dir` is itself a mount point, per /proc/self/mountinfo. */
export async function isMountPoint(dir: string): Promise<boolean> {
  const real = await realpath(dir).catch(() => resolve(dir));
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => undefined);
  if (info !== undefined) {
    for (const line of info.split('\n')) {
      const mountPoint = line.split(' ')[4];
      if (mountPoint !== undefined && unescapeMountPath(mountPoint) === real) return true;
    }
    return false;
  }
  // No /proc: a mount point sits on another device than its parent.
  const [a, b] = await Promise.all([stat(real), stat(dirname(real))]);
  return a.dev !== b.dev;
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export class LibDiskTimeout extends Error {
  readonly missing: string[];
  constructor(timeoutMs: number, missing: string[]) {
    super(`lib disk not ready after ${Math.round(timeoutMs / 1000)} s: ${missing.join('; ')}`);
    this.name = 'LibDiskTimeout';
    this.missing = missing;
  }
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  log: Logger;
  /**
   * Mounts make no inotify event on the folder that gets mounted over, so the gate also
   * looks again at this interval. The marker itself is seen through events at once.
   */
  recheckMs?: number;
  /** How often to log what is still missing. Default 10 s. */
  progressMs?: number;
}

/**
 * Resolves with the marker once every condition holds. Watches the folders that hold the
 * marker and the lib dir (or their nearest existing ancestor) and checks again on every
 * event. Rejects with LibDiskTimeout listing what was still missing, or with the abort
 * reason.
 */
export async function waitForLibDisk(opts: LibDiskOptions, w: WaitOptions): Promise<LibMarker> {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let progress: NodeJS.Timeout | undefined;
  let last: LibDiskCheck = { ready: false, missing: ['not checked yet'] };
  let checking = false;
  let again = false;

  try {
    return await new Promise<LibMarker>((resolveMarker, reject) => {
      const finish = (err?: Error, marker?: LibMarker): void => {
        if (err) reject(err);
        else resolveMarker(marker!);
      };
      const check = async (): Promise<void> => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            last = await checkLibDisk(opts);
            if (last.ready) return finish(undefined, last.marker);
            await armWatchers();
          } while (again);
        } catch (err) {
          finish(err as Error);
        } finally {
          checking = false;
        }
      };
      const armWatchers = async (): Promise<void> => {
        for (const target of [dirname(markerPath(opts)), opts.dir]) {
          const dir = await nearestExisting(target);
          if (watchers.has(dir)) continue;
          try {
            const watcher = fsWatch(dir, () => void check());
            watcher.on('error', () => {
              watcher.close();
              watchers.delete(dir);
            });
            watchers.set(dir, watcher);
          } catch {
            // Unwatchable folder: the recheck timer still covers it.
          }
        }
      };
      timer = setTimeout(() => finish(new LibDiskTimeout(w.timeoutMs, last.missing)), w.timeoutMs);
      recheck = setInterval(() => void check(), w.recheckMs ?? 1000);
      progress = setInterval(() => w.log.info({ missing: last.missing }, 'still waiting for the lib disk'), w.progressMs ?? 10_000);
      w.signal?.addEventListener('abort', () => finish(w.signal?.reason as Error), { once: true });
      void check();
    });
  } finally {
    clearTimeout(timer);
    clearInterval(recheck);
    clearInterval(progress);
    for (const watcher of watchers.values()) watcher.close();
  }
}

async function nearestExisting(p: string): Promise<string> {
  let cur = resolve(p);
  for (;;) {
    const s = await stat(cur).catch(() => undefined);
    if (s?.isDirectory()) return cur;
    const up = dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
}
