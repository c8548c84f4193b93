/**
 * Where the autoscaler's settings and memory live: in the control plane, so they survive
 * restarts and every replica sees the same. `ConfigMapStore` keeps them in two
 * ConfigMaps of the fleet's namespace (through @kubernetes/client-node, on GKE or the
 * embedded control plane alike); `MemoryStore` is for tests and the simulator.
 *
 * - `sdfleet-autoscaler` (written by people): key `policy.yaml`, the policy settings
 *   (config.ts) with per-fleet overrides under `fleets: {<name>: {…}}`.
 * - `sdfleet-autoscaler-history` (written by the autoscaler): key `<fleet>.json`, the
 *   recent arrivals and the learned day profile (arrival-history.ts).
 */
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { StoredHistory } from './arrival-history.ts';
import type { FleetRef } from './demand.ts';

export const POLICY_CONFIGMAP = 'sdfleet-autoscaler';
export const POLICY_KEY = 'policy.yaml';
export const HISTORY_CONFIGMAP = 'sdfleet-autoscaler-history';

export interface AutoscalerStore {
  /** The policy text of the namespace's ConfigMap with a version that changes when it does; undefined when there is none. */
  loadPolicy(namespace: string): Promise<{ text: string; version: string } | undefined>;
  /** The stored history of a fleet as JSON (unchecked), undefined when none. */
  loadHistory(fleet: FleetRef): Promise<unknown>;
  saveHistory(fleet: FleetRef, history: StoredHistory): Promise<void>;
}

export class MemoryStore implements AutoscalerStore {
  policies = new Map<string, string>();
  histories = new Map<string, StoredHistory>();
  saves = 0;

  loadPolicy(namespace: string): Promise<{ text: string; version: string } | undefined> {
    const text = this.policies.get(namespace);
    return Promise.resolve(text === undefined ? undefined : { text, version: text });
  }

  loadHistory(fleet: FleetRef): Promise<unknown> {
    return Promise.resolve(structuredClone(this.histories.get(`${fleet.namespace}/${fleet.name}`)));
  }

  saveHistory(fleet: FleetRef, history: StoredHistory): Promise<void> {
    this.saves++;
    this.histories.set(`${fleet.namespace}/${fleet.name}`, structuredClone(history));
    return Promise.resolve();
  }
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class ConfigMapStore implements AutoscalerStore {
  readonly #core: CoreV1Api;

  constructor(core: CoreV1Api) {
    this.#core = core;
  }

  async loadPolicy(namespace: string): Promise<{ text: string; version: string } | undefined> {
    let cm: V1ConfigMap;
    try {
      cm = await this.#core.readNamespacedConfigMap({ name: POLICY_CONFIGMAP, namespace });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw new Error(`could not read ConfigMap ${namespace}/${POLICY_CONFIGMAP}: ${(err as Error).message}`, { cause: err });
    }
    const text = cm.data?.[POLICY_KEY];
    if (text === undefined) return undefined;
    return { text, version: cm.metadata?.resourceVersion ?? text };
  }

  async loadHistory(fleet: FleetRef): Promise<unknown> {
    try {
      const cm = await this.#core.readNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace: fleet.namespace });
      const raw = cm.data?.[`${fleet.name}.json`];
      return raw === undefined ? undefined : (JSON.parse(raw) as unknown);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A merge patch of this fleet's key only (other fleets' keys stay); created when missing. */
  async saveHistory(fleet: FleetRef, history: StoredHistory): Promise<void> {
    const data = { [`${fleet.name}.json`]: JSON.stringify(history) };
    try {
      await this.#core.patchNamespacedConfigMap(
        { name: HISTORY_CONFIGMAP, namespace: fleet.namespace, body: { data } },
        MERGE_PATCH,
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await this.#core.createNamespacedConfigMap({
          namespace: fleet.namespace,
          body: { metadata: { name: HISTORY_CONFIGMAP, labels: { 'app.kubernetes.io/part-of': 'sdfleet', 'app.kubernetes.io/component': 'autoscaler' } }, data },
        });
      } catch (e) {
        // Another replica created it in between: patch it now.
        if (statusOf(e) !== 409) throw e;
        await this.#core.patchNamespacedConfigMap({ name: HISTORY_CONFIGMAP, namespace: fleet.namespace, body: { data } }, MERGE_PATCH);
      }
    }
  }
}
