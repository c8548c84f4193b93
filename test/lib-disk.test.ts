/**
 * The lib-disk agent across folders: `sdfleet lib-disk` as the DaemonSet runs it (flags,
 * NODE_NAME, GCE_METADATA_HOST) against the loopback fakes, and the marker the agent
 * writes is what the wrapper's gate accepts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SDFLEET_BIN } from '../common/self.ts';
import { NODE, startRig } from '../fleet/lib-disk/testing/rig.ts';
import { checkLibDisk } from '../sdk-wrapper/lib-disk.ts';

const run = promisify(execFile);

function outsideAPod(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  return env;
}

describe('sdfleet lib-disk', { timeout: 60_000 }, () => {
  it('--dry-run prints the plan from the metadata server and the Compute API, and changes nothing', async () => {
    const r = await startRig();
    try {
      const { stdout } = await run(process.execPath, [
        SDFLEET_BIN, 'lib-disk', '--dry-run', '--image', r.image.path, '--strategy', 'shared', '--compute-endpoint', r.compute.url,
        '--by-id-dir', r.byIdDir, '--mount-dir', r.mountDir, '--host-root', '', '--log-level', 'warn',
      ], { env: { ...outsideAPod(), NODE_NAME: NODE, GCE_METADATA_HOST: r.metadata.host }, timeout: 30_000 });
      assert.match(stdout, new RegExp(`plan for node ${NODE} \\(project test-project, zone us-central1-a, machine type g2-standard-8\\)`));
      assert.match(stdout, /1\. create disk sdfleet-lib-hdml-sdfleet-lib-2025-06-1 in us-central1-a: hyperdisk-ml READ_ONLY_MANY/);
      assert.match(stdout, /attach sdfleet-lib-hdml-sdfleet-lib-2025-06-1 to instance .* READ_ONLY/);
      assert.deepEqual([...new Set(r.compute.calls)].sort(), ['disks.get', 'instances.get']);
    } finally {
      await r.close();
    }
  });

  it('bad input: no node name, an image family', async () => {
    const noNode = await run(process.execPath, [SDFLEET_BIN, 'lib-disk', '--image', 'x', '--once'], { env: { ...process.env, NODE_NAME: '' }, timeout: 30_000 }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((noNode as { code: number }).code, 2);
    assert.match((noNode as { stderr: string }).stderr, /no node name: set NODE_NAME from the Downward API/);
    const family = await run(process.execPath, [SDFLEET_BIN, 'lib-disk', '--image', 'projects/p/global/images/family/lib', '--project', 'p', '--zone', 'us-central1-a', '--node-name', 'n', '--once'], { timeout: 30_000 }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((family as { code: number }).code, 2);
    assert.match((family as { stderr: string }).stderr, /names an image family; pin one image/);
  });

  it("the agent's marker is what the wrapper's lib-disk gate accepts", async () => {
    const r = await startRig();
    try {
      await r.agent().pass();
      const check = await checkLibDisk({ dir: r.mountDir, requireMount: false, marker: r.markerPath, version: '2025.06-1', require: ['venv/bin/python'] });
      assert.deepEqual(check.missing, []);
      assert.equal(check.ready, true);
    } finally {
      await r.close();
    }
  });
});
