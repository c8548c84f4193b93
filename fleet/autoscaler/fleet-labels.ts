/**
 * The labels a Fleet gives its GameServers (its template's), read through the Kubernetes
 * API and kept for a while: which profiles' queues are this fleet's is decided by them,
 * also when the fleet is scaled to zero and no GameServer shows them.
 */
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Fleet } from '../agones/types.ts';

export function fleetLabelsReader(custom: CustomObjectsApi, ttlMs = 30_000, now: () => number = Date.now): (namespace: string, name: string) => Promise<Record<string, string> | undefined> {
  const cache = new Map<string, { at: number; labels: Record<string, string> | undefined }>();
  return async (namespace, name) => {
    const key = `${namespace}/${name}`;
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.labels;
    let labels: Record<string, string> | undefined;
    try {
      const fleet = (await custom.getNamespacedCustomObject({ group: 'agones.dev', version: 'v1', namespace, plural: 'fleets', name })) as Fleet;
      labels = { ...(fleet.spec.template?.metadata?.labels ?? {}) };
    } catch (err) {
      if ((err as { code?: unknown }).code !== 404) throw err;
    }
    cache.set(key, { at: now(), labels });
    return labels;
  };
}
