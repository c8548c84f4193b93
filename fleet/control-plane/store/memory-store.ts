/**
 * `MemoryObjectStore`: the ObjectStore (types.ts) in memory, with optional persistence
 * to a data dir. Objects are kept deeply frozen and handed out without copying; each
 * write copies the caller's object once, defaults, validates, stamps metadata, freezes.
 *
 * Per resource: a map by `namespace/name`, a map per namespace, a bounded history of
 * events for watch replay, the watchers, and optional secondary indexes. One global
 * resourceVersion counter across all resources, like etcd's revision.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../common/log.ts';
import { silentLogger } from '../../../common/log.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { RegisteredType, ResourceRegistry } from '../resources/registry.ts';
import { objectMetaErrors, toCauses, type FieldError } from '../resources/validation.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  gone,
  internalError,
  invalid,
  methodNotAllowed,
  notFound,
} from './errors.ts';
import type { FilePersistence } from './persistence.ts';
import { SortedList } from './sorted-list.ts';
import {
  COMMON_FIELDS,
  EVERY_OBJECT,
  parseFieldSelector,
  parseLabelSelector,
  type FieldSelector,
  type LabelSelector,
} from './selectors.ts';
import type {
  ChangeEvent,
  ChangeListener,
  DeleteOptions,
  IndexOptions,
  KubeObject,
  ListOptions,
  ListResult,
  ObjectStore,
  ResourceKey,
  UpdateOptions,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './types.ts';

export interface MemoryStoreOptions {
  registry: ResourceRegistry;
  /** Where `persist` kinds are written; absent = memory only. */
  persistence?: FilePersistence;
  /** Events kept per resource for watch replay; older resourceVersions get 410. Default 10,000. */
  historyLimit?: number;
  /**
   * Events older than this are dropped from the replay history too (as etcd compacts what
   * the Kubernetes API serves every 5 minutes): under steady churn the history, and the
   * object versions it holds, stop growing after this long. Default 5 min.
   */
  historyMaxAgeMs?: number;
  /** Default interval of BOOKMARK events for watches that allow them; default 60 s. */
  bookmarkIntervalMs?: number;
  /** Dependents deleted per event-loop turn by the background cascade; default 500. */
  cascadeBatchSize?: number;
  /** How often retention (Events) is enforced; default 60 s. */
  retentionSweepMs?: number;
  logger?: Logger;
  /** Clock for timestamps, in ms; default Date.now. */
  now?: () => number;
  /** Start the counter at least here (the last run's high-water mark). */
  initialResourceVersion?: number;
}

const DEFAULT_NAMESPACE = 'default';
/** Kubernetes' generateName alphabet (no vowels, no confusable digits). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

interface Entry {
  obj: KubeObject;
  rv: number;
  key: string;
  ns: string;
  updatedAt: number;
  /** Index values of the object, by the index's slot (`Index.slot`). */
  indexValues?: (readonly string[] | undefined)[];
  ownerUids?: readonly string[];
  /** `resourceKey\0ns/name`: its name in `#dependents`. */
  ref?: string;
}

interface HistoryEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  /** When it happened (the store's clock, ms). */
  at: number;
  object: KubeObject;
  prev?: KubeObject;
}

interface Index {
  /** Where an entry keeps this index's values (`Entry.indexValues`). */
  slot: number;
  keysOf: (obj: KubeObject) => readonly string[];
  map: Map<string, Map<string, Entry>>;
  /** Ordered indexes: each value's entries sorted by `compare` (ties in insertion order). */
  compare?: (a: KubeObject, b: KubeObject) => number;
  sorted?: Map<string, SortedList<Entry>>;
}

interface WatcherState {
  /** Order of creation: delivery to the watchers of a table follows it. */
  seq: number;
  /** The one object name its field selector allows (`metadata.name=x`), if any. */
  onlyName: string | undefined;
  table: Table;
  namespace: string | undefined;
  label: LabelSelector;
  field: FieldSelector;
  onEvent: (e: WatchEvent) => void;
  lastRv: number;
  stopped: boolean;
  timer?: NodeJS.Timeout;
}

class Table {
  readonly type: RegisteredType;
  readonly byKey = new Map<string, Entry>();
  readonly byNs = new Map<string, Map<string, Entry>>();
  /** Every watcher, in order of creation. */
  readonly watchers = new Set<WatcherState>();
  /** Watchers whose field selector pins `metadata.name` (an SDK server's watch of its GameServer), by name. */
  readonly watchersByName = new Map<string, Set<WatcherState>>();
  /** The others: they see every event. */
  readonly watchersOfAll = new Set<WatcherState>();
  readonly indexes = new Map<string, Index>();
  /** The same indexes, by slot. */
  readonly indexList: Index[] = [];
  history: HistoryEvent[] = [];
  historyStart = 0;
  /** Watches from a resourceVersion below this were compacted away: 410. */
  compactedRv: number;

  constructor(type: RegisteredType, rv: number) {
    this.type = type;
    this.compactedRv = rv;
  }

  get historyLength(): number {
    return this.history.length - this.historyStart;
  }
}

function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** Deep copy of JSON data (objects, arrays, primitives); the copy is not frozen. */
export function cloneJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const a = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) a[i] = cloneJson(v[i] as unknown);
    return a as T;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = cloneJson((v as Record<string, unknown>)[k]);
  return out as T;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A new object uid. `randomUUID()` builds its text from 20 pieces: V8 keeps that as a
 * tree of ~12 cons strings, ~490 bytes, where the flat 36 characters take ~65. Every
 * version of the object shares its uid, and so do the Events about it (involvedObject)
 * and the event recorder's aggregation keys: decoded once from bytes, the text is flat.
 */
export function newUid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}

/**
 * A shallow copy of an object, property by property. Not `{ ...o }`: V8 gives an object
 * made by spreading one that was itself made by a spread a map (hidden class) of its own,
 * and freezing it makes another; a store that derives each version from the last by
 * spreading ended with two new maps and descriptor arrays per write (~570 bytes of the
 * ~1.35 KB each allocation kept, found in a heap snapshot), and with no inline cache ever
 * seeing the same map twice. Copied this way, every version shares its maps.
 */
function shallowCopy<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const k in o) out[k] = (o as Record<string, unknown>)[k];
  return out as T;
}

/** `o`, with `metadata` a shallow copy: the two levels a write changes. */
function copyTopAndMetadata(o: KubeObject): KubeObject {
  const next = shallowCopy(o);
  next.metadata = shallowCopy(o.metadata);
  return next;
}

/** `orig` with a new resourceVersion (shallow: the rest stays shared and frozen). */
function withResourceVersion(orig: KubeObject, rv: number): KubeObject {
  const next = copyTopAndMetadata(orig);
  next.metadata.resourceVersion = String(rv);
  return deepFreeze(next);
}

export class MemoryObjectStore implements ObjectStore {
  readonly registry: ResourceRegistry;
  readonly #tables = new Map<string, Table>();
  readonly #persistence: FilePersistence | undefined;
  readonly #historyLimit: number;
  readonly #historyMaxAgeMs: number;
  readonly #bookmarkIntervalMs: number;
  readonly #cascadeBatch: number;
  readonly #log: Logger;
  readonly #now: () => number;
  /**
   * JSON text of the current version of each object: `''` until asked for, then the text.
   * A version superseded or deleted is dropped: the replay history keeps old versions
   * (minutes of them under churn), not their text as well.
   */
  readonly #json = new WeakMap<object, string>();
  /** JSON of shared top-level parts (see #stringify). */
  readonly #partJson = new WeakMap<object, string>();
  readonly #listeners = new Set<ChangeListener>();
  /** owner uid → `resourceKey\0ns/name` of dependents */
  readonly #dependents = new Map<string, Set<string>>();
  #rv: number;
  #queue: { table: Table; ev: HistoryEvent }[] = [];
  #dispatching = false;
  #inMutateFn = false;
  #closed = false;
  #watcherSeq = 0;
  #cascadeOwners: string[] = [];
  #cascadeNamespaces: string[] = [];
  #cascadeTimer: NodeJS.Immediate | undefined;
  readonly #retentionTimer: NodeJS.Timeout | undefined;

  /**
   * `initial`: objects loaded from the data dir, per resource key (trusted as stored;
   * not validated again). The counter continues above their highest resourceVersion.
   */
  constructor(opts: MemoryStoreOptions, initial?: ReadonlyMap<string, readonly KubeObject[]>) {
    this.registry = opts.registry;
    this.#persistence = opts.persistence;
    this.#historyLimit = Math.max(1, opts.historyLimit ?? 10_000);
    this.#historyMaxAgeMs = Math.max(1, opts.historyMaxAgeMs ?? 5 * 60_000);
    this.#bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.#cascadeBatch = opts.cascadeBatchSize ?? 500;
    this.#log = opts.logger ?? silentLogger();
    this.#now = opts.now ?? Date.now;
    let maxRv = 0;
    for (const objs of initial?.values() ?? []) {
      for (const o of objs) maxRv = Math.max(maxRv, Number(o.metadata.resourceVersion ?? 0));
    }
    this.#rv = Math.max(maxRv, opts.initialResourceVersion ?? 0);
    for (const t of this.registry.all()) this.#tables.set(t.key, new Table(t, this.#rv));
    const now = this.#now();
    for (const [key, objs] of initial ?? []) {
      const table = this.#tables.get(key);
      if (!table) continue;
      for (const o of objs) {
        const obj = deepFreeze(o);
        const ns = table.type.namespaced ? (obj.metadata.namespace ?? DEFAULT_NAMESPACE) : '';
        const entry: Entry = { obj, rv: Number(obj.metadata.resourceVersion), key: keyOf(ns, obj.metadata.name ?? ''), ns, updatedAt: now };
        this.#json.set(obj, '');
        this.#indexPut(table, entry, undefined);
      }
    }
    if (this.registry.all().some((t) => t.retention)) {
      this.#retentionTimer = setInterval(() => this.sweepRetention(), opts.retentionSweepMs ?? 60_000);
      this.#retentionTimer.unref();
    }
  }

  // -------------------------------------------------------------------------------------
  // reads

  #table(resource: ResourceKey): Table {
    const t = this.#tables.get(resource);
    if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource})`);
    return t;
  }

  /** The registered type of a resource key; 404 for unknown ones. */
  typeOf(resource: ResourceKey): RegisteredType {
    return this.#table(resource).type;
  }

  #nsOf(t: Table, namespace: string | undefined): string {
    return t.type.namespaced ? namespace || DEFAULT_NAMESPACE : '';
  }

  tryGet(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = this.#table(resource);
    return t.byKey.get(keyOf(this.#nsOf(t, namespace), name))?.obj;
  }

  get(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject {
    const t = this.#table(resource);
    return this.#existing(t, namespace, name).obj;
  }

  /** The entry of an object that must exist: 404 otherwise. */
  #existing(t: Table, namespace: string | undefined, name: string): Entry {
    const e = t.byKey.get(keyOf(this.#nsOf(t, namespace), name));
    if (!e) throw notFound(t.type, name);
    return e;
  }

  /** Runs a mutate()/derive() callback, during which the store refuses writes. */
  #inCallback<T>(fn: () => T): T {
    this.#inMutateFn = true;
    try {
      return fn();
    } finally {
      this.#inMutateFn = false;
    }
  }

  #selectors(t: Table, opts: ListOptions | undefined): { label: LabelSelector; field: FieldSelector; namespace: string | undefined } {
    const label = typeof opts?.labelSelector === 'string' || opts?.labelSelector === undefined ? parseLabelSelector(opts?.labelSelector) : opts.labelSelector;
    const field =
      opts?.fieldSelector === undefined
        ? EVERY_OBJECT
        : typeof opts.fieldSelector === 'string'
          ? this.#parseFieldSelector(t, opts.fieldSelector)
          : opts.fieldSelector;
    const namespace = t.type.namespaced && opts?.namespace ? opts.namespace : undefined;
    return { label, field, namespace };
  }

  #parseFieldSelector(t: Table, text: string): FieldSelector {
    return parseFieldSelector(text, t.type.fieldSelectors ? { ...COMMON_FIELDS, ...t.type.fieldSelectors } : COMMON_FIELDS, t.type.plural);
  }

  parseFieldSelector(resource: ResourceKey, text: string): FieldSelector {
    return this.#parseFieldSelector(this.#table(resource), text);
  }

  list(resource: ResourceKey, opts?: ListOptions): ListResult {
    const t = this.#table(resource);
    const { label, field, namespace } = this.#selectors(t, opts);
    const items: KubeObject[] = [];
    const source = namespace !== undefined ? t.byNs.get(namespace)?.values() : t.byKey.values();
    if (source) {
      if (label.empty && field.empty) {
        for (const e of source) items.push(e.obj);
      } else {
        for (const e of source) {
          if (label.matches(e.obj.metadata.labels) && field.matches(e.obj)) items.push(e.obj);
        }
      }
    }
    return { items, resourceVersion: String(this.#rv) };
  }

  count(resource: ResourceKey, namespace?: string): number {
    const t = this.#table(resource);
    if (namespace !== undefined && t.type.namespaced) return t.byNs.get(namespace)?.size ?? 0;
    return t.byKey.size;
  }

  currentResourceVersion(): string {
    return String(this.#rv);
  }

  json(obj: KubeObject): string {
    const cached = this.#json.get(obj);
    if (cached) return cached;
    const s = this.#stringify(obj);
    // Only a current version is cached (marked '' when stored); any other is serialized each time.
    if (cached === '') this.#json.set(obj, s);
    return s;
  }

  /**
   * `JSON.stringify(obj)` of a stored object, the same text, faster: a top-level part
   * other than metadata and status (a GameServer's spec) is serialized once and its text
   * reused by every version that shares it.
   */
  #stringify(obj: KubeObject): string {
    let out = '{';
    for (const k in obj) {
      const v = obj[k];
      let part: string | undefined;
      if (typeof v === 'object' && v !== null && k !== 'metadata' && k !== 'status' && Object.isFrozen(v)) {
        part = this.#partJson.get(v);
        if (part === undefined) {
          part = JSON.stringify(v);
          this.#partJson.set(v, part);
        }
      } else {
        part = JSON.stringify(v);
      }
      if (part === undefined) continue; // undefined, functions: left out, as JSON.stringify does
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${part}`;
    }
    return out + '}';
  }

  // -------------------------------------------------------------------------------------
  // indexes

  addIndex(resource: ResourceKey, indexName: string, keysOf: (obj: KubeObject) => readonly string[], opts?: IndexOptions): void {
    const t = this.#table(resource);
    const slot = t.indexes.get(indexName)?.slot ?? t.indexList.length;
    const idx: Index = { slot, keysOf, map: new Map(), ...(opts?.orderBy ? { compare: opts.orderBy, sorted: new Map() } : {}) };
    t.indexes.set(indexName, idx);
    t.indexList[slot] = idx;
    for (const e of t.byKey.values()) {
      const values = keysOf(e.obj);
      (e.indexValues ??= [])[slot] = values;
      for (const v of values) addToIndex(idx, v, e);
    }
  }

  #index(resource: ResourceKey, indexName: string): Index {
    const idx = this.#table(resource).indexes.get(indexName);
    if (!idx) throw new Error(`no index "${indexName}" on ${resource}; add it with addIndex first`);
    return idx;
  }

  byIndex(resource: ResourceKey, indexName: string, value: string, limit = Infinity): KubeObject[] {
    const idx = this.#index(resource, indexName);
    const out: KubeObject[] = [];
    if (idx.sorted) {
      for (const e of idx.sorted.get(value)?.first(limit) ?? []) out.push(e.obj);
      return out;
    }
    const m = idx.map.get(value);
    if (!m) return out;
    for (const e of m.values()) {
      if (out.length >= limit) break;
      out.push(e.obj);
    }
    return out;
  }

  *scanIndex(resource: ResourceKey, indexName: string, value: string): IterableIterator<KubeObject> {
    const idx = this.#index(resource, indexName);
    const entries = idx.sorted ? idx.sorted.get(value) : idx.map.get(value)?.values();
    if (!entries) return;
    for (const e of entries) yield e.obj;
  }

  indexSize(resource: ResourceKey, indexName: string, value: string): number {
    return this.#index(resource, indexName).map.get(value)?.size ?? 0;
  }

  /**
   * Puts `e` (a new object, or the next version of `prev`) into the table's maps, indexes
   * and the owner → dependents map, taking `prev` out. Where an index's values did not
   * change, the entry keeps its place among equals in an ordered index.
   */
  #indexPut(t: Table, e: Entry, prev: Entry | undefined): void {
    // A next version takes its key's place (set over the same key): deleting and adding it
    // again would leave a hole in these maps of thousands, and every few thousand writes a
    // rehash would allocate the whole table anew (old-generation garbage under churn).
    t.byKey.set(e.key, e);
    let nsMap = t.byNs.get(e.ns);
    if (!nsMap) {
      nsMap = new Map();
      t.byNs.set(e.ns, nsMap);
    }
    nsMap.set(e.key, e);
    const list = t.indexList;
    if (list.length > 0) {
      const values: (readonly string[] | undefined)[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        const idx = list[i]!;
        const now = idx.keysOf(e.obj);
        values[i] = now;
        const before = prev?.indexValues?.[i];
        if (prev && before && sameValues(before, now)) {
          for (const v of now) moveInIndex(idx, v, prev, e);
        } else {
          if (prev && before) for (const v of before) removeFromIndex(idx, v, prev);
          for (const v of now) addToIndex(idx, v, e);
        }
      }
      e.indexValues = values;
    }
    const uids = prev?.ownerUids && sameOwners(prev.ownerUids, e.obj) ? prev.ownerUids : ownerUids(e.obj);
    if (prev?.ownerUids && prev.ownerUids !== uids) this.#dropDependent(prev);
    if (uids.length > 0) {
      e.ownerUids = uids;
      const ref = (e.ref = prev?.ref ?? `${t.type.key}\u0000${e.key}`);
      // The same owners as the version before: already their dependent.
      if (uids === prev?.ownerUids) return;
      for (const u of uids) {
        let set = this.#dependents.get(u);
        if (!set) {
          set = new Set();
          this.#dependents.set(u, set);
        }
        set.add(ref);
      }
    }
  }

  #indexRemove(t: Table, e: Entry): void {
    t.byKey.delete(e.key);
    const nsMap = t.byNs.get(e.ns);
    if (nsMap) {
      nsMap.delete(e.key);
      if (nsMap.size === 0) t.byNs.delete(e.ns);
    }
    for (let i = 0; i < t.indexList.length; i++) {
      for (const v of e.indexValues?.[i] ?? []) removeFromIndex(t.indexList[i]!, v, e);
    }
    if (e.ownerUids) this.#dropDependent(e);
  }

  #dropDependent(e: Entry): void {
    const ref = e.ref;
    if (!ref || !e.ownerUids) return;
    for (const u of e.ownerUids) {
      const set = this.#dependents.get(u);
      if (set) {
        set.delete(ref);
        if (set.size === 0) this.#dependents.delete(u);
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // writes

  #assertWritable(): void {
    if (this.#closed) throw new Error('the object store is closed');
    if (this.#inMutateFn) throw new Error('a mutate() callback must not write to the store; return the new object instead');
  }

  /** A mutable deep copy of a stored object (3× faster than a JSON round trip). */
  #copy(obj: KubeObject): KubeObject {
    return cloneJson(obj);
  }

  /** Copies a caller's object and checks apiVersion/kind (filled in when absent). */
  #intake(t: Table, obj: KubeObject, owned = false): KubeObject {
    if (!isObject(obj)) throw badRequest(`the body must be a JSON object of kind ${t.type.kind}`);
    let copy: KubeObject;
    if (owned) {
      copy = obj;
    } else {
      try {
        copy = JSON.parse(JSON.stringify(obj)) as KubeObject;
      } catch (err) {
        throw badRequest(`the object can't be serialized as JSON: ${errorMessage(err)}`);
      }
    }
    if (copy.apiVersion === undefined || copy.apiVersion === '') copy.apiVersion = t.type.apiVersion;
    else if (copy.apiVersion !== t.type.apiVersion) {
      throw badRequest(`the API version in the data (${String(copy.apiVersion)}) does not match the expected API version (${t.type.apiVersion})`);
    }
    if (copy.kind === undefined || copy.kind === '') copy.kind = t.type.kind;
    else if (copy.kind !== t.type.kind) throw badRequest(`the kind in the data (${String(copy.kind)}) does not match the expected kind (${t.type.kind})`);
    if (copy.metadata === undefined || copy.metadata === null) copy.metadata = {};
    if (!isObject(copy.metadata)) throw badRequest('metadata must be an object');
    delete copy.metadata.managedFields;
    delete copy.metadata.selfLink;
    return copy;
  }

  #validate(t: Table, obj: KubeObject, ctx: { operation: 'create' | 'update'; old?: KubeObject }): void {
    const errs: FieldError[] = objectMetaErrors(obj.metadata, { namespaced: t.type.namespaced, nameRule: t.type.nameRule }, ctx.old?.metadata);
    if (t.type.validate) errs.push(...t.type.validate(obj, ctx));
    if (errs.length > 0) throw invalid(t.type, String(obj.metadata.name ?? obj.metadata.generateName ?? ''), toCauses(errs));
  }

  #requireNamespace(t: Table, ns: string): void {
    if (!t.type.namespaced) return;
    const nsTable = this.#tables.get('namespaces');
    if (nsTable && !nsTable.byKey.has(keyOf('', ns))) {
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces', group: '' });
    }
  }

  #generateName(t: Table, ns: string, base: string): string {
    const prefix = base.length > 58 ? base.slice(0, 58) : base;
    for (let attempt = 0; attempt < 100; attempt++) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
      const name = prefix + suffix;
      if (!t.byKey.has(keyOf(ns, name))) return name;
    }
    throw alreadyExists(t.type, `${prefix}*****`);
  }

  create(resource: ResourceKey, obj: KubeObject, opts?: WriteOptions): KubeObject {
    this.#assertWritable();
    const t = this.#table(resource);
    if (!t.type.stored) throw methodNotAllowed(`${t.type.plural}.${t.type.group} are not stored; create them through the API server's create handler`);
    const o = this.#intake(t, obj);
    const meta = o.metadata;
    const ns = this.#nsOf(t, typeof meta.namespace === 'string' ? meta.namespace : undefined);
    if (t.type.namespaced) meta.namespace = ns;
    else delete meta.namespace;
    this.#requireNamespace(t, ns);
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = this.#generateName(t, ns, meta.generateName);
    }
    for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) delete meta[k];
    if (t.type.subresources.status) delete o.status;
    t.type.applyDefaults?.(o, { operation: 'create' });
    this.#validate(t, o, { operation: 'create' });
    const name = meta.name as string;
    const key = keyOf(ns, name);
    if (t.byKey.has(key)) throw alreadyExists(t.type, name);
    const now = this.#now();
    meta.uid = newUid();
    meta.creationTimestamp = timestamp(now);
    meta.generation = 1;
    if (opts?.dryRun) return deepFreeze(o);
    return this.#commitPut(t, o, undefined, now);
  }

  update(resource: ResourceKey, obj: KubeObject, opts?: UpdateOptions): KubeObject {
    this.#assertWritable();
    const t = this.#table(resource);
    const o = this.#intake(t, obj);
    const name = o.metadata.name;
    if (typeof name !== 'string' || name === '') {
      throw invalid(t.type, '', toCauses([{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name is required' }]));
    }
    const ns = this.#nsOf(t, typeof o.metadata.namespace === 'string' ? o.metadata.namespace : undefined);
    const e = t.byKey.get(keyOf(ns, name));
    if (!e) throw notFound(t.type, name);
    const rv = o.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== e.obj.metadata.resourceVersion) throw conflict(t.type, name);
    const uid = o.metadata.uid;
    if (uid !== undefined && uid !== '' && uid !== e.obj.metadata.uid) {
      throw conflict(t.type, name, `Precondition failed: UID in precondition: ${String(e.obj.metadata.uid)}, UID in object meta: ${String(uid)}`);
    }
    return this.#applyUpdate(t, e, o, opts);
  }

  mutate(
    resource: ResourceKey,
    namespace: string | undefined,
    name: string,
    fn: (copy: KubeObject) => KubeObject | undefined,
    opts?: UpdateOptions,
  ): KubeObject {
    this.#assertWritable();
    const t = this.#table(resource);
    const e = this.#existing(t, namespace, name);
    const copy = this.#copy(e.obj);
    const out = this.#inCallback(() => fn(copy));
    if (out === undefined) return e.obj;
    // The usual case returns the private copy: no need to copy it again.
    const o = this.#intake(t, out, out === copy);
    return this.#applyUpdate(t, e, o, opts);
  }

  derive(
    resource: ResourceKey,
    namespace: string | undefined,
    name: string,
    fn: (current: KubeObject) => KubeObject | undefined,
    opts?: UpdateOptions,
  ): KubeObject {
    this.#assertWritable();
    const t = this.#table(resource);
    const e = this.#existing(t, namespace, name);
    const out = this.#inCallback(() => fn(e.obj));
    if (out === undefined || out === e.obj) return e.obj;
    if (!isObject(out) || !isObject(out.metadata)) throw badRequest(`the object must be a JSON object of kind ${t.type.kind} with metadata`);
    // The update pipeline writes to the top level and to metadata: those two are copied, the rest stays shared.
    const o = copyTopAndMetadata(out);
    if (o.apiVersion !== t.type.apiVersion || o.kind !== t.type.kind) return this.#applyUpdate(t, e, this.#intake(t, o), opts);
    delete o.metadata.managedFields;
    delete o.metadata.selfLink;
    return this.#applyUpdate(t, e, o, opts);
  }

  /** The update pipeline shared by update, mutate, derive and the API's patch. */
  #applyUpdate(t: Table, e: Entry, incoming: KubeObject, opts: UpdateOptions | undefined): KubeObject {
    const old = e.obj;
    let next: KubeObject;
    if (opts?.subresource === 'status') {
      if (!t.type.subresources.status) throw notFound(t.type, `${String(old.metadata.name)}/status`);
      // Only status comes from the caller: everything else is the stored (frozen) parts, shared.
      next = copyTopAndMetadata(old);
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      next = incoming;
      if (t.type.subresources.status) {
        // Stored objects are immutable, so the old status can be shared as is.
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      const meta = next.metadata;
      if (meta.name !== old.metadata.name) meta.name = old.metadata.name;
      if (!t.type.namespaced) delete meta.namespace;
      else if (meta.namespace !== old.metadata.namespace) meta.namespace = old.metadata.namespace;
      if (meta.uid !== old.metadata.uid) meta.uid = old.metadata.uid;
      if (meta.creationTimestamp !== old.metadata.creationTimestamp) meta.creationTimestamp = old.metadata.creationTimestamp;
      // Assign only what differs, so key order (and so no-op detection) is kept.
      if (meta.generateName !== old.metadata.generateName) {
        if (old.metadata.generateName === undefined) delete meta.generateName;
        else meta.generateName = old.metadata.generateName;
      }
      if (old.metadata.deletionTimestamp !== undefined) {
        if (meta.deletionTimestamp !== old.metadata.deletionTimestamp) meta.deletionTimestamp = old.metadata.deletionTimestamp;
        if (meta.deletionGracePeriodSeconds !== old.metadata.deletionGracePeriodSeconds) meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
        const before = new Set(old.metadata.finalizers ?? []);
        const added = (Array.isArray(meta.finalizers) ? meta.finalizers : []).filter((f) => !before.has(f));
        if (added.length > 0) {
          throw invalid(t.type, String(old.metadata.name), [
            { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
          ]);
        }
      } else {
        delete meta.deletionTimestamp;
        delete meta.deletionGracePeriodSeconds;
      }
      t.type.applyDefaults?.(next, { operation: 'update', old });
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    next.metadata.generation = old.metadata.generation ?? 1;
    shareUnchanged(next, old);
    this.#validate(t, next, { operation: 'update', old });
    const bodyChanged = !sameIgnoring(next, old, t.type.subresources.status ? IGNORE_WITH_STATUS : IGNORE_META);
    if (bodyChanged) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    if (Array.isArray(next.metadata.finalizers) && next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    // Removing the last finalizer of an object being deleted completes the deletion.
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers && next.metadata.finalizers.length > 0)) {
      if (opts?.dryRun) return deepFreeze(next);
      return this.#commitDelete(t, e, next, undefined);
    }
    if (!bodyChanged && !this.#restChanged(t, next, old)) return old;
    if (opts?.dryRun) return deepFreeze(next);
    return this.#commitPut(t, next, e, this.#now(), opts?.subresource === 'status');
  }

  /** Metadata (or status, for kinds with a status subresource) differs. */
  #restChanged(t: Table, next: KubeObject, old: KubeObject): boolean {
    if (!deepEqual(next.metadata, old.metadata)) return true;
    return t.type.subresources.status && !deepEqual(next.status, old.status);
  }

  /** Stamps a resourceVersion, persists, stores, records and announces ADDED/MODIFIED. */
  #commitPut(t: Table, o: KubeObject, prev: Entry | undefined, now: number, statusOnly = false): KubeObject {
    const rv = this.#rv + 1;
    o.metadata.resourceVersion = String(rv);
    const obj = deepFreeze(o);
    const ns = t.type.namespaced ? (obj.metadata.namespace as string) : '';
    const name = obj.metadata.name as string;
    this.#json.set(obj, '');
    this.#persistPut(t, ns, name, obj, statusOnly);
    this.#rv = rv;
    const entry: Entry = { obj, rv, key: prev?.key ?? keyOf(ns, name), ns, updatedAt: now };
    this.#indexPut(t, entry, prev);
    if (prev) this.#json.delete(prev.obj);
    const ev: HistoryEvent = prev ? { type: 'MODIFIED', rv, at: now, object: obj, prev: prev.obj } : { type: 'ADDED', rv, at: now, object: obj };
    this.#record(t, ev);
    return obj;
  }

  /** Removes for good; `last` is the final state (defaults to the stored one). */
  #commitDelete(t: Table, e: Entry, last: KubeObject | undefined, policy: DeleteOptions['propagationPolicy']): KubeObject {
    const rv = this.#rv + 1;
    let obj: KubeObject;
    if (last) {
      last.metadata.resourceVersion = String(rv);
      obj = deepFreeze(last);
    } else {
      // The stored version with the deletion's resourceVersion: a new metadata, the rest
      // shared (frozen), not a deep copy kept by the replay history for each deletion.
      obj = withResourceVersion(e.obj, rv);
    }
    this.#persistRemove(t, e.ns, String(obj.metadata.name), rv);
    this.#rv = rv;
    this.#json.delete(e.obj);
    this.#indexRemove(t, e);
    this.#record(t, { type: 'DELETED', rv, at: this.#now(), object: obj, prev: e.obj });
    const uid = obj.metadata.uid;
    if (uid && this.#dependents.has(uid)) {
      if (policy === 'Orphan') this.#orphan(uid);
      else this.#queueCascade(() => this.#cascadeOwners.push(uid));
    }
    if (t.type.key === 'namespaces') this.#queueCascade(() => this.#cascadeNamespaces.push(String(obj.metadata.name)));
    return obj;
  }

  /**
   * `statusOnly`: a write through the status subresource. Status is what the controllers
   * observe and write again after a restart (a Fleet's counts follow its GameServers,
   * which are batched themselves), so it is batched for sync kinds too: a Fleet's status
   * changes with every allocation, and an fsync each would bound the allocation rate.
   */
  #persistPut(t: Table, ns: string, name: string, obj: KubeObject, statusOnly = false): void {
    const p = this.#persistence;
    if (!p || !t.type.persist) return;
    if (t.type.persist === 'batched' || statusOnly) {
      // Serialized when the batch is written: only the last version of a busy object costs.
      // Not through json(): most versions are never read back, and the text of one still current when the batch is written is reused.
      p.scheduleWrite({ resource: t.type.key, namespace: ns, name }, () => this.#json.get(obj) || this.#stringify(obj), t.type.persist);
      return;
    }
    try {
      p.writeSync({ resource: t.type.key, namespace: ns, name }, this.json(obj));
    } catch (err) {
      throw internalError(`could not persist ${t.type.plural} "${name}" to ${p.fileOf(t.type.key, ns, name)}: ${errorMessage(err)}`, err);
    }
  }

  #persistRemove(t: Table, ns: string, name: string, rv: number): void {
    const p = this.#persistence;
    if (!p || !t.type.persist) return;
    if (t.type.persist === 'batched') {
      p.scheduleRemove({ resource: t.type.key, namespace: ns, name }, String(rv));
      return;
    }
    try {
      p.removeSync({ resource: t.type.key, namespace: ns, name });
    } catch (err) {
      throw internalError(`could not remove ${p.fileOf(t.type.key, ns, name)}: ${errorMessage(err)}`, err);
    }
  }

  delete(resource: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): KubeObject {
    this.#assertWritable();
    const t = this.#table(resource);
    const e = this.#existing(t, namespace, name);
    const pre = opts?.preconditions;
    if (pre?.uid && pre.uid !== e.obj.metadata.uid) {
      throw conflict(t.type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(e.obj.metadata.uid)}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== e.obj.metadata.resourceVersion) {
      throw conflict(t.type, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(e.obj.metadata.resourceVersion)}`);
    }
    if (t.type.key === 'namespaces' && name === DEFAULT_NAMESPACE) {
      throw forbidden(t.type, name, 'this namespace may not be deleted');
    }
    const finalizers = e.obj.metadata.finalizers;
    if (finalizers && finalizers.length > 0) {
      if (e.obj.metadata.deletionTimestamp) return e.obj;
      const next = this.#copy(e.obj);
      next.metadata.deletionTimestamp = timestamp(this.#now());
      next.metadata.deletionGracePeriodSeconds = 0;
      if (opts?.dryRun) return deepFreeze(next);
      return this.#commitPut(t, next, e, this.#now());
    }
    if (opts?.dryRun) return e.obj;
    return this.#commitDelete(t, e, undefined, opts?.propagationPolicy);
  }

  /** True when `obj` was deleted for good (not only marked with a deletionTimestamp). */
  isGone(resource: ResourceKey, obj: KubeObject): boolean {
    const cur = this.tryGet(resource, obj.metadata.namespace, String(obj.metadata.name));
    return cur === undefined || cur.metadata.uid !== obj.metadata.uid;
  }

  // -------------------------------------------------------------------------------------
  // background cascade (ownerReferences, namespaces)

  #queueCascade(push: () => void): void {
    push();
    if (!this.#cascadeTimer && !this.#closed) this.#cascadeTimer = setImmediate(() => this.#runCascade());
  }

  #runCascade(): void {
    this.#cascadeTimer = undefined;
    if (this.#closed) return;
    let budget = this.#cascadeBatch;
    while (budget > 0 && this.#cascadeOwners.length > 0) {
      const uid = this.#cascadeOwners[0]!;
      const refs = this.#dependents.get(uid);
      if (!refs || refs.size === 0) {
        this.#cascadeOwners.shift();
        continue;
      }
      const ref = refs.values().next().value as string;
      refs.delete(ref);
      budget--;
      const [resource, key] = ref.split('\u0000') as [string, string];
      const t = this.#tables.get(resource);
      const e = t?.byKey.get(key);
      if (!t || !e || e.obj.metadata.deletionTimestamp) continue;
      this.#safeDelete(t, e);
    }
    while (budget > 0 && this.#cascadeNamespaces.length > 0) {
      const ns = this.#cascadeNamespaces[0]!;
      let found = false;
      for (const t of this.#tables.values()) {
        if (!t.type.namespaced) continue;
        const m = t.byNs.get(ns);
        if (!m) continue;
        for (const e of [...m.values()]) {
          if (budget <= 0) break;
          if (e.obj.metadata.deletionTimestamp) continue;
          found = true;
          budget--;
          this.#safeDelete(t, e);
        }
        if (budget <= 0) break;
      }
      if (!found) this.#cascadeNamespaces.shift();
    }
    if (this.#cascadeOwners.length > 0 || this.#cascadeNamespaces.length > 0) {
      this.#cascadeTimer = setImmediate(() => this.#runCascade());
    }
  }

  #safeDelete(t: Table, e: Entry): void {
    try {
      this.delete(t.type.key, e.ns || undefined, String(e.obj.metadata.name));
    } catch (err) {
      this.#log.warn({ resource: t.type.key, name: e.obj.metadata.name, err: errorMessage(err) }, 'background deletion of a dependent failed');
    }
  }

  #orphan(uid: string): void {
    const refs = this.#dependents.get(uid);
    if (!refs) return;
    for (const ref of [...refs]) {
      const [resource, key] = ref.split('\u0000') as [string, string];
      const t = this.#tables.get(resource);
      const e = t?.byKey.get(key);
      if (!t || !e) continue;
      try {
        this.mutate(resource, e.ns || undefined, String(e.obj.metadata.name), (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
          if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
          return o;
        });
      } catch (err) {
        this.#log.warn({ resource, key, err: errorMessage(err) }, 'could not orphan a dependent');
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // events: history, watchers, listeners

  #record(t: Table, ev: HistoryEvent): void {
    this.#persistence?.noteResourceVersion(ev.rv);
    t.history.push(ev);
    // By count, then by age (the newest event always stays).
    if (t.historyLength > this.#historyLimit) this.#dropOldest(t);
    const tooOld = ev.at - this.#historyMaxAgeMs;
    while (t.historyLength > 1 && t.history[t.historyStart]!.at < tooOld) this.#dropOldest(t);
    this.#queue.push({ table: t, ev });
    if (!this.#dispatching) this.#drain();
  }

  #dropOldest(t: Table): void {
    const dropped = t.history[t.historyStart]!;
    t.history[t.historyStart] = undefined as unknown as HistoryEvent;
    t.historyStart++;
    t.compactedRv = dropped.rv;
    if (t.historyStart > 4096 && t.historyStart * 2 > t.history.length) {
      t.history = t.history.slice(t.historyStart);
      t.historyStart = 0;
    }
  }

  #drain(): void {
    this.#dispatching = true;
    try {
      for (let i = 0; i < this.#queue.length; i++) {
        const { table, ev } = this.#queue[i]!;
        this.#fanOut(table, ev);
        if (this.#listeners.size > 0) {
          const change: ChangeEvent = { resource: table.type.key, type: ev.type, object: ev.object, resourceVersion: ev.rv, ...(ev.prev ? { oldObject: ev.prev } : {}) };
          for (const l of this.#listeners) {
            try {
              l(change);
            } catch (err) {
              this.#log.warn({ err: errorMessage(err), resource: table.type.key }, 'a change listener threw; the change stands');
            }
          }
        }
      }
    } finally {
      this.#queue = [];
      this.#dispatching = false;
    }
  }

  /**
   * Delivers one event to the watchers that can match it: every watcher without a pinned
   * name, and those pinned to the event's object name. A table with thousands of SDK
   * servers' single-object watches costs O(1) per event instead of O(watchers). Order
   * of delivery is the watchers' order of creation, as it would be over one set.
   */
  #fanOut(t: Table, ev: HistoryEvent): void {
    const named = t.watchersByName.size > 0 ? t.watchersByName.get(String(ev.object.metadata.name)) : undefined;
    if (!named) {
      for (const w of t.watchersOfAll) this.#deliver(w, ev);
      return;
    }
    if (t.watchersOfAll.size === 0) {
      for (const w of named) this.#deliver(w, ev);
      return;
    }
    const ia = t.watchersOfAll.values();
    const ib = named.values();
    let a: WatcherState | undefined = ia.next().value;
    let b: WatcherState | undefined = ib.next().value;
    while (a || b) {
      if (a && (!b || a.seq < b.seq)) {
        this.#deliver(a, ev);
        a = ia.next().value;
      } else if (b) {
        this.#deliver(b, ev);
        b = ib.next().value;
      }
    }
  }

  #addWatcher(t: Table, w: WatcherState): void {
    t.watchers.add(w);
    if (w.onlyName === undefined) {
      t.watchersOfAll.add(w);
      return;
    }
    let set = t.watchersByName.get(w.onlyName);
    if (!set) {
      set = new Set();
      t.watchersByName.set(w.onlyName, set);
    }
    set.add(w);
  }

  #removeWatcher(t: Table, w: WatcherState): void {
    t.watchers.delete(w);
    if (w.onlyName === undefined) {
      t.watchersOfAll.delete(w);
      return;
    }
    const set = t.watchersByName.get(w.onlyName);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) t.watchersByName.delete(w.onlyName);
  }

  /** Runs `fn` with dispatch held, then delivers whatever `fn` (or listeners) queued. */
  #exclusive(fn: () => void): void {
    if (this.#dispatching) {
      fn();
      return;
    }
    this.#dispatching = true;
    try {
      fn();
    } finally {
      this.#dispatching = false;
    }
    if (this.#queue.length > 0) this.#drain();
  }

  #matches(w: WatcherState, o: KubeObject): boolean {
    if (w.namespace !== undefined && o.metadata.namespace !== w.namespace) return false;
    return w.label.matches(o.metadata.labels) && w.field.matches(o);
  }

  #emit(w: WatcherState, e: WatchEvent): void {
    try {
      w.onEvent(e);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err), resource: w.table.type.key }, 'a watch callback threw; the event is dropped for it');
    }
  }

  #deliver(w: WatcherState, ev: HistoryEvent): void {
    if (w.stopped || ev.rv <= w.lastRv) return;
    w.lastRv = ev.rv;
    const cur = this.#matches(w, ev.object);
    if (ev.type === 'MODIFIED') {
      const before = ev.prev !== undefined && this.#matches(w, ev.prev);
      if (cur && before) this.#emit(w, { type: 'MODIFIED', object: ev.object });
      else if (cur) this.#emit(w, { type: 'ADDED', object: ev.object });
      else if (before) this.#emit(w, { type: 'DELETED', object: withResourceVersion(ev.prev!, ev.rv) });
    } else if (ev.type === 'DELETED') {
      if (cur || (ev.prev !== undefined && this.#matches(w, ev.prev))) this.#emit(w, { type: 'DELETED', object: ev.object });
    } else if (cur) {
      this.#emit(w, { type: ev.type, object: ev.object });
    }
  }

  watch(resource: ResourceKey, opts: WatchOptions, onEvent: (e: WatchEvent) => void): Watch {
    const t = this.#table(resource);
    const { label, field, namespace } = this.#selectors(t, opts);
    const rvText = opts.resourceVersion;
    let from: number | undefined;
    if (rvText !== undefined && rvText !== '' && rvText !== '0') {
      if (!/^\d+$/.test(rvText)) throw badRequest(`invalid resource version "${rvText}": expected a number from a list or an object`);
      from = Number(rvText);
      if (from < t.compactedRv) throw gone(`too old resource version: ${from} (${t.compactedRv})`);
      if (from > this.#rv) throw gone(`too large resource version: ${from}, current: ${this.#rv}; the store restarted or lost recent writes: relist`);
    }
    const onlyName = field.requirements.find((r) => r.field === 'metadata.name' && r.op === '=')?.value;
    const w: WatcherState = { seq: ++this.#watcherSeq, onlyName, table: t, namespace, label, field, onEvent, lastRv: from ?? this.#rv, stopped: false };
    this.#exclusive(() => {
      this.#addWatcher(t, w);
      if (from === undefined) {
        const initial: KubeObject[] = [];
        const source = namespace !== undefined ? t.byNs.get(namespace)?.values() : t.byKey.values();
        for (const e of source ?? []) if (this.#matches(w, e.obj)) initial.push(e.obj);
        for (const o of initial) {
          if (w.stopped) break;
          this.#emit(w, { type: 'ADDED', object: o });
        }
      } else {
        const h = t.history;
        let lo = t.historyStart;
        let hi = h.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (h[mid]!.rv <= from) lo = mid + 1;
          else hi = mid;
        }
        for (let i = lo; i < h.length && !w.stopped; i++) this.#deliver(w, h[i]!);
      }
    });
    if (opts.allowBookmarks && !w.stopped) {
      w.timer = setInterval(() => {
        if (w.stopped) return;
        w.lastRv = Math.max(w.lastRv, this.#rv);
        this.#emit(w, {
          type: 'BOOKMARK',
          object: deepFreeze({ apiVersion: t.type.apiVersion, kind: t.type.kind, metadata: { resourceVersion: String(this.#rv) } }),
        });
      }, opts.bookmarkIntervalMs ?? this.#bookmarkIntervalMs);
      w.timer.unref();
    }
    return {
      stop: () => {
        if (w.stopped) return;
        w.stopped = true;
        this.#removeWatcher(t, w);
        if (w.timer) clearInterval(w.timer);
      },
    };
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // -------------------------------------------------------------------------------------
  // retention, lifecycle

  /** Drops objects of kinds with `retention` (Events) past their age or count. */
  sweepRetention(): void {
    if (this.#closed) return;
    const now = this.#now();
    for (const t of this.#tables.values()) {
      const r = t.type.retention;
      if (!r) continue;
      const cutoff = now - r.maxAgeSeconds * 1000;
      let excess = t.byKey.size - r.maxObjects;
      for (const e of [...t.byKey.values()]) {
        if (excess > 0 || e.updatedAt < cutoff) {
          excess--;
          this.#safeDelete(t, e);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    if (this.#cascadeTimer) clearImmediate(this.#cascadeTimer);
    for (const t of this.#tables.values()) {
      for (const w of t.watchers) {
        w.stopped = true;
        if (w.timer) clearInterval(w.timer);
      }
      t.watchers.clear();
      t.watchersOfAll.clear();
      t.watchersByName.clear();
    }
    this.#listeners.clear();
    await this.#persistence?.close();
  }

  /** Writes batched changes now (tests; shutdown goes through close()). */
  async flush(): Promise<void> {
    await this.#persistence?.flush();
  }

  /** Writes batched changes and folds the change log into the object files now (tests, benchmarks). */
  async compact(): Promise<void> {
    await this.#persistence?.compact();
  }
}

/**
 * Replaces every part of `next` that equals the same part of `old` by old's (stored,
 * frozen) one, below the top level and below metadata, which stay `next`'s own. An
 * update then shares what it left alone with the version before: nothing of it to
 * freeze, keep twice or compare deeply again, and a validator can tell by identity what
 * changed (`ValidationContext.old`).
 */
function shareUnchanged(next: KubeObject, old: KubeObject): void {
  for (const k in next) {
    if (k === 'metadata') continue;
    const ov = old[k];
    if (ov === undefined) continue;
    const nv = next[k];
    const v = shared(nv, ov);
    if (v !== nv) next[k] = v;
  }
  const nm = next.metadata as Record<string, unknown>;
  const om = old.metadata as Record<string, unknown>;
  for (const k in nm) {
    const ov = om[k];
    if (typeof ov !== 'object' || ov === null) continue;
    const nv = nm[k];
    const v = shared(nv, ov);
    if (v !== nv) nm[k] = v;
  }
}

/** `old` when the two are equal JSON values (as `deepEqual`); else `next`, its parts equal to old's replaced by them. */
function shared(next: unknown, old: unknown): unknown {
  if (next === old) return old;
  if (typeof next !== 'object' || next === null || typeof old !== 'object' || old === null) return next;
  if (Object.isFrozen(next)) return deepEqual(next, old) ? old : next;
  if (Array.isArray(next)) {
    if (!Array.isArray(old)) return next;
    let same = next.length === old.length;
    const n = Math.min(next.length, old.length);
    for (let i = 0; i < n; i++) {
      const nv: unknown = next[i];
      const v = shared(nv, old[i]);
      if (v !== nv) next[i] = v;
      if (v !== old[i]) same = false;
    }
    return same ? old : next;
  }
  if (Array.isArray(old)) return next;
  const n = next as Record<string, unknown>;
  const o = old as Record<string, unknown>;
  let same = true;
  let count = 0;
  for (const k in n) {
    const nv = n[k];
    if (nv === undefined) continue;
    count++;
    const ov = o[k];
    const v = ov === undefined ? nv : shared(nv, ov);
    if (v !== nv) n[k] = v;
    if (v !== ov) same = false;
  }
  if (!same) return next;
  for (const k in o) if (o[k] !== undefined) count--;
  return count === 0 ? old : next;
}

const IGNORE_META: ReadonlySet<string> = new Set(['metadata', 'apiVersion', 'kind']);
const IGNORE_WITH_STATUS: ReadonlySet<string> = new Set(['metadata', 'apiVersion', 'kind', 'status']);

/** Structural equality of JSON values; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    n++;
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) n--;
  return n === 0;
}

/** deepEqual of two objects' top-level fields except `ignore`. */
function sameIgnoring(a: KubeObject, b: KubeObject, ignore: ReadonlySet<string>): boolean {
  let n = 0;
  for (const k in a) {
    if (ignore.has(k) || a[k] === undefined) continue;
    n++;
    if (!deepEqual(a[k], b[k])) return false;
  }
  for (const k in b) if (!ignore.has(k) && b[k] !== undefined) n--;
  return n === 0;
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true; // an index that gives the same array for the same values (index-keys.ts)
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameOwners(uids: readonly string[], o: KubeObject): boolean {
  const refs = o.metadata.ownerReferences;
  if (!Array.isArray(refs) || refs.length !== uids.length) return false;
  for (let i = 0; i < refs.length; i++) if (refs[i]?.uid !== uids[i]) return false;
  return true;
}

/** `next` replaces `prev` under an unchanged value: in its place in an unordered bucket, and among equals in an ordered one. */
function moveInIndex(idx: Index, value: string, prev: Entry, next: Entry): void {
  const m = idx.map.get(value);
  if (!m) {
    addToIndex(idx, value, next);
    return;
  }
  // The same key (a next version): set in place, no hole left for a rehash to sweep.
  m.set(next.key, next);
  const list = idx.sorted?.get(value);
  if (!list) return;
  if (idx.compare!(prev.obj, next.obj) === 0 && list.replace(prev, next)) return;
  list.remove(prev);
  list.insert(next);
}

function addToIndex(idx: Index, value: string, e: Entry): void {
  let m = idx.map.get(value);
  if (!m) {
    m = new Map();
    idx.map.set(value, m);
  }
  m.set(e.key, e);
  if (idx.sorted) {
    let list = idx.sorted.get(value);
    if (!list) {
      const cmp = idx.compare!;
      list = new SortedList<Entry>((a, b) => cmp(a.obj, b.obj));
      idx.sorted.set(value, list);
    }
    list.insert(e);
  }
}

function removeFromIndex(idx: Index, value: string, e: Entry): void {
  const m = idx.map.get(value);
  if (!m) return;
  m.delete(e.key);
  if (m.size === 0) idx.map.delete(value);
  const list = idx.sorted?.get(value);
  if (!list) return;
  list.remove(e);
  if (list.size === 0) idx.sorted!.delete(value);
}

function ownerUids(o: KubeObject): readonly string[] {
  const refs = o.metadata.ownerReferences;
  if (!Array.isArray(refs) || refs.length === 0) return [];
  const out: string[] = [];
  for (const r of refs) if (r && typeof r.uid === 'string') out.push(r.uid);
  return out;
}
