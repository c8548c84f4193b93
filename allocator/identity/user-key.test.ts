import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelValueErrors } from '../../fleet/kube/names.ts';
import { userKey } from './user-key.ts';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('userKey', () => {
  it('is a valid label value and folder name for any id', () => {
    for (const id of ['alice', 'Alice', 'alice@example.com', 'Zoë O.-_@x 1', '../../etc/passwd', 'x'.repeat(300), '日本語']) {
      const k = userKey(id);
      assert.ok(k.length <= 63 && LABEL_VALUE.test(k), k);
      assert.deepEqual(labelValueErrors(k), []);
      assert.match(k, /^u-[0-9a-f]{20}$/);
    }
  });

  it('is stable and tells ids apart', () => {
    // Pinned: a change here would orphan every running session and every user's images.
    assert.equal(userKey('alice@example.com'), 'u-ff8d9819fc0e12bf0d24');
    assert.equal(userKey('alice'), userKey('alice'));
    assert.notEqual(userKey('alice'), userKey('Alice'));
    assert.notEqual(userKey('alice'), userKey('alice '));
  });

  it('refuses an empty id', () => {
    assert.throws(() => userKey(''), /non-empty/);
  });
});
