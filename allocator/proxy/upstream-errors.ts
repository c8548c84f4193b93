/**
 * What a failure to reach or read an instance means, as configurable-http-proxy decides
 * it: the instance is unreachable → 503 and one warn line without a stack (it is an
 * expected event: the instance ended, crashed or is being replaced); anything else → 500.
 */

const CONNECT_TIMEOUT = 'SDFLEET_CONNECT_TIMEOUT';
const IDLE_TIMEOUT = 'SDFLEET_IDLE_TIMEOUT';

/**
 * Error codes of an instance that cannot be reached or stopped answering: the system's,
 * undici's (closed socket, connect timeout, no response head or no body byte for the idle
 * timeout) and the proxy's own WebSocket timeouts.
 */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
  'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  CONNECT_TIMEOUT, IDLE_TIMEOUT,
]);

/** An error with a code, for the proxy's own timeouts. */
export function timeoutError(kind: 'connect' | 'idle', ms: number): Error & { code: string } {
  const e = new Error(kind === 'connect' ? `no connection within ${ms} ms` : `no data either way for ${ms} ms`) as Error & { code: string };
  e.code = kind === 'connect' ? CONNECT_TIMEOUT : IDLE_TIMEOUT;
  return e;
}

export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the instance is unreachable: answer 503, log one line, call `onGone`. */
export function isUnreachable(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && UNREACHABLE.has(code);
}
