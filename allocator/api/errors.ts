import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../../common/log.ts';
import { SdfleetError } from '../../common/errors.ts';
import { QueueFullError } from '../queue/queue.ts';

/** `{"error":{"code","message"}}` with the status, for every error the API gives. */
export function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

/**
 * Express's last handler: the caller's mistakes as 4xx with what to fix, our failures as
 * 5xx with one log line; never a stack in a response.
 */
export function errorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      sendError(res, 400, 'invalid_body', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
      return;
    }
    if (err instanceof QueueFullError) {
      sendError(res, 429, 'queue_full', err.message);
      return;
    }
    if (err instanceof SdfleetError) {
      if (err.status >= 500) log.warn({ code: err.code, err: err.message }, 'request failed');
      if (err.retryAfterSeconds !== undefined && !res.headersSent) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      sendError(res, err.status, err.code, err.message);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.too.large') {
      sendError(res, 413, 'body_too_large', 'the request body is too large (the API takes small JSON bodies)');
      return;
    }
    if (e?.type === 'entity.parse.failed') {
      sendError(res, 400, 'malformed_json', `the body is not valid JSON: ${e.message ?? ''}`);
      return;
    }
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      sendError(res, e.status, 'bad_request', e.message ?? 'bad request');
      return;
    }
    log.error({ err: e?.message ?? String(err) }, 'unexpected error in the API');
    sendError(res, 500, 'internal', 'something went wrong in the allocator; the error was logged');
  };
}
