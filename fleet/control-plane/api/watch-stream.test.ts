import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineCache } from './watch-stream.ts';

describe('LineCache', () => {
  it('encodes a line once per object and format for every watcher of the same turn, and keeps it no longer', async () => {
    const cache = new LineCache();
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', resourceVersion: '7' } };
    let made = 0;
    const make = (): string => `{"type":"MODIFIED","n":${++made}}\n`;
    const first = cache.get(obj, 'MODIFIED', make);
    assert.equal(cache.get(obj, 'MODIFIED', make), first, 'the same Buffer for the next watcher');
    assert.notEqual(cache.get(obj, 'DELETED', make), first, 'another format or type: another line');
    assert.equal(made, 2);
    await new Promise((resolve) => setImmediate(resolve));
    const later = cache.get(obj, 'MODIFIED', make);
    assert.equal(made, 3, 'encoded again in a later turn (a replay): nothing was kept');
    assert.equal(later.toString(), '{"type":"MODIFIED","n":3}\n');
  });
});
