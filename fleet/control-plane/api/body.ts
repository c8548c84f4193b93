/** Request bodies: size limit, content types, JSON/YAML decoding, with Status errors. */
import type { IncomingMessage } from 'node:http';
import YAML from 'yaml';
import { errorMessage } from '../../../common/errors.ts';
import { ApiError, badRequest, unsupportedMediaType } from '../store/errors.ts';
import { PROTOBUF_CONTENT_TYPE, type ProtobufDecoder } from './protobuf.ts';

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** Reads the whole body; 413 past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(badRequest(`could not read the request body: ${errorMessage(err)}`));
      }
    });
  });
}

function mediaType(contentType: string | undefined): string {
  if (contentType === 'application/json') return contentType;
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Decodes a POST/PUT/DELETE body: JSON (also when no Content-Type is given), YAML, or
 * protobuf for the core kinds kubectl sends that way. It must be an object. Others: 415.
 */
export function decodeObject(raw: Buffer, contentType: string | undefined, protobuf?: ProtobufDecoder): Record<string, unknown> {
  const mt = mediaType(contentType);
  if (mt === PROTOBUF_CONTENT_TYPE && protobuf) return protobuf.decode(raw);
  const body = raw.toString('utf8');
  let v: unknown;
  if (mt === '' || mt === 'application/json' || mt === '*/*') {
    try {
      v = JSON.parse(body);
    } catch (err) {
      if (body.trim() === '') throw badRequest('the request body is empty; expected a JSON object');
      throw badRequest(`couldn't decode the request body as JSON: ${errorMessage(err)}`);
    }
  } else if (mt === 'application/yaml' || mt === 'application/x-yaml' || mt === 'text/yaml') {
    try {
      v = YAML.parse(body, { maxAliasCount: 100 });
    } catch (err) {
      throw badRequest(`couldn't decode the request body as YAML: ${errorMessage(err)}`);
    }
  } else {
    throw unsupportedMediaType(`the body of the request was in an unknown format (${mt}) - accepted media types include: application/json, application/yaml`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('the request body must be a JSON object');
  if (depthOver(v, MAX_DEPTH)) throw badRequest(`the request body is nested deeper than ${MAX_DEPTH} levels`);
  return v as Record<string, unknown>;
}

/** Deeper objects are refused before anything recursive (validation, freezing) sees them. */
export const MAX_DEPTH = 200;

/** True when `v` nests more than `max` levels (iterative: no stack to overflow). */
export function depthOver(v: unknown, max: number): boolean {
  const values: unknown[] = [v];
  const depths: number[] = [1];
  while (values.length > 0) {
    const cur = values.pop() as Record<string, unknown>;
    const d = depths.pop()!;
    if (d > max) return true;
    if (typeof cur === 'object' && cur !== null) {
      for (const k in cur) {
        const x = cur[k];
        if (typeof x === 'object' && x !== null) {
          values.push(x);
          depths.push(d + 1);
        }
      }
    }
  }
  return false;
}

/** An optional DeleteOptions body (kubectl sends one); empty → {}. */
export function decodeOptional(raw: Buffer, contentType: string | undefined, protobuf?: ProtobufDecoder): Record<string, unknown> {
  if (raw.length === 0 || (mediaType(contentType) !== PROTOBUF_CONTENT_TYPE && raw.toString('utf8').trim() === '')) return {};
  return decodeObject(raw, contentType, protobuf);
}
