/**
 * The data dir. Objects live one JSON file each at
 * `<dataDir>/objects/<resource key>/<namespace or _>/<name>.json`.
 *
 * `sync` writes reach their file before the write returns: temp file, fsync, rename, fsync
 * of the folder. `batched` writes are appended to a change log (`changes-<n>.log`, one
 * JSON record a line) within `batchIntervalMs` by async I/O, without fsync: one append
 * per batch however many objects changed, instead of a file each. The log is folded into
 * the object files later (compaction): once the store has been quiet for a batch
 * interval, when the log passes `compactBytes`, and on close, so a cleanly closed data
 * dir holds object files only. A crash may lose the last batch; a record cut short at
 * the end of a log is dropped on load; no object file is ever half-written (temp file +
 * rename).
 *
 * Loading reads the object files, then replays the logs in order. A record applies only
 * when its resourceVersion is newer than what is there, so replaying a log that was
 * already folded in (a crash during compaction) changes nothing. Records of `sync`
 * kinds (their status writes) never create an object: a sync kind exists exactly when
 * its file does.
 *
 * A `LOCK` file with the owner's pid keeps two processes off one data dir.
 */
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { KubeObject } from './types.ts';

const FORMAT = 1;
const CLUSTER_DIR = '_';
const LOG_NAME = /^changes-(\d+)\.log$/;
/** Objects serialized for the change log between two turns of the event loop. */
const SERIALIZE_SLICE = 64;

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
  /** How long a batched write may wait before it is in the change log; default 100 ms. */
  batchIntervalMs?: number;
  /** Fold the change log into the object files when it grows past this; default 64 MiB (a second or so to replay on start). */
  compactBytes?: number;
  /** How many object files compaction writes at once; default 8 (a trickle beside the API's work). */
  writeConcurrency?: number;
  logger?: Logger;
}

/** How a resource is kept: see `Persistence` in resources/types.ts. */
export type PersistMode = 'sync' | 'batched';

/** Which object a batched write is about. */
export interface ObjectRef {
  resource: string;
  /** `''` for cluster-scoped kinds. */
  namespace: string;
  name: string;
}

interface Change {
  /** `resource\0namespace\0name`: cheaper than the path, which only compaction needs. */
  key: string;
  resource: string;
  namespace: string;
  name: string;
  /**
   * The object's JSON, or a function giving it (called when the batch is written and again
   * when compaction writes the object file: it must give the same text each time, as
   * the JSON of a frozen object does); null = removed.
   */
  json: string | (() => string) | null;
  /** A removal's resourceVersion (replay drops only older versions). */
  rv?: string;
  /** The file of a sync kind: a later synchronous write of it must win over this one. */
  guarded: boolean;
  /** Order of writes, compared with `#syncWritten`. */
  seq: number;
}

interface OpenLog {
  file: string;
  handle: Promise<FileHandle>;
  bytes: number;
}

export class FilePersistence {
  readonly dataDir: string;
  readonly #objectsDir: string;
  readonly #lockFile: string;
  readonly #batchIntervalMs: number;
  readonly #compactBytes: number;
  readonly #concurrency: number;
  readonly #log: Logger | undefined;
  readonly #knownDirs = new Set<string>();
  /** Batched writes not yet in a change log. */
  #pending = new Map<string, Change>();
  /** Batched writes in a change log, not yet in their object files. */
  #dirty = new Map<string, Change>();
  /** Last synchronous write (or removal) of each file, by `#seq`. */
  readonly #syncWritten = new Map<string, number>();
  #seq = 0;
  #current: OpenLog | undefined;
  #nextLog = 1;
  /** Logs no longer appended to, removed once a compaction has folded them in. */
  #retired: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #compacting: Promise<void> | undefined;
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
    this.#compactBytes = opts.compactBytes ?? 64 * 1024 * 1024;
    this.#concurrency = opts.writeConcurrency ?? 8;
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

  // -------------------------------------------------------------------------------------
  // loading

  /**
   * Every stored object of the given resources: the object files, then the change logs
   * a run that did not close cleanly left behind (they are folded into the files by the
   * next compaction). Throws StoreLoadError naming the file for anything unreadable.
   * Leftover temp files of an interrupted write are removed.
   */
  loadAll(resources: readonly { key: string; persist: PersistMode }[]): Map<string, KubeObject[]> {
    const byResource = new Map<string, Map<string, KubeObject>>();
    const modes = new Map<string, PersistMode>();
    for (const r of resources) {
      modes.set(r.key, r.persist);
      const m = new Map<string, KubeObject>();
      for (const o of this.#loadFiles(r.key)) m.set(`${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
      byResource.set(r.key, m);
    }
    const replayed = new Map<string, { resource: string; namespace: string; name: string }>();
    for (const { file, n } of this.#logsOnDisk()) {
      this.#nextLog = Math.max(this.#nextLog, n + 1);
      this.#retired.push(file);
      this.#replay(file, (rec) => {
        const objects = byResource.get(rec.resource);
        const mode = modes.get(rec.resource);
        if (!objects || !mode) return; // a kind this control plane no longer keeps
        const key = `${rec.namespace}/${rec.name}`;
        const cur = objects.get(key);
        if (rec.obj) {
          // A sync kind exists exactly when its file does: its logged status writes only update.
          if (mode === 'sync' && (!cur || cur.metadata.uid !== rec.obj.metadata.uid)) return;
          if (cur && Number(cur.metadata.resourceVersion) >= Number(rec.obj.metadata.resourceVersion)) return;
          objects.set(key, rec.obj);
        } else {
          if (!cur || Number(cur.metadata.resourceVersion) >= Number(rec.rv)) return;
          objects.delete(key);
        }
        replayed.set(`${rec.resource}\u0000${key}`, { resource: rec.resource, namespace: rec.namespace, name: rec.name });
      });
    }
    // What the logs changed goes to the object files with the first compaction, after which the logs go.
    for (const r of replayed.values()) {
      const obj = byResource.get(r.resource)!.get(`${r.namespace}/${r.name}`);
      const key = changeKey(r.resource, r.namespace, r.name);
      this.#dirty.set(key, {
        key,
        resource: r.resource,
        namespace: r.namespace,
        name: r.name,
        json: obj ? JSON.stringify(obj) : null,
        ...(obj ? {} : { rv: '0' }),
        guarded: modes.get(r.resource) === 'sync',
        seq: 0,
      });
    }
    if (this.#retired.length > 0) this.#armIdleCompaction();
    const out = new Map<string, KubeObject[]>();
    for (const [k, m] of byResource) out.set(k, [...m.values()]);
    return out;
  }

  /** The object files of one resource. */
  #loadFiles(resourceKey: string): KubeObject[] {
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
        if (!isStoredObject(o) || o.metadata.name !== f.slice(0, -5)) {
          throw new StoreLoadError(file, `cannot load ${file}: not a stored object (expected metadata.name "${f.slice(0, -5)}" and a numeric metadata.resourceVersion). Fix or remove the file, then start again.`);
        }
        out.push(o);
      }
    }
    return out;
  }

  #logsOnDisk(): { file: string; n: number }[] {
    const out: { file: string; n: number }[] = [];
    for (const f of fs.readdirSync(this.dataDir)) {
      const m = LOG_NAME.exec(f);
      if (m) out.push({ file: path.join(this.dataDir, f), n: Number(m[1]) });
    }
    return out.sort((a, b) => a.n - b.n);
  }

  /**
   * Calls `apply` for each record of a change log, in order. Text after the last newline
   * is a record cut short by a crash: ignored. A complete line that is not a record is
   * damage: StoreLoadError.
   */
  #replay(file: string, apply: (rec: { resource: string; namespace: string; name: string; obj?: KubeObject; rv?: string }) => void): void {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new StoreLoadError(file, `cannot read the change log ${file}: ${errorMessage(err)}`, err);
    }
    const end = text.lastIndexOf('\n');
    if (end < text.length - 1) {
      this.#log?.warn({ file, bytes: text.length - end - 1 }, 'the change log ends in a record cut short (a crash while writing it); that last change is lost');
    }
    let start = 0;
    let line = 0;
    while (start <= end) {
      const nl = text.indexOf('\n', start);
      const raw = text.slice(start, nl);
      start = nl + 1;
      line++;
      if (raw === '') continue;
      const bad = (why: string): StoreLoadError =>
        new StoreLoadError(file, `cannot load the change log ${file}, line ${line}: ${why}. Remove the file to start from the object files alone (losing the changes it holds), then start again.`);
      let rec: { r?: unknown; o?: unknown; d?: { ns?: unknown; n?: unknown; rv?: unknown } };
      try {
        rec = JSON.parse(raw) as typeof rec;
      } catch (err) {
        throw bad(`not JSON (${errorMessage(err)})`);
      }
      if (typeof rec.r !== 'string') throw bad('no resource ("r")');
      if (rec.o !== undefined) {
        const o = rec.o as KubeObject;
        if (!isStoredObject(o)) throw bad('"o" is not a stored object (metadata.name and a numeric metadata.resourceVersion)');
        apply({ resource: rec.r, namespace: typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '', name: o.metadata.name!, obj: o });
      } else if (rec.d && typeof rec.d.ns === 'string' && typeof rec.d.n === 'string' && typeof rec.d.rv === 'string' && /^\d+$/.test(rec.d.rv)) {
        apply({ resource: rec.r, namespace: rec.d.ns, name: rec.d.n, rv: rec.d.rv });
      } else {
        throw bad('neither an object ("o") nor a removal ("d" with ns, n and a numeric rv)');
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // writing

  /** Writes an object's file now, durably (fsync), before returning. Throws on I/O errors. */
  writeSync(ref: ObjectRef, json: string): void {
    const file = this.fileOf(ref.resource, ref.namespace, ref.name);
    this.#overtake(ref);
    this.#ensureDir(path.dirname(file));
    writeFileAtomicSync(file, json, true);
  }

  /** Removes an object's file now, durably. */
  removeSync(ref: ObjectRef): void {
    const file = this.fileOf(ref.resource, ref.namespace, ref.name);
    this.#overtake(ref);
    fs.rmSync(file, { force: true });
    fsyncDir(path.dirname(file));
  }

  /** A synchronous write replaces whatever batched write of the same object is waiting. */
  #overtake(ref: ObjectRef): void {
    const key = changeKey(ref.resource, ref.namespace, ref.name);
    this.#pending.delete(key);
    this.#dirty.delete(key);
    this.#syncWritten.set(key, ++this.#seq);
  }

  /**
   * Queues a write of an object for the next batch: its JSON, or a function giving it
   * (the same text at each call) when the batch is written and when it is compacted. `kind`: how the resource is kept otherwise (`sync`: the
   * status writes of a sync kind, which a later synchronous write overtakes).
   */
  scheduleWrite(ref: ObjectRef, json: string | (() => string), kind: PersistMode = 'batched'): void {
    this.#schedule(ref, json, undefined, kind === 'sync');
  }

  /** Queues the removal of an object (deleted at resourceVersion `rv`) for the next batch. */
  scheduleRemove(ref: ObjectRef, rv: string): void {
    this.#schedule(ref, null, rv, false);
  }

  #schedule(ref: ObjectRef, json: string | (() => string) | null, rv: string | undefined, guarded: boolean): void {
    if (this.#closed) return;
    const key = changeKey(ref.resource, ref.namespace, ref.name);
    this.#pending.set(key, { key, resource: ref.resource, namespace: ref.namespace, name: ref.name, json, ...(rv !== undefined ? { rv } : {}), guarded, seq: ++this.#seq });
    if (!this.#timer && !this.#flushing) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#batchIntervalMs);
    }
  }

  /** Writes everything queued so far to the change log; resolves when it is there (page cache). */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.values()];
    this.#pending = new Map();
    this.#flushing = this.#append(batch).finally(() => {
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

  async #append(batch: Change[]): Promise<void> {
    try {
      this.#writeState();
    } catch (err) {
      this.#log?.warn({ err: errorMessage(err) }, 'could not write state.json');
    }
    // Serialized a slice at a time, each slice's text straight into a Buffer: the JSON of a
    // batch lives off the heap while the slices in between let requests in, so it is not
    // carried through young-generation collections (and copied) as a heap string.
    const chunks: Buffer[] = [];
    let lines: string[] = [];
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i]!;
      if (i > 0 && i % SERIALIZE_SLICE === 0) {
        chunks.push(Buffer.from(lines.join('\n') + '\n'));
        lines = [];
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (c.json === null) {
        lines.push(`{"r":${JSON.stringify(c.resource)},"d":${JSON.stringify({ ns: c.namespace, n: c.name, rv: c.rv ?? '0' })}}`);
      } else {
        // Not kept as text: a function gives the JSON of a frozen version, the same text again
        // when compaction writes the object file, and a string kept until then would be
        // ~1.5 KB a GameServer on the heap.
        const json = typeof c.json === 'function' ? c.json() : c.json;
        lines.push(`{"r":${JSON.stringify(c.resource)},"o":${json}}`);
      }
    }
    if (lines.length > 0) chunks.push(Buffer.from(lines.join('\n') + '\n'));
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    try {
      const log = (this.#current ??= this.#openLog());
      await (await log.handle).appendFile(data);
      log.bytes += data.length;
    } catch (err) {
      this.#writeErrors++;
      this.#log?.warn({ err: errorMessage(err), changes: batch.length }, 'could not append to the change log; will retry with the next batch');
      for (const c of batch) if (!this.#pending.has(c.key)) this.#pending.set(c.key, c);
      return;
    }
    for (const c of batch) {
      // A synchronous write since then overtakes it.
      if (c.guarded && (this.#syncWritten.get(c.key) ?? 0) > c.seq) continue;
      this.#dirty.set(c.key, c);
    }
    if (this.#current && this.#current.bytes >= this.#compactBytes) void this.#compact();
    else this.#armIdleCompaction();
  }

  #openLog(): OpenLog {
    const file = path.join(this.dataDir, `changes-${String(this.#nextLog++).padStart(6, '0')}.log`);
    const handle = fsp.open(file, 'a');
    handle.catch(() => undefined); // the append that awaits it reports the error
    return { file, handle, bytes: 0 };
  }

  /** Compaction once nothing was written for a batch interval after the last append. */
  #armIdleCompaction(): void {
    if (this.#closed) return;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#pending.size === 0 && !this.#flushing && (this.#dirty.size > 0 || this.#retired.length > 0)) void this.#compact();
    }, this.#batchIntervalMs);
    this.#idleTimer.unref();
  }

  /**
   * Folds the change logs into the object files: the current log is retired (the next
   * batch opens a new one), every change in it is written to its object file (temp +
   * rename), then the retired logs are removed. A change that could not be written stays
   * for the next compaction, and so do the logs.
   */
  #compact(): Promise<void> {
    if (this.#compacting) return this.#compacting;
    if (this.#flushing) return this.#flushing.then(() => this.#compact());
    const log = this.#current;
    this.#current = undefined;
    if (log) this.#retired.push(log.file);
    const retired = this.#retired.slice();
    const changes = [...this.#dirty.values()];
    this.#dirty = new Map();
    this.#compacting = (async () => {
      if (log) await closeQuietly(log.handle);
      let failed = false;
      let i = 0;
      const worker = async (): Promise<void> => {
        while (i < changes.length) {
          const c = changes[i++]!;
          try {
            await this.#writeObjectFile(c);
          } catch (err) {
            failed = true;
            this.#writeErrors++;
            this.#log?.warn({ file: this.fileOf(c.resource, c.namespace, c.name), err: errorMessage(err) }, 'could not write an object file from the change log; the log is kept and it will be tried again');
            if (!this.#dirty.has(c.key)) this.#dirty.set(c.key, c);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, changes.length) }, worker));
      if (failed) return;
      // Oldest first, stopping at a failure: a log left behind always has every later one
      // beside it, so a removal it recorded is replayed after any earlier record of the object.
      for (const f of retired) {
        try {
          await fsp.rm(f, { force: true });
          this.#retired = this.#retired.filter((x) => x !== f);
        } catch (err) {
          this.#log?.warn({ file: f, err: errorMessage(err) }, 'could not remove a folded change log; it is kept (replaying it is harmless) and removed after the next compaction');
          return;
        }
      }
    })().finally(() => {
      this.#compacting = undefined;
    });
    return this.#compacting;
  }

  async #writeObjectFile(c: Change): Promise<void> {
    const overtaken = (): boolean => c.guarded && (this.#syncWritten.get(c.key) ?? 0) > c.seq;
    if (overtaken()) return;
    const file = this.fileOf(c.resource, c.namespace, c.name);
    if (c.json === null) {
      await fsp.rm(file, { force: true });
      return;
    }
    await this.#ensureDirAsync(path.dirname(file));
    const tmp = `${file}.tmp-log`;
    await fsp.writeFile(tmp, typeof c.json === 'function' ? c.json() : c.json);
    if (!c.guarded) {
      await fsp.rename(tmp, file);
      return;
    }
    // A sync kind's file: check and rename in one turn, so a synchronous write of it can't land in between.
    if (overtaken()) {
      await fsp.rm(tmp, { force: true });
      return;
    }
    fs.renameSync(tmp, file);
  }

  /**
   * Writes what is pending to the change log and folds the log into the object files
   * now; resolves when done (tests, and benchmarks that want a quiet disk before they
   * measure). It happens by itself when the store is quiet.
   */
  async compact(): Promise<void> {
    await this.flush();
    while (this.#compacting) await this.#compacting;
    if (this.#dirty.size > 0 || this.#retired.length > 0 || this.#current) await this.#compact();
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
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#closed = true;
    fs.rmSync(this.#lockFile, { force: true });
  }

  /** Writes what is pending, folds the change log into the object files, then releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    while (this.#compacting) await this.#compacting;
    if (this.#dirty.size > 0 || this.#retired.length > 0 || this.#current) await this.#compact();
    this.#writeState();
    fs.rmSync(this.#lockFile, { force: true });
  }
}

function changeKey(resource: string, namespace: string, name: string): string {
  return `${resource}\u0000${namespace}\u0000${name}`;
}

function isStoredObject(o: KubeObject): boolean {
  const rv = o?.metadata?.resourceVersion;
  return typeof o === 'object' && o !== null && typeof o.metadata === 'object' && o.metadata !== null && typeof o.metadata.name === 'string' && typeof rv === 'string' && /^\d+$/.test(rv);
}

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // never opened, or already closed: nothing to release
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
