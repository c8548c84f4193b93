import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openApiDocument } from './openapi.ts';

/** Every `$ref` string in a document, with where it sits. */
function refs(node: unknown, at = '#', out: { at: string; ref: string }[] = []): { at: string; ref: string }[] {
  if (Array.isArray(node)) node.forEach((x, i) => refs(x, `${at}/${i}`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ at, ref: v });
      else refs(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    }
  }
  return out;
}

/** The value a local JSON pointer (`#/a/b`) names, or undefined. */
function resolve(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const part of pointer.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

describe('the OpenAPI document', () => {
  it('every $ref names a component that exists, and a reference has no siblings (OpenAPI 3.0 ignores them)', () => {
    const doc = openApiDocument();
    const all = refs(doc);
    assert.ok(all.length > 10, 'the document uses references');
    for (const { at, ref } of all) {
      assert.notEqual(resolve(doc, ref), undefined, `${at}: ${ref} does not resolve`);
      assert.deepEqual(Object.keys(resolve(doc, at) as object), ['$ref'], `${at}: a $ref with siblings`);
    }
  });

  it('POST /sessions documents 409 with Retry-After (session_releasing)', () => {
    const doc = openApiDocument() as { paths: Record<string, { post?: { responses: Record<string, { $ref?: string }> } }> };
    const ref = doc.paths['/sessions']!.post!.responses['409']!.$ref!;
    const res = resolve(doc, ref) as { description: string; headers: Record<string, unknown> };
    assert.match(res.description, /session_releasing/);
    assert.ok(res.headers['Retry-After']);
  });
});
