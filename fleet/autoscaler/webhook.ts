/**
 * The webhook over HTTP: POST a FleetAutoscaleReview, get `{response:{uid, scale,
 * replicas}}` (200), or 400 with a message for a malformed one, as Agones' Webhook policy
 * calls it. A plain node:http handler, so the allocator's Express app and the
 * standalone server mount the same thing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { AutoscalerService } from './service.ts';

/** Where the allocator serves it (under its own prefix). */
export const WEBHOOK_PATH = '/_sdfleet/autoscaler/review';

/** Largest review accepted: a Fleet's status is well under 1 KiB. */
const BODY_LIMIT = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers }).end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>): void {
  send(res, status, { error: { code, message } }, headers);
}

export function webhookHandler(service: AutoscalerService, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') {
      error(res, 405, 'method_not_allowed', `POST a FleetAutoscaleReview here (got ${req.method})`, { allow: 'POST' });
      return;
    }
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      error(res, 415, 'unsupported_media_type', `send the review as application/json (got ${type})`);
      req.resume();
      return;
    }
    // Too large, declared or sent: answered at once and the connection closed, never read
    // to its end (the webhook takes no credentials: anyone could otherwise hold it open).
    const tooLarge = (size: number): void => {
      req.removeAllListeners('data');
      req.removeAllListeners('end');
      req.on('error', () => undefined);
      error(res, 413, 'too_large', `a FleetAutoscaleReview is well under ${BODY_LIMIT} bytes; got ${size}`, { connection: 'close' });
      res.once('finish', () => req.socket.destroy());
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > BODY_LIMIT) return tooLarge(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) tooLarge(size);
      else chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return error(res, 400, 'bad_request', `the body is not JSON (${errorMessage(err)}); send a FleetAutoscaleReview`);
      }
      service.review(body).then(
        (r) => send(res, r.status, r.body),
        (err: unknown) => {
          log.error({ err: errorMessage(err) }, 'autoscaler: the review failed');
          error(res, 500, 'internal', `the autoscaler failed to decide: ${errorMessage(err)}`);
        },
      );
    });
  };
}
