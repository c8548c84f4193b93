import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HYPERDISK_ML_SERIES, chooseDisk, parseImage } from './names.ts';
import { decidePlan, type Observed, type Target } from './plan.ts';

const image = parseImage('projects/img/global/images/lib-v1', 'p');
const choice = chooseDisk({ strategy: 'shared', node: 'n', image, machineType: 'g2-standard-8', prefix: 'sdfleet-lib', diskType: 'auto', hyperdiskMlSeries: HYPERDISK_ML_SERIES });
const target: Target = {
  node: 'n', project: 'p', zone: 'z', image, choice, devicePath: `/dev/disk/by-id/google-${choice.deviceName}`,
  mountDir: '/mnt/lib', fsType: 'ext4', mountOptions: ['ro', 'noload'], markerPath: '/mnt/.sdfleet-ready', verify: 'sizes', taintKey: 't',
};
const disk = { name: choice.name, status: 'READY', type: 'hyperdisk-ml', sourceImage: `https://www.googleapis.com/compute/v1/${image.path}`, accessMode: 'READ_ONLY_MANY', users: [] };
const attachment = { deviceName: choice.deviceName, diskName: choice.name, diskZone: 'z', mode: 'READ_ONLY', autoDelete: false };
const mount = { source: '/dev/sdb', target: '/mnt/lib', fsType: 'ext4', options: 'ro' };
const none: Observed = { instance: { name: 'n', machineType: 'g2-standard-8', disks: [] }, disk: undefined, attachment: undefined, device: undefined, mount: undefined, markerPresent: false };

describe('decidePlan', { timeout: 5000 }, () => {
  it('plans only what is missing', () => {
    const rows: [string, Partial<Observed>, string[]][] = [
      ['nothing yet', {}, ['create-disk', 'attach', 'wait-device', 'mount', 'verify', 'write-marker', 'remove-taint']],
      ['disk made by another node, still creating', { disk: { ...disk, status: 'CREATING' } }, ['wait-disk-ready', 'attach', 'wait-device', 'mount', 'verify', 'write-marker', 'remove-taint']],
      ['attached, link not there yet', { disk, attachment }, ['wait-device', 'mount', 'verify', 'write-marker', 'remove-taint']],
      ['after a reboot', { disk, attachment, device: '/dev/sdb', markerPresent: true }, ['clear-marker', 'mount', 'verify', 'write-marker', 'remove-taint']],
      ['mounted, marker lost', { disk, attachment, device: '/dev/sdb', mount }, ['verify', 'write-marker', 'remove-taint']],
      ['all done', { disk, attachment, device: '/dev/sdb', mount, markerPresent: true }, ['remove-taint']],
    ];
    for (const [what, o, steps] of rows) {
      assert.deepEqual(decidePlan(target, { ...none, ...o }).steps.map((s) => s.kind), steps, what);
    }
    assert.deepEqual(decidePlan({ ...target, taintKey: undefined }, { ...none, disk, attachment, device: '/dev/sdb', mount, markerPresent: true }).steps, []);
  });

  it('refuses states it must not paper over', () => {
    assert.throws(() => decidePlan(target, { ...none, disk: { ...disk, sourceImage: 'projects/x/global/images/y' } }), /made from projects\/x\/global\/images\/y, not projects\/img/);
    assert.throws(() => decidePlan(target, { ...none, disk: { ...disk, status: 'FAILED' } }), /is FAILED; delete it/);
    assert.throws(() => decidePlan(target, { ...none, disk, attachment, device: '/dev/sdc', mount }), /already has \/dev\/sdb \(ext4\) mounted/);
  });
});
