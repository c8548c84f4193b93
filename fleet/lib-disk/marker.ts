import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The marker the wrapper waits for (sdk-wrapper/lib-disk.ts `LibMarker`): JSON with at
 * least `image` and `version` strings and `mountedAt`. The disk is mounted read-only, so
 * the marker lives beside the mount point, not in it: give the wrapper `--lib-marker`.
 */
export interface ReadyMarker {
  image: string;
  version: string;
  mountedAt: string;
  disk: string;
  device: string;
  strategy: string;
  node: string;
  zone: string;
  verify: string;
}

/** Written to a temporary file and renamed, so the wrapper never reads half a marker. */
export async function writeMarker(path: string, marker: ReadyMarker): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(marker, null, 2) + '\n');
  await rename(tmp, path);
}

/** Removes a marker left from before a reboot, before the disk is mounted again. */
export async function clearMarker(path: string): Promise<void> {
  await rm(path, { force: true });
}
