import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMount, readOnlyOptions } from './mounter.ts';

describe('mounter helpers', { timeout: 5000 }, () => {
  it('finds the topmost mount in mountinfo, with escapes', () => {
    const info = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '98 22 8:16 / /mnt/disks/sdfleet/lib ro,relatime shared:40 - ext4 /dev/sdb ro,noload',
      '99 98 8:32 / /mnt/disks/sdfleet/lib ro,relatime shared:41 - ext4 /dev/sdc ro,noload',
      '100 22 8:48 / /mnt/with\\040space ro - xfs /dev/sdd ro',
    ].join('\n');
    assert.deepEqual(findMount(info, '/mnt/disks/sdfleet/lib'), { source: '/dev/sdc', target: '/mnt/disks/sdfleet/lib', fsType: 'ext4', options: 'ro,relatime' });
    assert.equal(findMount(info, '/mnt/with space')?.source, '/dev/sdd');
    assert.equal(findMount(info, '/nope'), undefined);
  });

  it('read-only options per file system', () => {
    assert.deepEqual(readOnlyOptions('ext4'), ['ro', 'noload']);
    assert.deepEqual(readOnlyOptions('xfs'), ['ro', 'norecovery']);
    assert.deepEqual(readOnlyOptions('btrfs'), ['ro']);
  });
});
