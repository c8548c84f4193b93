/**
 * The registry of served resource types: lookups by key, by URL (group/version/plural),
 * and the grouping discovery needs.
 */
import { agonesResourceTypes } from './agones.ts';
import { coreResourceTypes } from './core.ts';
import { apiVersionOf, resourceKeyOf, type ResourceType } from './types.ts';
import { createSchemaCompiler } from './validation.ts';

/** Keys of the resources served by default, for `store.get(RESOURCES.gameServers, …)`. */
export const RESOURCES = {
  gameServers: 'gameservers.agones.dev',
  fleets: 'fleets.agones.dev',
  gameServerSets: 'gameserversets.agones.dev',
  fleetAutoscalers: 'fleetautoscalers.autoscaling.agones.dev',
  gameServerAllocations: 'gameserverallocations.allocation.agones.dev',
  namespaces: 'namespaces',
  configMaps: 'configmaps',
  events: 'events',
  leases: 'leases.coordination.k8s.io',
} as const;

export interface RegisteredType extends ResourceType {
  /** `gameservers.agones.dev`, `configmaps` */
  key: string;
  /** `agones.dev/v1`, `v1` */
  apiVersion: string;
}

export interface GroupVersionInfo {
  group: string;
  version: string;
  groupVersion: string;
  types: RegisteredType[];
}

export class ResourceRegistry {
  readonly #byKey = new Map<string, RegisteredType>();
  readonly #byPath = new Map<string, RegisteredType>();
  readonly #groupVersions = new Map<string, GroupVersionInfo>();

  constructor(types: readonly ResourceType[]) {
    for (const t of types) {
      const reg: RegisteredType = { ...t, key: resourceKeyOf(t), apiVersion: apiVersionOf(t) };
      if (this.#byKey.has(reg.key)) throw new Error(`resource ${reg.key} registered twice`);
      this.#byKey.set(reg.key, reg);
      this.#byPath.set(`${t.group}/${t.version}/${t.plural}`, reg);
      let gv = this.#groupVersions.get(reg.apiVersion);
      if (!gv) {
        gv = { group: t.group, version: t.version, groupVersion: reg.apiVersion, types: [] };
        this.#groupVersions.set(reg.apiVersion, gv);
      }
      gv.types.push(reg);
    }
  }

  /** The type for a key, or undefined. */
  tryGet(key: string): RegisteredType | undefined {
    return this.#byKey.get(key);
  }

  /** The type served at `/apis/<group>/<version>/<plural>` (group "" = `/api/v1`). */
  byPath(group: string, version: string, plural: string): RegisteredType | undefined {
    return this.#byPath.get(`${group}/${version}/${plural}`);
  }

  all(): RegisteredType[] {
    return [...this.#byKey.values()];
  }

  /** Group/versions in registration order; the core group is `""`. */
  groupVersions(): GroupVersionInfo[] {
    return [...this.#groupVersions.values()];
  }

  groupVersion(group: string, version: string): GroupVersionInfo | undefined {
    return this.#groupVersions.get(group ? `${group}/${version}` : version);
  }
}

/** The resources sdfleet's control plane serves: the Agones kinds and the core few. */
export function defaultRegistry(): ResourceRegistry {
  const ajv = createSchemaCompiler();
  return new ResourceRegistry([...coreResourceTypes(ajv), ...agonesResourceTypes(ajv)]);
}
