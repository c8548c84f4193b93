/**
 * The data dir: one JSON file per object at
 * `<dataDir>/objects/<resource key>/<namespace or _>/<name>.json`.
 *
 * `sync` kinds are written before the write returns: temp file, fsync, rename, fsync of
 * the folder. `batched` kinds are queued and written within `batchIntervalMs` by async
 * I/O (no fsync): a crash may lose the last batch, never leave a half-written file.
 * A `LOCK` file with the owner's pid keeps two processes off one data dir.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { KubeObject } from './types.ts';

const FORMAT = 1;
const CLUSTER_DIR = '_';

/** The data dir can't be used: a corrupt file, a second process, a wrong format. */
export class StoreLoadError extends Error {
  readonly file: string;
  constructor(file: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreLoadError';
    this.file = file;
  }
}

export interface FilePersistenceOptions {
  dataDir: string;
  /** How long a batched write may wait; default 100 ms. */
  batchIntervalMs?: number;
  /** How many batched files are written at once; default 32. */
  writeConcurrency?: number;
  logger?: Logger;
}

interface Pending {
  file: string;
  /** null = delete; a function is called when the batch is written. */
  json: string | (() => string) | null;
}

export class FilePersistence {
  readonly dataDir: string;
  readonly #objectsDir: string;
  readonly #lockFile: string;
  readonly #batchIntervalMs: number;
  readonly #concurrency: number;
  readonly #log: Logger | undefined;
  readonly #knownDirs = new Set<string>();
  #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #writeErrors = 0;
  #resourceVersion = 0;
  #writtenResourceVersion = 0;

  /** Takes the data dir (creating it) or throws StoreLoadError. */
  constructor(opts: FilePersistenceOptions) {
    this.dataDir = path.resolve(opts.dataDir);
    this.#objectsDir = path.join(this.dataDir, 'objects');
    this.#lockFile = path.join(this.dataDir, 'LOCK');
    this.#batchIntervalMs = opts.batchIntervalMs ?? 100;
    this.#concurrency = opts.writeConcurrency ?? 32;
    this.#log = opts.logger;
    try {
      fs.mkdirSync(this.#objectsDir, { recursive: true });
    } catch (err) {
      throw new StoreLoadError(this.dataDir, `cannot create the data dir ${this.dataDir}: ${errorMessage(err)}`, err);
    }
    this.#checkFormat();
    this.#lock();
  }

  #checkFormat(): void {
    const file = path.join(this.dataDir, 'format.json');
    if (fs.existsSync(file)) {
      let format: unknown;
      try {
        format = (JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: unknown }).format;
      } catch (err) {
        throw new StoreLoadError(file, `${file} is not valid JSON (${errorMessage(err)}); it should read {"format": ${FORMAT}}`, err);
      }
      if (format !== FORMAT) {
        throw new StoreLoadError(file, `${file} says format ${String(format)}; this sdfleet reads format ${FORMAT}. Use a matching sdfleet or a new --data-dir.`);
      }
    } else {
      writeFileAtomicSync(file, JSON.stringify({ format: FORMAT }) + '\n');
    }
  }

  #lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.#lockFile, 'wx');
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StoreLoadError(this.#lockFile, `cannot create ${this.#lockFile}: ${errorMessage(err)}`, err);
        }
      }
      const pid = Number(fs.readFileSync(this.#lockFile, 'utf8').trim());
      if (pid === process.pid) {
        throw new StoreLoadError(this.#lockFile, `the data dir ${this.dataDir} is already open in this process; close that store first`);
      }
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new StoreLoadError(this.#lockFile, `the data dir ${this.dataDir} is in use by process ${pid}; stop it or use another --data-dir`);
      }
      // A stale lock from a process that is gone.
      fs.rmSync(this.#lockFile, { force: true });
    }
    throw new StoreLoadError(this.#lockFile, `cannot lock ${this.dataDir}`);
  }

  /**
   * The highest resourceVersion handed out, kept in `state.json` (with each batch and on
   * close) so that after a restart the counter continues above what clients have seen,
   * not only above what was stored.
   */
  noteResourceVersion(rv: number): void {
    this.#resourceVersion = rv;
  }

  /** The resourceVersion recorded by the last run (0 when none). */
  loadResourceVersion(): number {
    const file = path.join(this.dataDir, 'state.json');
    if (!fs.existsSync(file)) return 0;
    try {
      const rv = Number((JSON.parse(fs.readFileSync(file, 'utf8')) as { resourceVersion?: unknown }).resourceVersion);
      return Number.isInteger(rv) && rv > 0 ? rv : 0;
    } catch (err) {
      throw new StoreLoadError(file, `cannot load ${file}: ${errorMessage(err)}. Remove the file (resourceVersions then continue from the stored objects) and start again.`, err);
    }
  }

  #writeState(): void {
    if (this.#resourceVersion === this.#writtenResourceVersion) return;
    writeFileAtomicSync(path.join(this.dataDir, 'state.json'), JSON.stringify({ resourceVersion: this.#resourceVersion }) + '\n', false);
    this.#writtenResourceVersion = this.#resourceVersion;
  }

  fileOf(resourceKey: string, namespace: string | undefined, name: string): string {
    return path.join(this.#objectsDir, resourceKey, namespace || CLUSTER_DIR, `${name}.json`);
  }

  /**
   * Every stored object of `resourceKey`. Throws StoreLoadError naming the file for
   * anything unreadable. Leftover temp files of an interrupted write are removed.
   */
  load(resourceKey: string): KubeObject[] {
    const dir = path.join(this.#objectsDir, resourceKey);
    if (!fs.existsSync(dir)) return [];
    const out: KubeObject[] = [];
    for (const nsDir of fs.readdirSync(dir)) {
      const nsPath = path.join(dir, nsDir);
      if (!fs.statSync(nsPath).isDirectory()) continue;
      this.#knownDirs.add(nsPath);
      for (const f of fs.readdirSync(nsPath)) {
        const file = path.join(nsPath, f);
        if (f.includes('.tmp')) {
          fs.rmSync(file, { force: true });
          continue;
        }
        if (!f.endsWith('.json')) continue;
        let obj: unknown;
        try {
          obj = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch (err) {
          throw new StoreLoadError(file, `cannot load ${file}: ${errorMessage(err)}. Fix or remove the file, then start again.`, err);
        }
        const o = obj as KubeObject;
        const rv = o?.metadata?.resourceVersion;
        if (typeof o !== 'object' || o === null || typeof o.metadata !== 'object' || o.metadata === null || o.metadata.name !== f.slice(0, -5) || typeof rv !== 'string' || !/^\d+$/.test(rv)) {
          throw new StoreLoadError(file, `cannot load ${file}: not a stored object (expected metadata.name "${f.slice(0, -5)}" and a numeric metadata.resourceVersion). Fix or remove the file, then start again.`);
        }
        out.push(o);
      }
    }
    return out;
  }

  /** Writes now, durably (fsync), before returning. Throws on I/O errors. */
  writeSync(file: string, json: string): void {
    this.#pending.delete(file);
    this.#ensureDir(path.dirname(file));
    writeFileAtomicSync(file, json, true);
  }

  /** Removes now, durably. */
  removeSync(file: string): void {
    this.#pending.delete(file);
    fs.rmSync(file, { force: true });
    fsyncDir(path.dirname(file));
  }

  /** Queues a write (json, or a function giving it at write time) or a removal (null) for the next batch. */
  schedule(file: string, json: string | (() => string) | null): void {
    if (this.#closed) return;
    this.#pending.set(file, { file, json });
    if (!this.#timer && !this.#flushing) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#batchIntervalMs);
    }
  }

  /** Writes everything queued so far; resolves when it is on disk (page cache). */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending = new Map();
    this.#flushing = this.#writeBatch(batch).finally(() => {
      this.#flushing = undefined;
      if (this.#pending.size > 0 && !this.#closed && !this.#timer) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.flush();
        }, this.#batchIntervalMs);
      }
    });
    await this.#flushing;
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    try {
      this.#writeState();
    } catch (err) {
      this.#log?.warn({ err: errorMessage(err) }, 'could not write state.json');
    }
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < batch.length) {
        const p = batch[i++]!;
        try {
          if (p.json === null) {
            await fsp.rm(p.file, { force: true });
          } else {
            await this.#ensureDirAsync(path.dirname(p.file));
            const tmp = `${p.file}.tmp`;
            await fsp.writeFile(tmp, typeof p.json === 'function' ? p.json() : p.json);
            await fsp.rename(tmp, p.file);
          }
        } catch (err) {
          this.#writeErrors++;
          this.#log?.warn({ file: p.file, err: errorMessage(err) }, 'could not write a batched object; it will be missing after a restart');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batch.length) }, worker));
  }

  /** Batched writes that failed since start (logged at warn). */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  #ensureDir(dir: string): void {
    if (this.#knownDirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    fsyncDir(path.dirname(dir));
    this.#knownDirs.add(dir);
  }

  async #ensureDirAsync(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    this.#knownDirs.add(dir);
  }

  /** Releases the lock without writing anything (a failed open). */
  abandon(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#closed = true;
    fs.rmSync(this.#lockFile, { force: true });
  }

  /** Flushes, then releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    this.#writeState();
    fs.rmSync(this.#lockFile, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Temp file + (fsync) + rename: readers see the old file or the new one, never half. */
export function writeFileAtomicSync(file: string, data: string, durable = true): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (durable) fsyncDir(path.dirname(file));
}
