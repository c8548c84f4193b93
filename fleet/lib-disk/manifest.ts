import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LibDiskError } from './errors.ts';

/** The manifest's file name at the disk's root, written by the image build script. */
export const MANIFEST_FILE = 'sdfleet-manifest.json';

/**
 * What the lib-disk image build writes at the disk's root:
 * `{"version": "2025-01-a", "files": [{"path": "venv/bin/python", "size": 123, "sha256": "…"}]}`.
 * Paths are relative to the disk's root; `size` is optional.
 */
export interface LibManifest {
  version: string;
  files: ManifestFile[];
  [key: string]: unknown;
}

export interface ManifestFile {
  path: string;
  sha256: string;
  size?: number;
}

/**
 * `none`: only the manifest's version. `sizes` (default): every listed file is there with
 * its size; stat only, so it stays fast on a disk that is still being restored from its
 * image. `full`: every file's sha256 as well, which reads the whole disk.
 */
export type VerifyMode = 'none' | 'sizes' | 'full';
export const VERIFY_MODES: readonly VerifyMode[] = ['none', 'sizes', 'full'];

export interface VerifyOptions {
  /** The mounted disk, as the agent sees it. */
  dir: string;
  manifestFile?: string;
  /** The manifest's version must equal this, when given. */
  expectedVersion?: string;
  mode: VerifyMode;
}

export interface VerifyResult {
  manifest: LibManifest;
  /** Files checked. */
  checked: number;
}

export async function verifyManifest(o: VerifyOptions): Promise<VerifyResult> {
  const path = join(o.dir, o.manifestFile ?? MANIFEST_FILE);
  const manifest = parseManifest(await readFile(path, 'utf8').catch((err: unknown) => {
    throw new LibDiskError('verify_failed', `the lib disk has no manifest at ${path}: was the image built by sdfleet's lib-disk image script (it writes ${MANIFEST_FILE} at the root)?`, err);
  }), path);
  if (o.expectedVersion !== undefined && manifest.version !== o.expectedVersion) {
    throw new LibDiskError('verify_failed', `the lib disk's manifest says version "${manifest.version}" but --image-version is "${o.expectedVersion}": is --image the image of that version?`);
  }
  if (o.mode === 'none') return { manifest, checked: 0 };
  const problems: string[] = [];
  for (const f of manifest.files) {
    const full = join(o.dir, f.path);
    const s = await stat(full).catch(() => undefined);
    if (!s?.isFile()) {
      problems.push(`${f.path} is missing`);
    } else if (f.size !== undefined && s.size !== f.size) {
      problems.push(`${f.path} has ${s.size} bytes, the manifest says ${f.size}`);
    } else if (o.mode === 'full') {
      const hash = createHash('sha256');
      await pipeline(createReadStream(full), hash);
      const got = hash.digest('hex');
      if (got !== f.sha256.toLowerCase()) problems.push(`${f.path} has sha256 ${got.slice(0, 12)}…, the manifest says ${f.sha256.slice(0, 12)}…`);
    }
    if (problems.length >= 20) break;
  }
  if (problems.length > 0) {
    throw new LibDiskError(
      'verify_failed',
      `the lib disk does not match its manifest (version ${manifest.version}): ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and more` : ''}. The image is damaged or was built wrong: rebuild it, or check --image.`,
    );
  }
  return { manifest, checked: manifest.files.length };
}

export function parseManifest(text: string, where: string): LibManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new LibDiskError('verify_failed', `${where} is not valid JSON (expected {version, files: [{path, sha256, size?}]}).`, err);
  }
  const o = m as Partial<LibManifest> | null;
  if (!o || typeof o.version !== 'string' || o.version === '' || !Array.isArray(o.files)) {
    throw new LibDiskError('verify_failed', `${where} lacks "version" (a string) or "files" (an array): expected {version, files: [{path, sha256, size?}]}.`);
  }
  for (const [i, f] of o.files.entries()) {
    const file = f as Partial<ManifestFile> | null;
    if (!file || typeof file.path !== 'string' || typeof file.sha256 !== 'string' || (file.size !== undefined && typeof file.size !== 'number')) {
      throw new LibDiskError('verify_failed', `${where}: files[${i}] needs "path" and "sha256" strings (and "size" a number when given).`);
    }
    if (isAbsolute(file.path) || normalize(file.path).startsWith('..')) {
      throw new LibDiskError('verify_failed', `${where}: files[${i}].path "${file.path}" must be relative to the disk's root.`);
    }
  }
  return o as LibManifest;
}
