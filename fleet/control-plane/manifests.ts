import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { ResourceRegistry } from './resources/registry.ts';
import type { KubeObject, ObjectStore } from './store/types.ts';

/** Reads the objects in a YAML file (several documents allowed; `List` kinds unwrapped). */
export async function readManifests(file: string): Promise<KubeObject[]> {
  const text = await readFile(file, 'utf8');
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj === null) continue;
    if (typeof obj !== 'object' || !obj.apiVersion || !obj.kind) throw new Error(`${file}: every document needs apiVersion and kind`);
    if (obj.kind.endsWith('List') && Array.isArray(obj.items)) out.push(...(obj.items as KubeObject[]));
    else out.push(obj);
  }
  return out;
}

/** A kept object whose stored fields differ from its manifest's (the first difference). */
export interface KeptDifference {
  /** `plural/name`. */
  object: string;
  /** Dotted path of the field, e.g. `spec.policy.type`. */
  path: string;
  /** The value in the store (undefined: not there). */
  stored: unknown;
  /** The value in the manifest. */
  manifest: unknown;
}

/**
 * The first field the manifest sets that the stored object does not hold with the same
 * value; undefined when the stored object holds all of them (it may hold more: defaults
 * filled in, status). A field the manifest leaves undefined says nothing. Arrays compare
 * whole. Pure.
 */
export function firstDifference(manifest: unknown, stored: unknown, path = ''): Omit<KeptDifference, 'object'> | undefined {
  if (manifest === undefined) return undefined;
  if (manifest !== null && typeof manifest === 'object' && !Array.isArray(manifest)) {
    const have = stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? stored as Record<string, unknown> : undefined;
    for (const [k, v] of Object.entries(manifest)) {
      const d = firstDifference(v, have?.[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  const same = Array.isArray(manifest) ? JSON.stringify(manifest) === JSON.stringify(stored) : manifest === stored;
  return same ? undefined : { path, stored, manifest };
}

/**
 * Creates each object unless one of that name exists: a restart keeps what users changed
 * since (`kubectl scale`, edits), as a first `kubectl apply` would create and later
 * ones be left to the user. A kept object that no longer matches its manifest (changed
 * since, or made by an older sdfleet whose manifests said otherwise) is reported with
 * its first difference (spec, data), so the caller can say so.
 */
export function createMissing(store: ObjectStore, registry: ResourceRegistry, objects: KubeObject[]): { created: string[]; kept: string[]; differ: KeptDifference[] } {
  const created: string[] = [];
  const kept: string[] = [];
  const differ: KeptDifference[] = [];
  for (const obj of objects) {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') as [string, string] : ['', obj.apiVersion];
    const type = registry.all().find((t) => t.group === group && t.version === version && t.kind === obj.kind);
    if (!type) throw new Error(`no resource of kind ${obj.kind} in ${obj.apiVersion} on this control plane`);
    const ns = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const label = `${type.plural}/${obj.metadata.name}`;
    const existing = store.tryGet(type.key, ns, obj.metadata.name!);
    if (existing) {
      kept.push(label);
      const { spec, data } = obj as { spec?: unknown; data?: unknown };
      const d = firstDifference({ spec, data }, { spec: (existing as { spec?: unknown }).spec, data: (existing as { data?: unknown }).data });
      if (d) differ.push({ object: label, ...d });
      continue;
    }
    store.create(type.key, { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } });
    created.push(label);
  }
  return { created, kept, differ };
}
