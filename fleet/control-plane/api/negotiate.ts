/**
 * Content negotiation the way the API server does it for the media types clients use:
 * plain JSON, YAML, `meta.k8s.io` Table (kubectl get) and PartialObjectMetadata(List).
 */
import { notAcceptable } from '../store/errors.ts';

export type ResponseFormat =
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'partial'; version: 'v1' | 'v1beta1'; list: boolean };

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

/** `a/b;x=y, c/d` → ranges in the order given (q-values are rare here and ignored). */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [type, ...rest] = part.split(';');
    const t = (type ?? '').trim().toLowerCase();
    if (!t) continue;
    const params: Record<string, string> = {};
    for (const p of rest) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
    }
    out.push({ type: t, params });
  }
  return out;
}

/**
 * The first acceptable format of an Accept header. `allowTransforms` is false where
 * Tables make no sense (discovery). Throws 406 when nothing offered is served.
 */
export function negotiate(header: string | undefined, allowTransforms = true): ResponseFormat {
  const ranges = parseAccept(header);
  if (ranges.length === 0) return { kind: 'json' };
  for (const r of ranges) {
    const as = r.params.as;
    if (r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') {
      if (!as) return { kind: 'json' };
      if (!allowTransforms || r.params.g !== 'meta.k8s.io') continue;
      const version = r.params.v === 'v1beta1' ? 'v1beta1' : r.params.v === 'v1' ? 'v1' : undefined;
      if (!version) continue;
      if (as === 'Table') return { kind: 'table', version };
      if (as === 'PartialObjectMetadata') return { kind: 'partial', version, list: false };
      if (as === 'PartialObjectMetadataList') return { kind: 'partial', version, list: true };
      continue;
    }
    if (r.type === 'application/yaml' && !as) return { kind: 'yaml' };
  }
  throw notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io (got ${header})`);
}

export function contentTypeOf(f: ResponseFormat): string {
  switch (f.kind) {
    case 'json':
      return 'application/json';
    case 'yaml':
      return 'application/yaml';
    case 'table':
      return `application/json;as=Table;v=${f.version};g=meta.k8s.io`;
    case 'partial':
      return `application/json;as=${f.list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata'};v=${f.version};g=meta.k8s.io`;
  }
}
