import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HYPERDISK_ML_SERIES, chooseDisk, machineSeries, parseImage, resourceName } from './names.ts';

const image = parseImage('projects/img/global/images/sdfleet-lib-v3', 'p');

describe('names', { timeout: 5000 }, () => {
  it('parses images and refuses families and junk', () => {
    assert.deepEqual(parseImage('https://www.googleapis.com/compute/v1/projects/img/global/images/lib-v1', 'p'), { project: 'img', name: 'lib-v1', path: 'projects/img/global/images/lib-v1' });
    assert.equal(parseImage('lib-v1', 'p').path, 'projects/p/global/images/lib-v1');
    assert.throws(() => parseImage('projects/img/global/images/family/lib', 'p'), /names an image family; pin one image/);
    assert.throws(() => parseImage('Not An Image', 'p'), /is not an image: expected projects\/<project>\/global\/images\/<name>/);
  });

  it('makes valid, deterministic names of at most 63 characters', () => {
    const long = 'gke-a-very-long-cluster-name-and-pool-name-0123456789-abcdef01-x7k2';
    const a = resourceName(`sdfleet-lib-${long}`, 'deadbeef');
    assert.ok(a.length <= 63, a);
    assert.match(a, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    assert.ok(a.endsWith('-deadbeef'));
    assert.equal(a, resourceName(`sdfleet-lib-${long}`, 'deadbeef'));
    assert.notEqual(a, resourceName(`sdfleet-lib-${long}9`, 'deadbeef'));
    assert.equal(resourceName('Node.Name_1'), 'node-name-1');
    assert.equal(resourceName('1abc'), 'd-1abc');
  });

  it('chooses the disk per strategy and machine series', () => {
    const base = { node: 'n1', image, prefix: 'sdfleet-lib', diskType: 'auto', hyperdiskMlSeries: HYPERDISK_ML_SERIES };
    const rows: [string, string, string, string, string | undefined, boolean][] = [
      // strategy, machine type, → type, name, accessMode, autoDelete
      ['per-node', 'g2-standard-8', 'pd-balanced', 'sdfleet-lib-n1-', undefined, true],
      ['shared', 'zones/z/machineTypes/g2-standard-8', 'hyperdisk-ml', 'sdfleet-lib-hdml-sdfleet-lib-v3', 'READ_ONLY_MANY', false],
      ['shared', 'a3-highgpu-8g', 'hyperdisk-ml', 'sdfleet-lib-hdml-sdfleet-lib-v3', 'READ_ONLY_MANY', false],
      ['shared', 'n1-standard-8', 'pd-balanced', 'sdfleet-lib-pd-balanced-sdfleet-lib-v3', undefined, false],
    ];
    for (const [strategy, machineType, type, name, accessMode, autoDelete] of rows) {
      const c = chooseDisk({ ...base, strategy: strategy as 'shared', machineType });
      assert.equal(c.type, type, `${strategy} ${machineType}`);
      assert.ok(c.name.startsWith(name), c.name);
      assert.equal(c.accessMode, accessMode);
      assert.equal(c.autoDelete, autoDelete);
      assert.equal(c.attachMode, 'READ_ONLY');
      assert.equal(c.deviceName, c.name);
    }
    assert.throws(() => chooseDisk({ ...base, strategy: 'shared', machineType: 'n1-standard-8', diskType: 'hyperdisk-ml' }), /series n1 .* cannot attach Hyperdisk ML/);
    assert.equal(chooseDisk({ ...base, strategy: 'shared', machineType: 'g2-standard-8', diskType: 'pd-ssd' }).type, 'pd-ssd');
    assert.equal(machineSeries('https://x/zones/z/machineTypes/c3d-standard-8'), 'c3d');
  });
});
