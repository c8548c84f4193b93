/**
 * `openStore`: the one way to get a store, with or without a data dir. Makes sure the
 * `default` namespace exists.
 */
import type { Logger } from '../../../common/log.ts';
import { defaultRegistry, RESOURCES, type ResourceRegistry } from '../resources/registry.ts';
import { MemoryObjectStore } from './memory-store.ts';
import { FilePersistence } from './persistence.ts';
import type { KubeObject } from './types.ts';

export interface OpenStoreOptions {
  /** Where to keep state across restarts; absent = memory only. */
  dataDir?: string;
  /** Resource types; default: `defaultRegistry()` (Agones kinds + the core few). */
  registry?: ResourceRegistry;
  /** Events kept per resource for watch replay; default 10,000. */
  historyLimit?: number;
  /** ...and for at most this long; default 5 min (see MemoryStoreOptions). */
  historyMaxAgeMs?: number;
  /** Max delay of batched (GameServer) writes; default 100 ms. */
  batchIntervalMs?: number;
  /** Fold the change log of batched writes into the object files past this size; default 64 MiB. */
  compactBytes?: number;
  /** Default BOOKMARK interval of watches that allow them; default 60 s. */
  bookmarkIntervalMs?: number;
  logger?: Logger;
  /** Clock in ms; default Date.now (tests pass a fake). */
  now?: () => number;
}

/**
 * Opens the store: loads the data dir if given (throws StoreLoadError naming the file
 * when something there is unreadable, or when another process holds it), then ensures
 * the `default` namespace. Close it with `store.close()` to write pending batches and
 * release the data dir.
 */
export function openStore(opts: OpenStoreOptions = {}): MemoryObjectStore {
  const registry = opts.registry ?? defaultRegistry();
  let persistence: FilePersistence | undefined;
  const initial = new Map<string, KubeObject[]>();
  let initialResourceVersion = 0;
  if (opts.dataDir !== undefined) {
    persistence = new FilePersistence({
      dataDir: opts.dataDir,
      ...(opts.batchIntervalMs !== undefined ? { batchIntervalMs: opts.batchIntervalMs } : {}),
      ...(opts.compactBytes !== undefined ? { compactBytes: opts.compactBytes } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    try {
      initialResourceVersion = persistence.loadResourceVersion();
      const kept = registry.all().flatMap((t) => (t.persist && t.stored ? [{ key: t.key, persist: t.persist }] : []));
      for (const [key, objects] of persistence.loadAll(kept)) initial.set(key, objects);
    } catch (err) {
      persistence.abandon();
      throw err;
    }
  }
  const store = new MemoryObjectStore(
    {
      registry,
      ...(persistence ? { persistence } : {}),
      ...(opts.historyLimit !== undefined ? { historyLimit: opts.historyLimit } : {}),
      ...(opts.historyMaxAgeMs !== undefined ? { historyMaxAgeMs: opts.historyMaxAgeMs } : {}),
      ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      initialResourceVersion,
    },
    initial,
  );
  if (registry.tryGet(RESOURCES.namespaces) && !store.tryGet(RESOURCES.namespaces, undefined, 'default')) {
    store.create(RESOURCES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  }
  return store;
}
