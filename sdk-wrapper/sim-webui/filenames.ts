import { access, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** What A1111's `FilenameGenerator` may put into folder and file names. */
export interface NameContext {
  seed: number;
  prompt: string;
  steps: number;
  cfgScale: number;
  width: number;
  height: number;
  sampler: string;
  modelName: string;
  modelHash: string;
  /** `YYYYMMDDhhmmss` of the job. */
  jobTimestamp: string;
  /** Index of the image's batch (n_iter), from 0. */
  batchNumber: number;
  now: Date;
  /** `directories_max_prompt_words`. */
  maxPromptWords: number;
}

/** The settings that decide where an image goes (A1111 option names). */
export interface SaveSettings {
  save_to_dirs: boolean;
  directories_filename_pattern: string;
  samples_filename_pattern: string;
  save_images_add_number: boolean;
}

/** A1111's `sanitize_filename_part`. */
export function sanitizeFilenamePart(text: string, replaceSpaces = true): string {
  let t = replaceSpaces ? text.replace(/ /g, '_') : text;
  t = t.replace(/[#<>:"/\\|?*\n\r\t]/g, '_');
  t = t.replace(/^ +/, '').slice(0, 128);
  return t.replace(/[ .]+$/, '');
}

const NON_LETTERS = /[\s!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+/;

/** `[name]` → value; `[none]` drops the text before it, as A1111's NOTHING_AND_SKIP_PREVIOUS_TEXT. */
function replacement(key: string, c: NameContext): string | null | undefined {
  switch (key) {
    case 'seed':
      return String(c.seed);
    case 'prompt':
    case 'prompt_no_styles':
      return sanitizeFilenamePart(c.prompt);
    case 'prompt_spaces':
      return sanitizeFilenamePart(c.prompt, false);
    case 'prompt_words': {
      const words = c.prompt.split(NON_LETTERS).filter((w) => w !== '');
      return sanitizeFilenamePart((words.length ? words : ['empty']).slice(0, c.maxPromptWords).join(' '), false);
    }
    case 'steps':
      return String(c.steps);
    case 'cfg':
      return Number.isInteger(c.cfgScale) ? c.cfgScale.toFixed(1) : String(c.cfgScale);
    case 'width':
      return String(c.width);
    case 'height':
      return String(c.height);
    case 'sampler':
      return sanitizeFilenamePart(c.sampler, false);
    case 'model_name':
      return sanitizeFilenamePart(c.modelName, false);
    case 'model_hash':
      return c.modelHash;
    case 'date':
      return `${c.now.getFullYear()}-${pad(c.now.getMonth() + 1)}-${pad(c.now.getDate())}`;
    case 'datetime':
      return `${c.now.getFullYear()}${pad(c.now.getMonth() + 1)}${pad(c.now.getDate())}${pad(c.now.getHours())}${pad(c.now.getMinutes())}${pad(c.now.getSeconds())}`;
    case 'job_timestamp':
      return c.jobTimestamp;
    case 'batch_number':
      return String(c.batchNumber);
    case 'none':
      return null;
    default:
      return undefined;
  }
}

/** A1111's `FilenameGenerator.apply`: unknown `[tokens]` stay as written. */
export function applyPattern(pattern: string, c: NameContext): string {
  let out = '';
  const token = /\[([^[\]]+)\]/g;
  let last = 0;
  for (let m = token.exec(pattern); m; m = token.exec(pattern)) {
    const text = pattern.slice(last, m.index);
    last = m.index + m[0].length;
    const name = m[1] ?? '';
    const value = replacement(name.toLowerCase(), c);
    if (value === null) continue;
    out += value === undefined ? `${text}[${name}]` : text + value;
  }
  return out + pattern.slice(last);
}

/** The folder an image goes to: `outdir`, plus `[date]` (by default) when `save_to_dirs`. */
export function sampleFolder(outdir: string, s: SaveSettings, c: NameContext): string {
  if (!s.save_to_dirs) return outdir;
  const dirname = applyPattern(s.directories_filename_pattern || '[prompt_words]', c).replace(/^ +/, '').replace(/[\\ /]+$/, '');
  return join(outdir, dirname);
}

/** A1111's `get_next_sequence_number`: one more than the highest leading number in the folder. */
export async function nextSequenceNumber(folder: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let max = -1;
  for (const name of names) {
    const first = name.replace(/\.[^.]*$/, '').split('-')[0] ?? '';
    if (/^\d+$/.test(first)) max = Math.max(max, Number(first));
  }
  return max + 1;
}

/**
 * Writes a PNG where A1111's `save_image` would: `<outdir>/<date>/<NNNNN>-<decoration>.png`.
 * The bytes go to a hidden temporary file first, are synced, then renamed into place, so a
 * watcher of the folder never sees a half-written image. Resolves with the final path.
 */
export async function saveImage(png: Buffer, outdir: string, s: SaveSettings, c: NameContext): Promise<string> {
  const folder = sampleFolder(outdir, s, c);
  await mkdir(folder, { recursive: true });
  const decoration = applyPattern(s.samples_filename_pattern || (s.save_to_dirs ? '[seed]' : '[seed]-[prompt_spaces]'), c);
  const addNumber = s.save_images_add_number || decoration === '';
  let path = join(folder, `${decoration}.png`);
  if (addNumber) {
    const suffix = decoration === '' ? '' : `-${decoration}`;
    const base = await nextSequenceNumber(folder);
    // As A1111: skip numbers whose file exists (another writer in the same folder).
    for (let i = 0; i < 500; i++) {
      path = join(folder, `${String(base + i).padStart(5, '0')}${suffix}.png`);
      if (!(await exists(path))) break;
    }
  }
  const tmp = join(folder, `.${process.pid}-${Date.now()}.png.tmp`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(png);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`could not save the image to ${path}: ${(err as Error).message}; check that outdir_txt2img_samples is a writable folder`, { cause: err });
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
