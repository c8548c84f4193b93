import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { notFound } from '../../common/errors.ts';

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

export interface ImageEntry {
  /** Path inside the user's folder, with forward slashes. */
  path: string;
  size: number;
  modified: string;
  url: string;
}

/** The user's images, newest first, across sessions. */
export async function listImages(userDir: string, urlPrefix: string, limit = 500): Promise<ImageEntry[]> {
  const out: ImageEntry[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 6) return;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (e.isFile() && IMAGE_TYPES[extname(e.name).toLowerCase()]) {
        const s = await stat(p).catch(() => undefined);
        if (!s) continue;
        const rel = relative(userDir, p).split(sep).join('/');
        out.push({ path: rel, size: s.size, modified: s.mtime.toISOString(), url: `${urlPrefix}/${rel.split('/').map(encodeURIComponent).join('/')}` });
      }
    }
  };
  await walk(userDir, 0);
  return out.sort((a, b) => b.modified.localeCompare(a.modified)).slice(0, limit);
}

/**
 * The file at `rel` inside `userDir`, refusing anything that leaves it (`..`, absolute
 * paths, symlinks pointing out) and anything that is not an image.
 */
export async function openImage(userDir: string, rel: string): Promise<{ stream: NodeJS.ReadableStream; type: string; size: number }> {
  const type = IMAGE_TYPES[extname(rel).toLowerCase()];
  if (!type || rel.includes('\0')) throw notFound('no such image');
  const root = await realpath(userDir).catch(() => undefined);
  if (!root) throw notFound('no such image');
  const full = await realpath(resolve(root, rel)).catch(() => undefined);
  if (!full || (full !== root && !full.startsWith(root + sep))) throw notFound('no such image');
  const s = await stat(full);
  if (!s.isFile()) throw notFound('no such image');
  return { stream: createReadStream(full), type, size: s.size };
}
