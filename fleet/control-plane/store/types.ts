/**
 * The in-process object store contract: what the API server and the controllers use.
 * The implementation is `MemoryObjectStore` (memory-store.ts); open one with
 * `openStore()` (open-store.ts).
 */
import type { ObjectMeta } from '../../agones/types.ts';
import type { ResourceRegistry } from '../resources/registry.ts';
import type { FieldSelector, LabelSelector } from './selectors.ts';

/** Any object the store keeps, as the Kubernetes API serves it (camelCase JSON). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

/**
 * Which resource: `<plural>.<group>` for a named group (`gameservers.agones.dev`,
 * `leases.coordination.k8s.io`), the bare plural for the core group (`configmaps`,
 * `events`, `namespaces`) — the spelling `kubectl get <resource>.<group>` accepts.
 * `RESOURCES` in resources/registry.ts has constants for each.
 */
export type ResourceKey = string;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /** Deeply frozen. For BOOKMARK: only apiVersion, kind and metadata.resourceVersion. */
  object: KubeObject;
}

/** A committed change, for `onChange` listeners. */
export interface ChangeEvent {
  resource: ResourceKey;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The object after the change; for DELETED the last state, carrying the deletion's resourceVersion. */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). */
  oldObject?: KubeObject;
  /** The global resourceVersion of this change. */
  resourceVersion: number;
}

export interface ListOptions {
  /** Only this namespace; absent = all namespaces. Ignored for cluster-scoped resources. */
  namespace?: string;
  /** A selector string (`app=x,tier!=y`) or one parsed once with `parseLabelSelector`. */
  labelSelector?: string | LabelSelector;
  /** A selector string (`metadata.name=x`) or one parsed with `store.parseFieldSelector`. */
  fieldSelector?: string | FieldSelector;
}

export interface ListResult {
  /** Deeply frozen objects, in no particular order (insertion order). */
  items: KubeObject[];
  /** The store's resourceVersion at the time of the list: watch from here to miss nothing. */
  resourceVersion: string;
}

export interface WatchOptions extends ListOptions {
  /**
   * Deliver changes after this version. Absent, `""` or `"0"`: first a synthetic ADDED
   * for every current object, then changes. Older than the kept history, or newer than
   * the store has ever been (e.g. from before a restart): throws 410 Gone (reason
   * `Expired`) and the caller must relist.
   */
  resourceVersion?: string;
  /** Send a BOOKMARK every `bookmarkIntervalMs` carrying the current resourceVersion. */
  allowBookmarks?: boolean;
  /** Default: the store's `bookmarkIntervalMs` (60 s). */
  bookmarkIntervalMs?: number;
}

export interface Watch {
  /** Stops delivery at once; idempotent. */
  stop(): void;
}

export interface WriteOptions {
  /** Validate and answer as if written, but change nothing (`?dryRun=All`). */
  dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  /**
   * `status`: only `.status` of the given object is taken (everything else is kept from
   * the stored one). Without it, on kinds with a status subresource, `.status` changes
   * are ignored. Kinds without one (GameServer) write both through the main resource.
   */
  subresource?: 'status';
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  /**
   * What happens to dependents (objects whose ownerReferences name the deleted one).
   * `Background` (default) and `Foreground` both delete them after the owner is gone,
   * a batch per event-loop turn; `Orphan` removes the ownerReference instead.
   */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export type ChangeListener = (e: ChangeEvent) => void;

export interface IndexOptions {
  /**
   * Keep each index value's objects sorted by this comparator (a total order on the
   * objects that share a value; ties keep insertion order), so that `byIndex(…, 1)`
   * and `scanIndex` give the first in that order, e.g. the oldest Ready GameServer.
   * It must depend only on the object.
   */
  orderBy?: (a: KubeObject, b: KubeObject) => number;
}

/**
 * The object store. Synchronous on purpose: JavaScript runs one thing at a time, so a
 * read-modify-write in one call (`mutate`) is atomic, which is what lets the allocation
 * controller never hand one GameServer to two allocations.
 *
 * Objects returned are deeply frozen and shared: never change them (it throws); copy
 * with `structuredClone` or use `mutate`, which hands out a private copy. Objects passed
 * in are copied; the caller keeps ownership.
 *
 * Events (watch callbacks and `onChange` listeners) are delivered synchronously, in
 * commit order, before the writing call returns. A listener may write to the store; the
 * events of that write are delivered after the current event has reached every
 * listener, so every listener sees one global order. A listener that throws is logged
 * and skipped; the write still stands.
 *
 * Every method throws `ApiError` (errors.ts) for what a Kubernetes API server would answer
 * with a Status: 404 NotFound, 409 AlreadyExists / Conflict, 422 Invalid, 400 BadRequest,
 * 410 Gone, 405 MethodNotAllowed, 403 Forbidden.
 */
export interface ObjectStore {
  /** The resource types this store keeps (and the API server serves). */
  readonly registry: ResourceRegistry;

  /**
   * Stores a new object. Sets uid, resourceVersion, creationTimestamp, generation = 1;
   * `metadata.generateName` without a name → name = generateName + 5 random characters
   * (retried on a clash); namespace defaults to `default` for namespaced kinds and must
   * exist (404 otherwise). Applies the kind's defaults, drops `.status` on kinds with a
   * status subresource, validates (422 Invalid). 409 AlreadyExists for a taken name.
   */
  create(resource: ResourceKey, obj: KubeObject, opts?: WriteOptions): KubeObject;

  /** The object, or 404 NotFound. `namespace` is ignored for cluster-scoped kinds. */
  get(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject;

  /** The object, or undefined. */
  tryGet(resource: ResourceKey, namespace: string | undefined, name: string): KubeObject | undefined;

  /** Objects matching, and the resourceVersion to watch from. O(objects in scope). */
  list(resource: ResourceKey, opts?: ListOptions): ListResult;

  /**
   * Replaces an object (namespace/name from `obj.metadata`). 404 if absent; 409 Conflict
   * when `obj.metadata.resourceVersion` is set and not the stored one (absent = no
   * check). System metadata (uid, creationTimestamp, deletionTimestamp, generation) is
   * kept from the stored object. `generation` goes up when anything but metadata and
   * status changes (for kinds without a status subresource: anything but metadata). A
   * write that changes nothing returns the stored object and emits no event. Removing
   * the last finalizer of an object being deleted deletes it (DELETED event).
   */
  update(resource: ResourceKey, obj: KubeObject, opts?: UpdateOptions): KubeObject;

  /**
   * Read-modify-write without a resourceVersion check: `fn` gets a private, mutable deep
   * copy of the stored object and returns the new object (usually the same copy) or
   * `undefined` for "no change". Then as `update` (same subresource semantics,
   * validation, events). 404 if absent. Atomic: nothing else runs between the read and
   * the write. `fn` must not write to the store itself.
   */
  mutate(
    resource: ResourceKey,
    namespace: string | undefined,
    name: string,
    fn: (copy: KubeObject) => KubeObject | undefined,
    opts?: UpdateOptions,
  ): KubeObject;

  /**
   * `mutate` without the deep copy, for in-process writers that change a few fields of
   * an object at a high rate (allocation): `fn` gets the stored object itself (frozen)
   * and returns a new one built from it — spread the objects on the path to what
   * changes, keep everything else as it is (shared with the stored version) — or
   * `undefined` for "no change". Then exactly as `mutate` (validation, events). What `fn`
   * returns becomes the store's and is frozen: build it from fresh objects and the
   * stored parts, not from objects the caller keeps using. `fn` must not write to the
   * store.
   */
  derive(
    resource: ResourceKey,
    namespace: string | undefined,
    name: string,
    fn: (current: KubeObject) => KubeObject | undefined,
    opts?: UpdateOptions,
  ): KubeObject;

  /**
   * Deletes an object and returns its last state. With `metadata.finalizers` non-empty it
   * only sets `deletionTimestamp` (MODIFIED) and returns that; the object goes when an
   * update removes the last finalizer. Dependents (ownerReferences) are deleted in the
   * background after the owner is gone. Deleting a Namespace deletes everything in it.
   * 404 if absent; 409 Conflict on a failed precondition.
   */
  delete(resource: ResourceKey, namespace: string | undefined, name: string, opts?: DeleteOptions): KubeObject;

  /**
   * Streams changes of one resource to `onEvent` (see WatchOptions.resourceVersion for
   * where it starts). With a label/field selector, an object that stops matching arrives
   * as DELETED and one that starts matching as ADDED, as from the API server. Throws 410
   * Gone (reason Expired) when the history needed was dropped.
   */
  watch(resource: ResourceKey, opts: WatchOptions, onEvent: (e: WatchEvent) => void): Watch;

  /** Every committed change of every resource, in commit order. Returns "unsubscribe". */
  onChange(listener: ChangeListener): () => void;

  /** The global resourceVersion of the last commit, as a string of digits. */
  currentResourceVersion(): string;

  /** Parses a field selector with the fields `resource` supports (400 for others). */
  parseFieldSelector(resource: ResourceKey, text: string): FieldSelector;

  /**
   * Maintains a secondary index: `keysOf(obj)` gives the index values of an object (e.g.
   * `${fleet}/${state}`), updated on every commit. Adding an index with a name in use
   * replaces it. O(objects) once, then O(index values) per write (with `orderBy`, plus
   * O(log n) to find the place and a move of the entries after it).
   */
  addIndex(resource: ResourceKey, indexName: string, keysOf: (obj: KubeObject) => readonly string[], opts?: IndexOptions): void;

  /**
   * Objects whose index `indexName` has value `value`, at most `limit` of them: O(result),
   * so an allocator asks for `limit = 1` (or a few candidates) rather than all Ready
   * GameServers. Order: the index's `orderBy`; without one, none in particular
   * (insertion order of the index entry).
   */
  byIndex(resource: ResourceKey, indexName: string, value: string, limit?: number): KubeObject[];

  /**
   * The same objects as `byIndex`, in the same order, one at a time: a caller looking for
   * the first that fits pays only for those it looks at. Do not write to the store while
   * iterating (take what you need, stop, then write).
   */
  scanIndex(resource: ResourceKey, indexName: string, value: string): IterableIterator<KubeObject>;

  /** How many objects the index holds under `value`, without listing them. */
  indexSize(resource: ResourceKey, indexName: string, value: string): number;

  /** How many objects of `resource` there are, without listing them. */
  count(resource: ResourceKey, namespace?: string): number;

  /**
   * The JSON text of an object this store returned (the API server sends it as is; watch
   * fan-out serializes each change once). Kept for the current version of each object
   * only: a version superseded or deleted (still in the replay history) is serialized
   * again when asked.
   */
  json(obj: KubeObject): string;

  /** Writes what is still pending (batched persistence) and stops timers. Idempotent. */
  close(): Promise<void>;
}
