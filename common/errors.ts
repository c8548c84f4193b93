/**
 * Errors with a machine-readable code. `status` is the HTTP status a server answers with;
 * a 4xx means the caller's input was at fault, a 5xx that sdfleet or something it depends
 * on failed. Messages say what was expected and what to do.
 */
export class SdfleetError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** When asking again may succeed, in seconds (a server sends it as Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, message: string, opts: { status?: number; cause?: unknown; details?: Record<string, unknown>; retryAfterSeconds?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SdfleetError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.details = opts.details;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** The caller asked for something malformed (HTTP 400). */
export function badRequest(message: string, details?: Record<string, unknown>): SdfleetError {
  return new SdfleetError('bad_request', message, { status: 400, details });
}

export function notFound(message: string): SdfleetError {
  return new SdfleetError('not_found', message, { status: 404 });
}

export function conflict(message: string): SdfleetError {
  return new SdfleetError('conflict', message, { status: 409 });
}

/** Error text of anything thrown, without its stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True for the network errors that mean "nothing is listening there (yet)". */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string; cause?: { code?: string } } | undefined)?.code
    ?? (err as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT'
    || code === 'EHOSTUNREACH' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CONNECT_TIMEOUT';
}
