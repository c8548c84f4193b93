import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The user's folder in the store. The owner label is a hash, valid as a label value; it is
 * checked again here so no label can point a folder outside the store.
 */
export function userDir(root: string, user: string): string {
  if (!SAFE_SEGMENT.test(user) || user.includes('..')) {
    throw new Error(`owner label "${user}" cannot name a folder in the user store (expected [A-Za-z0-9._-], up to 63 chars, no "..")`);
  }
  return join(resolve(root), user);
}

/** AUTOMATIC1111 options that send every kind of output into `dir`. */
export function outputOptions(dir: string): Record<string, string> {
  return {
    // Empty: A1111 then uses the per-kind folders below instead of one for everything.
    outdir_samples: '',
    outdir_grids: '',
    outdir_txt2img_samples: join(dir, 'txt2img-images'),
    outdir_img2img_samples: join(dir, 'img2img-images'),
    outdir_extras_samples: join(dir, 'extras-images'),
    outdir_txt2img_grids: join(dir, 'txt2img-grids'),
    outdir_img2img_grids: join(dir, 'img2img-grids'),
    outdir_save: join(dir, 'saved'),
    outdir_init_images: join(dir, 'init-images'),
  };
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/**
 * fsyncs every file under `dir` changed since `sinceMs`, and the folders holding them, so
 * the outputs survive the instance going away (on a network store, close-to-open
 * consistency needs the close; the fsync makes it durable). Resolves with the file count.
 */
export async function flushOutputs(dir: string, sinceMs: number): Promise<number> {
  let files = 0;
  const walk = async (d: string): Promise<boolean> => {
    let changed = false;
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (await walk(p)) changed = true;
      } else if (e.isFile()) {
        const s = await stat(p).catch(() => undefined);
        if (s && s.mtimeMs >= sinceMs - 1000) {
          await fsync(p);
          files += 1;
          changed = true;
        }
      }
    }
    if (changed) await fsync(d);
    return changed;
  };
  await walk(dir);
  return files;
}

async function fsync(p: string): Promise<void> {
  const fh = await open(p, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on folders; the files themselves were synced.
  } finally {
    await fh.close();
  }
}
