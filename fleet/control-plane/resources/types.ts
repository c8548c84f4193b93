/**
 * What the control plane knows about each kind it serves: names for discovery, scope,
 * subresources, printer columns for `kubectl get`, persistence, validation, defaulting.
 */
import type { FieldGetter } from '../store/selectors.ts';
import type { KubeObject, ResourceKey } from '../store/types.ts';
import type { FieldError, JsonSchema } from './validation.ts';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A column of `kubectl get` (meta.k8s.io Table). `Name` comes first implicitly. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Shown with `-o wide` only when > 0. */
  priority?: number;
  description?: string;
  /** A simple JSONPath as in CRDs: `.status.state`, `.status.ports[0].port`. */
  jsonPath?: string;
  /** Computed cell, when a path is not enough. `now` in ms. */
  value?: (obj: KubeObject, now: number) => unknown;
}

export interface ScaleSubresource {
  /** `.spec.replicas` */
  specReplicasPath: string;
  /** `.status.replicas` */
  statusReplicasPath: string;
  /** `.status.labelSelector` */
  labelSelectorPath?: string;
}

/**
 * How a kind is written to the data dir. `sync`: before the write returns (temp file,
 * fsync, rename). `batched`: within `batchIntervalMs`; a crash may lose the last batch.
 * `false`: memory only.
 */
export type Persistence = 'sync' | 'batched' | false;

export interface ValidationContext {
  operation: 'create' | 'update';
  /**
   * The stored object, on update. The parts of the new object that the update left alone
   * are the very same values (`===`) as in it (the store shares them), so a validator may
   * skip them: validation ratcheting, as Kubernetes does for CRDs.
   */
  old?: KubeObject;
}

export interface ResourceType {
  /** `""` for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** What the API allows; discovery lists them. */
  verbs: readonly Verb[];
  subresources: { status: boolean; scale?: ScaleSubresource };
  /** After the implicit Name column (unless `noNameColumn`). Empty: Name and Age. */
  printerColumns: readonly PrinterColumn[];
  /** The table has no leading Name column (Events lead with Last Seen, as kubectl shows). */
  noNameColumn?: boolean;
  persist: Persistence;
  /**
   * `false`: not stored at all (GameServerAllocation): POST goes to a create handler
   * registered with the API server; every other verb is 405.
   */
  stored: boolean;
  /** DELETE answers the object (CRDs, namespaces) rather than a Success Status (core kinds). */
  returnDeletedObject: boolean;
  /** `metadata.name` rule: DNS-1123 subdomain (most kinds) or label (namespaces). */
  nameRule: 'subdomain' | 'label';
  /** Extra `fieldSelector` fields beyond metadata.name / metadata.namespace. */
  fieldSelectors?: Readonly<Record<string, FieldGetter>>;
  /** The JSON Schema of the object (apiVersion/kind/metadata aside), for /openapi/v3 (kubectl explain). */
  schema?: JsonSchema;
  /** Kind-specific checks of a defaulted object; metadata is checked by the store. */
  validate?: (obj: KubeObject, ctx: ValidationContext) => FieldError[];
  /**
   * Fills in defaults, in place, on a private copy (create and main-resource update). On
   * update, parts the update did not touch may be the stored, frozen values: replace
   * nested values rather than change them.
   */
  applyDefaults?: (obj: KubeObject, ctx: ValidationContext) => void;
  /** Memory-only kinds that would grow forever (Events): dropped by age or count. */
  retention?: { maxAgeSeconds: number; maxObjects: number };
}

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export function resourceKeyOf(t: Pick<ResourceType, 'group' | 'plural'>): ResourceKey {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}
