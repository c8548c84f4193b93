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

/**
 * Creates each object unless one of that name exists: a restart keeps what users changed
 * since (`kubectl scale`, edits), as a first `kubectl apply` would create and later
 * ones be left to the user.
 */
export function createMissing(store: ObjectStore, registry: ResourceRegistry, objects: KubeObject[]): { created: string[]; kept: string[] } {
  const created: string[] = [];
  const kept: string[] = [];
  for (const obj of objects) {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') as [string, string] : ['', obj.apiVersion];
    const type = registry.all().find((t) => t.group === group && t.version === version && t.kind === obj.kind);
    if (!type) throw new Error(`no resource of kind ${obj.kind} in ${obj.apiVersion} on this control plane`);
    const ns = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const label = `${type.plural}/${obj.metadata.name}`;
    if (store.tryGet(type.key, ns, obj.metadata.name!)) {
      kept.push(label);
      continue;
    }
    store.create(type.key, { ...obj, metadata: { ...obj.metadata, ...(ns ? { namespace: ns } : {}) } });
    created.push(label);
  }
  return { created, kept };
}
