/**
 * `sdfleet up`, as a newcomer runs it: the control plane comes up, the default Fleet's
 * instances turn Ready with their phase tables printed, the kubeconfig works, `sdfleet
 * logs` reads an instance's output, and Ctrl-C stops everything.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { SDFLEET_BIN } from '../common/self.ts';
import { isListening } from './helpers/net.ts';

const run = promisify(execFile);

describe('sdfleet up', () => {
  it('brings up the fleet and the allocator, prints what to do, and stops everything on SIGINT', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sdfleet-up-'));
    const { child, output } = await upWithTwoReady(dataDir);
    const out = output();
    try {
      assert.match(out, /Kubernetes API:\s+http:\/\/127\.0\.0\.1:\d+/);
      const web = /Web page:\s+(http:\/\/127\.0\.0\.1:\d+)\/_sdfleet\//.exec(out)?.[1];
      assert.ok(web, 'the web page address is printed');
      const startPage = await fetch(`${web}/_sdfleet/`);
      assert.equal(startPage.status, 200);
      assert.match(await startPage.text(), /<title>sdfleet/);
      assert.match(out, /export KUBECONFIG=.*kubeconfig/);
      assert.match(out, /Created: fleets\/sd-webui, fleetautoscalers\/sd-webui-autoscaler/);
      assert.match(out, /webui-start\s+\d+/);
      const ports = [...out.matchAll(/(sd-webui-[a-z0-9]{5}) is Ready at http:\/\/127\.0\.0\.1:(\d+)\//g)].map((m) => ({ name: m[1]!, port: Number(m[2]) }));
      for (const p of ports) assert.equal((await fetch(`http://127.0.0.1:${p.port}/internal/ping`)).status, 200);
      const logs = await run(process.execPath, [SDFLEET_BIN, 'logs', ports[0]!.name, '--data-dir', dataDir, '--tail', '50']);
      assert.match(logs.stdout, /connected to the Agones SDK/);
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
      for (const p of ports) assert.equal(await isListening(p.port), false, `instance on ${p.port} stopped`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a second signal while stopping exits at once, and kills the instances rather than leave them running', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sdfleet-up-'));
    const { child, output } = await upWithTwoReady(dataDir);
    try {
      const ports = [...output().matchAll(/is Ready at http:\/\/127\.0\.0\.1:(\d+)\//g)].map((m) => Number(m[1]));
      assert.equal(ports.length, 2);
      // 'close': the exit code once its output is read to the end ('exit' may come before).
      const exited = once(child, 'close');
      // Ctrl-C, then SIGTERM before the stop can finish (two signals of one kind sent back
      // to back may arrive as one; of two kinds, both are handled, the second mid-stop).
      child.kill('SIGINT');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 130, output());
      assert.match(output(), /SIG(INT|TERM) again: exiting now \(the instances were killed\)/, "whichever of the two is handled second");
      // SIGKILL to their process groups: gone within moments, not at the next start.
      const end = Date.now() + 5000;
      while (Date.now() < end && (await Promise.all(ports.map(isListening))).some(Boolean)) await new Promise((r) => setTimeout(r, 100));
      for (const p of ports) assert.equal(await isListening(p), false, `instance on ${p} killed`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('sdfleet logs says what is wrong with an unknown GameServer', async () => {
    await assert.rejects(run(process.execPath, [SDFLEET_BIN, 'logs', 'nope', '--data-dir', '/nonexistent']), (err: { stderr: string; code: number }) => {
      assert.match(err.stderr, /no log for GameServer default\/nope/);
      assert.equal(err.code, 2);
      return true;
    });
  });
});

/** `sdfleet up` on `dataDir`, once both instances are Ready; `output` is all it printed so far. */
async function upWithTwoReady(dataDir: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [SDFLEET_BIN, 'up', '--data-dir', dataDir, '--api-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 60_000;
  while ((out.match(/is Ready at http:\/\/127\.0\.0\.1:\d+\//g)?.length ?? 0) < 2 && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  if (out.match(/is Ready at/g)?.length !== 2) {
    child.kill('SIGINT');
    await once(child, 'exit');
    assert.fail(`two instances Ready within 60 s:\n${out}`);
  }
  return { child, output: () => out };
}

