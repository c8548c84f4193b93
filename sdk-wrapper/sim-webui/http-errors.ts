import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { SdfleetError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ValidationDetail } from './txt2img-request.ts';

/*
 * Error bodies, in the two shapes A1111 clients already handle:
 *  - a request that is not valid JSON, or fields of the wrong type: 422 with FastAPI's
 *    `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`;
 *  - anything else: A1111's own `{"error", "detail", "body", "errors"}` with the status
 *    (`error` holds sdfleet's machine-readable code, e.g. `model_not_found`).
 * Unknown paths answer FastAPI's 404 `{"detail": "Not Found"}`.
 */

/** Sends a FastAPI 422. */
export function sendValidationError(res: Response, detail: ValidationDetail[]): void {
  res.status(422).json({ detail });
}

/** Sends A1111's error body. */
export function sendA1111Error(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: code, detail: message, body: '', errors: message });
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ detail: 'Not Found' });
};

/** FastAPI answers 405 for a known path with another method. */
export const methodNotAllowed: RequestHandler = (_req, res) => {
  res.status(405).json({ detail: 'Method Not Allowed' });
};

/** The last handler: turns every error into JSON with a status; never lets one crash the sim. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      sendValidationError(res, [
        {
          loc: ['body', 0],
          msg: `JSON decode error: ${e.message ?? 'malformed JSON'}; send a JSON object such as {"prompt": "a cat"}`,
          type: 'value_error.jsondecode',
        },
      ]);
      return;
    }
    if (e.type === 'entity.too.large') {
      sendA1111Error(res, 413, 'body_too_large', 'request body larger than 1 MB; send only the generation parameters');
      return;
    }
    if (err instanceof SdfleetError) {
      sendA1111Error(res, err.status, err.code, err.message);
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    sendA1111Error(res, 500, 'internal', `sim-webui failed: ${errorMessage(err)}; see its log`);
  };
}
