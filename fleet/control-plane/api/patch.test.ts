import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../store/errors.ts';
import { applyPatch } from './patch.ts';

describe('applyPatch', () => {
  // Found by test/fuzz/control-plane-api.test.ts: fast-json-patch throws (not returns) for
  // these, and the API answered 500 with its advice to turn the protection off.
  it('a JSON patch whose path goes through __proto__ is a 400 saying so', () => {
    for (const op of [
      { op: 'copy', from: '/metadata', path: '/__proto__/x' },
      { op: 'add', path: '/__proto__/polluted', value: 1 },
      { op: 'test', path: '/metadata/__proto__', value: {} },
    ]) {
      assert.throws(
        () => applyPatch('json', { metadata: { name: 'a' } }, JSON.stringify([op])),
        (err: unknown) => isApiError(err) && err.status.code === 400 && /may not go through __proto__ or constructor\/prototype/.test(err.status.message ?? ''),
        JSON.stringify(op),
      );
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a valid JSON patch still applies', () => {
    assert.deepEqual(applyPatch('json', { spec: { replicas: 1 } }, '[{"op":"replace","path":"/spec/replicas","value":2}]'), { spec: { replicas: 2 } });
  });
});
