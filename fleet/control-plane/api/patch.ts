/**
 * PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902, through
 * fast-json-patch), strategic merge patch approximated as a merge patch for the core
 * kinds (their patch directives dropped), server-side apply refused.
 */
import fastJsonPatch from 'fast-json-patch';
import { errorMessage } from '../../../common/errors.ts';
import { ApiError, badRequest, unsupportedMediaType } from '../store/errors.ts';
import { depthOver, MAX_DEPTH } from './body.ts';

export const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type PatchKind = keyof typeof PATCH_TYPES;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Which patch a Content-Type names. Server-side apply and anything else are 415 with a
 * message saying what to do; strategic merge only for `allowStrategic` (core kinds), as
 * the API server refuses it for custom resources.
 */
export function patchKindOf(contentType: string | undefined, allowStrategic: boolean): PatchKind {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === PATCH_TYPES.merge) return 'merge';
  if (ct === PATCH_TYPES.json) return 'json';
  if (ct === PATCH_TYPES.strategic && allowStrategic) return 'strategic';
  if (ct === PATCH_TYPES.apply) {
    throw unsupportedMediaType(
      "server-side apply (application/apply-patch+yaml) is not supported by sdfleet's control plane: use client-side `kubectl apply` (without --server-side), or a merge or JSON patch",
    );
  }
  const accepted = allowStrategic ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic] : [PATCH_TYPES.json, PATCH_TYPES.merge];
  throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

/** RFC 7386: `null` removes, objects merge recursively, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__') continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Drops strategic-merge directives (`$patch`, `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`). */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$') && k !== '__proto__') out[k] = stripDirectives(x);
  return out;
}

function parsePatchBody(body: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw badRequest(`the patch is not valid JSON: ${errorMessage(err)}`);
  }
  if (depthOver(v, MAX_DEPTH)) throw badRequest(`the patch is nested deeper than ${MAX_DEPTH} levels`);
  return v;
}

/**
 * Applies a patch to `doc` (a private copy, changed in place where possible) and returns
 * the result. 400 for a malformed patch, 422 when a JSON patch can't apply (failed test,
 * missing path), as the API server answers.
 */
export function applyPatch(kind: PatchKind, doc: unknown, body: string): unknown {
  const patch = parsePatchBody(body);
  switch (kind) {
    case 'merge':
    case 'strategic':
      if (!isObject(patch)) throw badRequest('a merge patch must be a JSON object');
      return mergePatch(doc, kind === 'strategic' ? stripDirectives(patch) : patch);
    case 'json': {
      if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
      let invalidOp: fastJsonPatch.JsonPatchError | undefined;
      try {
        invalidOp = fastJsonPatch.validate(patch as fastJsonPatch.Operation[], doc);
      } catch (err) {
        // validate() returns JsonPatchErrors but throws others: a path through __proto__ is one.
        const why = /prototype/.test(errorMessage(err)) ? 'a path may not go through __proto__ or constructor/prototype' : (errorMessage(err).split('\n')[0] ?? '');
        throw badRequest(`the JSON patch can't be applied: ${why}`);
      }
      if (invalidOp) {
        const code = invalidOp.name === 'TEST_OPERATION_FAILED' || invalidOp.name === 'OPERATION_PATH_UNRESOLVABLE' || invalidOp.name === 'OPERATION_FROM_UNRESOLVABLE' || invalidOp.name === 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX' || invalidOp.name === 'OPERATION_VALUE_OUT_OF_BOUNDS' ? 422 : 400;
        const msg = `the JSON patch can't be applied: ${invalidOp.name} at operation ${invalidOp.index ?? '?'}: ${invalidOp.message.split('\n')[0] ?? ''}`;
        throw code === 422 ? new ApiError(422, 'Invalid', msg) : badRequest(msg);
      }
      try {
        return fastJsonPatch.applyPatch(doc, patch as fastJsonPatch.Operation[], false, true).newDocument;
      } catch (err) {
        throw new ApiError(422, 'Invalid', `the JSON patch can't be applied: ${errorMessage(err).split('\n')[0] ?? ''}`);
      }
    }
    case 'apply':
      throw unsupportedMediaType('server-side apply is not supported');
  }
}
