import { SdfleetError, errorMessage } from '../../common/errors.ts';

/**
 * What went wrong, machine-readable. `permission_denied`, `not_found`, `conflict`,
 * `bad_input` and `verify_failed` need an operator (IAM, a name, the image); the others
 * may pass on a retry.
 */
export type LibDiskErrorCode =
  | 'bad_input'
  | 'metadata_unavailable'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'unauthenticated'
  | 'api_error'
  | 'operation_failed'
  | 'operation_timeout'
  | 'device_timeout'
  | 'mount_failed'
  | 'verify_failed'
  | 'taint_failed';

const STATUS: Record<LibDiskErrorCode, number> = {
  bad_input: 400,
  metadata_unavailable: 503,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  unauthenticated: 401,
  api_error: 502,
  operation_failed: 502,
  operation_timeout: 504,
  device_timeout: 504,
  mount_failed: 500,
  verify_failed: 422,
  taint_failed: 502,
};

export class LibDiskError extends SdfleetError {
  declare readonly code: LibDiskErrorCode;
  constructor(code: LibDiskErrorCode, message: string, cause?: unknown) {
    super(code, message, { status: STATUS[code], cause });
    this.name = 'LibDiskError';
  }
}

/** One Compute API call, for the message when it fails. */
export interface CallContext {
  /** The REST method, e.g. `disks.insert`. */
  call: string;
  /** The resource it acts on, e.g. `projects/p/zones/z/disks/d`. */
  resource: string;
  /** The IAM permissions the call needs. */
  permissions: string[];
  /** What to check when the resource is missing. */
  notFoundHint?: string;
}

// gRPC status codes google-gax puts on errors (the REST transport maps HTTP onto them:
// 403 → 7, 404 → 5, 409 → 10; a body with `status` gives 6 for ALREADY_EXISTS).
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const PERMISSION_DENIED = 7;
const ABORTED = 10;
const UNAUTHENTICATED = 16;

export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return grpcCode(err) === NOT_FOUND;
}

export function isAlreadyExists(err: unknown): boolean {
  const c = grpcCode(err);
  return c === ALREADY_EXISTS || c === ABORTED;
}

/** A Compute API error in words an operator can act on: which call, what, which permission. */
export function apiError(err: unknown, ctx: CallContext): LibDiskError {
  const msg = errorMessage(err);
  switch (grpcCode(err)) {
    case PERMISSION_DENIED:
      return new LibDiskError(
        'permission_denied',
        `${ctx.call} on ${ctx.resource} was denied (${msg}). The agent's Google service account needs ` +
          `${ctx.permissions.join(', ')} (roles/compute.storageAdmin has them, or a custom role); on GKE that is ` +
          'the Google service account its Kubernetes service account is bound to through Workload Identity ' +
          '(iam.gke.io/gcp-service-account annotation).',
        err,
      );
    case NOT_FOUND:
      return new LibDiskError('not_found', `${ctx.call}: ${ctx.resource} was not found (${msg}).${ctx.notFoundHint ? ' ' + ctx.notFoundHint : ''}`, err);
    case ALREADY_EXISTS:
    case ABORTED:
      return new LibDiskError('conflict', `${ctx.call} on ${ctx.resource} conflicts with the current state (${msg}). Another node or a previous run may be changing it; the agent retries.`, err);
    case UNAUTHENTICATED:
      return new LibDiskError(
        'unauthenticated',
        `${ctx.call} on ${ctx.resource}: the Compute API did not accept the access token (${msg}). Check that the metadata server gives this pod a token (Workload Identity enabled on the node pool, the service account binding in place).`,
        err,
      );
    default:
      return new LibDiskError('api_error', `${ctx.call} on ${ctx.resource} failed: ${msg}`, err);
  }
}
