/**
 * The FleetAutoscaleReview as Agones sends it to a Webhook policy, checked, and the
 * answer it expects: `{response: {uid, scale, replicas}}` (see shared/agones/README.md).
 */
import { badRequest } from '../../common/errors.ts';
import type { ReviewStatus } from './policy.ts';

export interface FleetAutoscaleRequest {
  uid: string;
  name: string;
  namespace: string;
  status: ReviewStatus;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface FleetAutoscaleResponse {
  uid: string;
  scale: boolean;
  replicas: number;
}

/** Agones' Fleet counts (and response.replicas) are int32: larger ones are malformed, and their sums would lose precision. */
const INT32_MAX = 2 ** 31 - 1;

const COUNTS = ['replicas', 'readyReplicas', 'reservedReplicas', 'allocatedReplicas'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The review's request, or a 400 SdfleetError saying what is wrong. Counts that Agones
 * leaves out (zero values may be omitted) read as 0; present ones must be whole numbers from 0 to 2^31 - 1 (int32, as in Agones).
 */
export function parseReview(body: unknown): FleetAutoscaleRequest {
  const expected = 'expected a FleetAutoscaleReview: {"apiVersion":"autoscaling.agones.dev/v1","kind":"FleetAutoscaleReview","request":{"uid","name","namespace","status":{"replicas","readyReplicas","reservedReplicas","allocatedReplicas"}}}';
  if (!isObject(body)) throw badRequest(`the body is not a JSON object; ${expected}`);
  if (body.kind !== undefined && body.kind !== 'FleetAutoscaleReview') throw badRequest(`kind is ${JSON.stringify(body.kind)}, not FleetAutoscaleReview; ${expected}`);
  const r = body.request;
  if (!isObject(r)) throw badRequest(`"request" is missing or not an object; ${expected}`);
  if (typeof r.uid !== 'string' || r.uid === '') throw badRequest('request.uid must be a non-empty string (it is echoed in response.uid)');
  if (typeof r.name !== 'string' || r.name === '') throw badRequest('request.name must be the Fleet\'s name');
  if (r.namespace !== undefined && typeof r.namespace !== 'string') throw badRequest('request.namespace must be a string');
  if (!isObject(r.status)) throw badRequest('request.status must be the Fleet\'s status object (replicas, readyReplicas, reservedReplicas, allocatedReplicas)');
  const status: ReviewStatus = {};
  for (const k of COUNTS) {
    const v = r.status[k];
    if (v === undefined) {
      status[k] = 0;
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX) {
      throw badRequest(`request.status.${k} must be a whole number from 0 to ${INT32_MAX} (a Fleet's counts are int32), got ${JSON.stringify(v)}`);
    }
    status[k] = v;
  }
  const strings = (v: unknown, field: string): Record<string, string> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw badRequest(`request.${field} must map strings to strings`);
    return v as Record<string, string>;
  };
  const labels = strings(r.labels, 'labels');
  const annotations = strings(r.annotations, 'annotations');
  return {
    uid: r.uid,
    name: r.name,
    namespace: (r.namespace as string | undefined) || 'default',
    status,
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/** The answer Agones reads: `response.scale` true applies `response.replicas`. */
export function reviewResponse(res: FleetAutoscaleResponse): { apiVersion: string; kind: string; response: FleetAutoscaleResponse } {
  return { apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaleReview', response: res };
}
