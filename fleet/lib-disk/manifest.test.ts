import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MANIFEST_FILE, parseManifest, verifyManifest } from './manifest.ts';
import { writeImageContent } from './testing/rig.ts';

describe('manifest', { timeout: 5000 }, () => {
  it('verifies sizes and checksums, and says what differs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdfleet-manifest-'));
    try {
      await writeImageContent(dir, 'v1');
      assert.equal((await verifyManifest({ dir, mode: 'full' })).checked, 3);
      assert.equal((await verifyManifest({ dir, mode: 'none', expectedVersion: 'v1' })).checked, 0);
      // Same size, other bytes: only the full check sees it.
      await writeFile(join(dir, 'webui/launch.py'), 'print("webuI")\n');
      assert.equal((await verifyManifest({ dir, mode: 'sizes' })).checked, 3);
      await assert.rejects(verifyManifest({ dir, mode: 'full' }), /webui\/launch\.py has sha256 /);
      await rm(join(dir, 'venv/bin/python'));
      await assert.rejects(verifyManifest({ dir, mode: 'sizes' }), /venv\/bin\/python is missing/);
      await rm(join(dir, MANIFEST_FILE));
      await assert.rejects(verifyManifest({ dir, mode: 'sizes' }), /has no manifest at .*sdfleet-manifest\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed manifests with the expected shape in the message', () => {
    assert.throws(() => parseManifest('{', 'm'), /not valid JSON \(expected \{version, files/);
    assert.throws(() => parseManifest('{"files": []}', 'm'), /lacks "version"/);
    assert.throws(() => parseManifest('{"version": "1", "files": [{"path": "a"}]}', 'm'), /files\[0\] needs "path" and "sha256"/);
    assert.throws(() => parseManifest('{"version": "1", "files": [{"path": "../etc/passwd", "sha256": "x"}]}', 'm'), /must be relative/);
  });
});
