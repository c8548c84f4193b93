/**
 * Discovery documents (`/api`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/version`), built
 * once from the registry, and the aggregated form (apidiscovery.k8s.io/v2) kubectl 1.32
 * asks for first.
 */
import type { GroupVersionInfo, RegisteredType, ResourceRegistry } from '../resources/registry.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** Kubernetes 1.32 is what the API answers like (kubectl warns beyond ±1 minor). */
export function defaultVersion(): VersionInfo {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-sdfleet',
    gitCommit: 'sdfleet',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'sdfleet',
    platform: `${process.platform}/${process.arch}`,
  };
}

function resourceEntries(t: RegisteredType): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: [...t.verbs],
  };
  if (t.shortNames.length > 0) main.shortNames = [...t.shortNames];
  if (t.categories.length > 0) main.categories = [...t.categories];
  const out = [main];
  if (t.subresources.status) {
    out.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
  }
  if (t.subresources.scale) {
    out.push({ name: `${t.plural}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  }
  return out;
}

function apiResourceList(gv: GroupVersionInfo): string {
  return JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.groupVersion, resources: gv.types.flatMap(resourceEntries) });
}

function apiGroup(gvs: GroupVersionInfo[]): Record<string, unknown> {
  const versions = gvs.map((gv) => ({ groupVersion: gv.groupVersion, version: gv.version }));
  return { name: gvs[0]!.group, versions, preferredVersion: versions[0] };
}

function discoveryResource(t: RegisteredType): Record<string, unknown> {
  const r: Record<string, unknown> = {
    resource: t.plural,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: [...t.verbs],
  };
  if (t.shortNames.length > 0) r.shortNames = [...t.shortNames];
  if (t.categories.length > 0) r.categories = [...t.categories];
  const subs: Record<string, unknown>[] = [];
  if (t.subresources.status) subs.push({ subresource: 'status', responseKind: { group: t.group, version: t.version, kind: t.kind }, verbs: ['get', 'patch', 'update'] });
  if (t.subresources.scale) subs.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
  if (subs.length > 0) r.subresources = subs;
  return r;
}

function aggregatedGroup(gvs: GroupVersionInfo[]): Record<string, unknown> {
  return {
    metadata: { name: gvs[0]!.group, creationTimestamp: null },
    versions: gvs.map((gv) => ({ version: gv.version, resources: gv.types.map(discoveryResource), freshness: 'Current' })),
  };
}

/** Every discovery body, serialized once. */
export class Discovery {
  readonly version: string;
  readonly groupList: string;
  readonly aggregatedApis: string;
  readonly aggregatedCore: string;
  readonly #groups = new Map<string, string>();
  readonly #resourceLists = new Map<string, string>();
  readonly #coreVersions: string[];

  constructor(registry: ResourceRegistry, version: VersionInfo) {
    this.version = JSON.stringify(version);
    const byGroup = new Map<string, GroupVersionInfo[]>();
    for (const gv of registry.groupVersions()) {
      this.#resourceLists.set(gv.groupVersion, apiResourceList(gv));
      const list = byGroup.get(gv.group) ?? [];
      list.push(gv);
      byGroup.set(gv.group, list);
    }
    const named = [...byGroup.entries()].filter(([g]) => g !== '');
    for (const [g, gvs] of named) this.#groups.set(g, JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(gvs) }));
    this.groupList = JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: named.map(([, gvs]) => apiGroup(gvs)) });
    const core = byGroup.get('') ?? [];
    this.#coreVersions = core.map((gv) => gv.version);
    const aggKind = { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {} };
    this.aggregatedApis = JSON.stringify({ ...aggKind, items: named.map(([, gvs]) => aggregatedGroup(gvs)) });
    this.aggregatedCore = JSON.stringify({ ...aggKind, items: core.length > 0 ? [aggregatedGroup(core)] : [] });
  }

  /** `/api` */
  apiVersions(serverAddress: string): string {
    return JSON.stringify({ kind: 'APIVersions', versions: this.#coreVersions, serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
  }

  group(name: string): string | undefined {
    return this.#groups.get(name);
  }

  /** `/api/v1` (group "") or `/apis/<g>/<v>` */
  resourceList(group: string, version: string): string | undefined {
    return this.#resourceLists.get(group ? `${group}/${version}` : version);
  }
}

/** True when the Accept header asks for aggregated discovery v2 (first). */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0] ?? '';
  return first.includes('as=APIGroupDiscoveryList') && first.includes('g=apidiscovery.k8s.io') && /v=v2(;|$|\s)/.test(first);
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
