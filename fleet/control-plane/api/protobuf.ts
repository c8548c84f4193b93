/**
 * Decoding of the Kubernetes protobuf encoding for the few core kinds kubectl 1.32 sends
 * that way (its generated clients prefer protobuf: `kubectl create namespace`,
 * `kubectl create configmap`, …). Responses stay JSON, which those clients also accept.
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` whose `raw` holds the object.
 * Field numbers are those of k8s.io/api's generated.proto files.
 */
import protobuf from 'protobufjs';
import { errorMessage } from '../../../common/errors.ts';
import { badRequest, unsupportedMediaType } from '../store/errors.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const PROTO = `
syntax = "proto2";
package k8s;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message OwnerReference { optional string kind = 1; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional bool controller = 6; optional bool blockOwnerDeletion = 7; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3; optional string selfLink = 4;
  optional string uid = 5; optional string resourceVersion = 6; optional int64 generation = 7;
  optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9; optional int64 deletionGracePeriodSeconds = 10;
  map<string, string> labels = 11; map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13; repeated string finalizers = 14;
}
message NamespaceSpec { repeated string finalizers = 1; }
message NamespaceStatus { optional string phase = 1; }
message Namespace { optional ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; optional NamespaceStatus status = 3; }
message ConfigMap { optional ObjectMeta metadata = 1; map<string, string> data = 2; map<string, bytes> binaryData = 3; optional bool immutable = 4; }
message ObjectReference { optional string kind = 1; optional string namespace = 2; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional string resourceVersion = 6; optional string fieldPath = 7; }
message EventSource { optional string component = 1; optional string host = 2; }
message Event {
  optional ObjectMeta metadata = 1; optional ObjectReference involvedObject = 2; optional string reason = 3; optional string message = 4;
  optional EventSource source = 5; optional Time firstTimestamp = 6; optional Time lastTimestamp = 7; optional int32 count = 8;
  optional string type = 9; optional Time eventTime = 10; optional string action = 12; optional ObjectReference related = 13;
  optional string reportingComponent = 14; optional string reportingInstance = 15;
}
message LeaseSpec {
  optional string holderIdentity = 1; optional int32 leaseDurationSeconds = 2; optional Time acquireTime = 3; optional Time renewTime = 4;
  optional int32 leaseTransitions = 5; optional string strategy = 6; optional string preferredHolder = 7;
}
message Lease { optional ObjectMeta metadata = 1; optional LeaseSpec spec = 2; }
message Preconditions { optional string uid = 1; optional string resourceVersion = 2; }
message DeleteOptions { optional int64 gracePeriodSeconds = 1; optional Preconditions preconditions = 2; optional bool orphanDependents = 3; optional string propagationPolicy = 4; repeated string dryRun = 5; }
`;

/** Which message holds each kind, and which fields are (Micro)Time. */
const KINDS: Record<string, { type: string; micro?: string[] }> = {
  'v1/Namespace': { type: 'Namespace' },
  'v1/ConfigMap': { type: 'ConfigMap' },
  'v1/Event': { type: 'Event', micro: ['eventTime'] },
  'coordination.k8s.io/v1/Lease': { type: 'Lease', micro: ['spec.acquireTime', 'spec.renewTime'] },
  'v1/DeleteOptions': { type: 'DeleteOptions' },
  'meta.k8s.io/v1/DeleteOptions': { type: 'DeleteOptions' },
};

const TIME_FIELDS = ['metadata.creationTimestamp', 'metadata.deletionTimestamp', 'firstTimestamp', 'lastTimestamp', 'eventTime', 'spec.acquireTime', 'spec.renewTime'];

/** Decoder for the core kinds; build once per server. */
export class ProtobufDecoder {
  readonly #root: protobuf.Root;

  constructor() {
    this.#root = protobuf.parse(PROTO, { keepCase: true }).root;
  }

  /** Decodes a protobuf body into the JSON form, or throws 400/415 saying why. */
  decode(body: Buffer): Record<string, unknown> {
    if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw badRequest('a protobuf body must start with the Kubernetes magic number k8s\\0');
    let unknown: Record<string, unknown>;
    try {
      const u = this.#root.lookupType('k8s.Unknown');
      unknown = u.toObject(u.decode(body.subarray(4))) as Record<string, unknown>;
    } catch (err) {
      throw badRequest(`couldn't decode the protobuf body: ${errorMessage(err)}`);
    }
    const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const key = `${tm.apiVersion ?? ''}/${tm.kind ?? ''}`;
    const spec = KINDS[key];
    if (!spec) {
      throw unsupportedMediaType(`protobuf is only accepted for core kinds (Namespace, ConfigMap, Event, Lease); send ${tm.kind ?? 'this kind'} as application/json`);
    }
    if (unknown.contentEncoding) throw unsupportedMediaType(`protobuf content encoding ${String(unknown.contentEncoding)} is not supported`);
    const type = this.#root.lookupType(`k8s.${spec.type}`);
    let obj: Record<string, unknown>;
    try {
      obj = type.toObject(type.decode((unknown.raw as Uint8Array | undefined) ?? new Uint8Array(0)), { longs: Number, bytes: String, defaults: false }) as Record<string, unknown>;
    } catch (err) {
      throw badRequest(`couldn't decode the protobuf ${tm.kind ?? ''}: ${errorMessage(err)}`);
    }
    for (const path of TIME_FIELDS) convertTime(obj, path, spec.micro?.includes(path) ?? false);
    obj = dropZeroValues(obj) as Record<string, unknown>;
    if (spec.type !== 'DeleteOptions') {
      obj.apiVersion = tm.apiVersion;
      obj.kind = tm.kind;
    }
    return obj;
  }
}

const MAP_FIELDS = new Set(['labels', 'annotations', 'data', 'binaryData']);

/**
 * Go's protobuf encoder writes every non-pointer field, zero or not, where its JSON
 * encoder omits them (omitempty). Drops "", 0, false, [] and {} so the object reads as
 * the same object sent as JSON would; string maps (labels, data) are kept as they are.
 */
function dropZeroValues(v: unknown): unknown {
  if (Array.isArray(v)) {
    const arr = v.map(dropZeroValues).filter((x) => x !== undefined);
    return arr.length > 0 ? arr : undefined;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const kept = MAP_FIELDS.has(k) ? x : dropZeroValues(x);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (v === '' || v === 0 || v === false || v === null || v === undefined) return undefined;
  return v;
}

function convertTime(obj: Record<string, unknown>, path: string, micro: boolean): void {
  const segs = path.split('.');
  let parent: Record<string, unknown> | undefined = obj;
  for (const s of segs.slice(0, -1)) {
    const next: unknown = parent?.[s];
    parent = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
  }
  const last = segs[segs.length - 1]!;
  const t = parent?.[last] as { seconds?: number; nanos?: number } | undefined;
  if (!parent || !t || typeof t !== 'object') return;
  const ms = (t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  const iso = new Date(ms).toISOString();
  parent[last] = micro ? iso.replace(/\.(\d{3})Z$/, (_m, f: string) => `.${f}${String(Math.floor(((t.nanos ?? 0) % 1e6) / 1e3)).padStart(3, '0')}Z`) : iso.replace(/\.\d{3}Z$/, 'Z');
}
