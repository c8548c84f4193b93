import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../common/log.ts';
import { LibDiskTimeout, checkLibDisk, isMountPoint, waitForLibDisk } from './lib-disk.ts';

const root = await mkdtemp(join(tmpdir(), 'sdfleet-lib-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
async function libDir(marker?: object): Promise<string> {
  const dir = join(root, `lib${n++}`);
  await mkdir(dir);
  if (marker) await writeFile(join(dir, '.sdfleet-ready'), JSON.stringify(marker));
  return dir;
}
const good = { image: 'sdfleet-lib-v3', version: 'v3', mountedAt: '2026-11-29T10:00:00Z' };

describe('lib-disk gate', () => {
  it('is ready with a marker, the right version and the required paths', async () => {
    const dir = await libDir(good);
    await mkdir(join(dir, 'venv/bin'), { recursive: true });
    await writeFile(join(dir, 'venv/bin/python'), '');
    const c = await checkLibDisk({ dir, requireMount: false, version: 'v3', require: ['venv/bin/python'] });
    assert.deepEqual(c.missing, []);
    assert.equal(c.ready, true);
    assert.equal(c.marker?.image, 'sdfleet-lib-v3');
  });

  it('names each unmet condition', async () => {
    const dir = await libDir(good);
    const c = await checkLibDisk({ dir, requireMount: true, version: 'v4', require: ['venv/bin/python'] });
    assert.equal(c.ready, false);
    assert.equal(c.missing.length, 3);
    assert.match(c.missing[0]!, /is not a mount point/);
    assert.match(c.missing[1]!, /version is "v3" .* needs "v4"/);
    assert.match(c.missing[2]!, /venv\/bin\/python is missing/);
    const none = await checkLibDisk({ dir: join(root, 'absent'), requireMount: false });
    assert.match(none.missing[0]!, /does not exist/);
    const bare = await libDir();
    assert.match((await checkLibDisk({ dir: bare, requireMount: false })).missing[0]!, /marker .* is not there/);
    await writeFile(join(bare, '.sdfleet-ready'), '{"image": "x"');
    assert.match((await checkLibDisk({ dir: bare, requireMount: false })).missing[0]!, /not valid JSON/);
  });

  it('knows a mount point from a folder', async () => {
    assert.equal(await isMountPoint('/proc'), true);
    assert.equal(await isMountPoint(await libDir()), false);
  });

  it('sees a marker written later through file-system events, not the slow re-check', async () => {
    const dir = await libDir();
    const started = Date.now();
    const waiting = waitForLibDisk({ dir, requireMount: false }, { timeoutMs: 10_000, recheckMs: 60_000, log: silentLogger() });
    await new Promise((r) => setTimeout(r, 300));
    const writtenAt = Date.now();
    await writeFile(join(dir, '.sdfleet-ready'), JSON.stringify(good));
    const marker = await waiting;
    const seenAfter = Date.now() - writtenAt;
    assert.equal(marker.version, 'v3');
    assert.ok(Date.now() - started >= 300, 'not ready before the marker');
    assert.ok(seenAfter < 1000, `seen ${seenAfter} ms after the write`);
  });

  it('follows a lib dir that appears only later', async () => {
    const dir = join(root, `late${n++}`);
    const waiting = waitForLibDisk({ dir, requireMount: false }, { timeoutMs: 10_000, recheckMs: 60_000, log: silentLogger() });
    await new Promise((r) => setTimeout(r, 100));
    await mkdir(dir);
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(join(dir, '.sdfleet-ready'), JSON.stringify(good));
    assert.equal((await waiting).image, 'sdfleet-lib-v3');
  });

  it('times out listing what was still missing', async () => {
    const dir = await libDir({ ...good, version: 'v2' });
    await assert.rejects(
      waitForLibDisk({ dir, requireMount: false, version: 'v3' }, { timeoutMs: 300, log: silentLogger() }),
      (err: unknown) => {
        assert.ok(err instanceof LibDiskTimeout);
        assert.match(err.message, /lib disk not ready after 0 s: lib disk version is "v2"/);
        return true;
      },
    );
  });
});
