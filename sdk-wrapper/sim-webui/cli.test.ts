import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { simWebuiCommand } from '../../cli/sim-webui.ts';

const repo = new URL('../../', import.meta.url).pathname;
const root = await mkdtemp(join(tmpdir(), 'sim-webui-cli-'));
const children = new Set<ChildProcess>();
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

interface SimProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  /** Resolves once stdout (logs included) has matched `re` after `from` characters. */
  waitFor(re: RegExp, from?: number): Promise<void>;
  /** Characters of stdout so far. */
  seen(): number;
}

/** Starts `sdfleet sim-webui`, resolves once its listening line names the URL. */
async function spawnSim(...args: string[]): Promise<SimProcess> {
  const child = spawn(process.execPath, ['bin/sdfleet.js', 'sim-webui', '--port', '0', '--boot-ms', '0', '--step-ms', '1', '--log-level', 'warn', '--output-dir', root, ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const waitFor = (re: RegExp, from = 0): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!re.test(out.slice(from))) return;
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      void exited.then((code) => reject(new Error(`sim-webui exited (${code}) before printing ${re}: ${out}${err}`)));
      check();
    });
  await waitFor(/^sim-webui listening on http:\/\/127\.0\.0\.1:\d+ /m);
  const url = /^sim-webui listening on (http:\/\/127\.0\.0\.1:\d+)/m.exec(out)![1]!;
  return { child, url, exited, waitFor, seen: () => out.length };
}

void test('--help says it is a stand-in for development and tests, not Stable Diffusion', () => {
  // Commander wraps lines at the terminal width: compare with whitespace folded.
  const help = simWebuiCommand().helpInformation().replace(/\s+/g, ' ');
  assert.match(help, /stand-in for the AUTOMATIC1111 Stable Diffusion WebUI, for development and tests/);
  assert.match(help, /NOT Stable Diffusion/);
});

void test('--fail-after 1: the generation is answered, then the process exits with code 1', async () => {
  const { url, exited } = await spawnSim('--fail-after', '1');
  const res = await fetch(`${url}/sdapi/v1/txt2img`, { method: 'POST', body: JSON.stringify({ prompt: 'crash', steps: 2, width: 64, height: 64 }) });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { images: string[] }).images.length, 1);
  assert.equal(await exited, 1);
});

void test('SIGUSR2 toggles the hang; SIGTERM stops with exit code 0', async () => {
  const { child, url, exited, waitFor, seen } = await spawnSim();
  assert.equal((await fetch(`${url}/internal/ping`)).status, 200);
  // A signal is handled in the child's own time: wait for its log line before probing.
  let from = seen();
  child.kill('SIGUSR2');
  await waitFor(/hung: accepting connections/, from);
  await assert.rejects(fetch(`${url}/internal/ping`, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
  from = seen();
  child.kill('SIGUSR2');
  await waitFor(/hang over/, from);
  assert.equal((await fetch(`${url}/internal/ping`, { signal: AbortSignal.timeout(2000) })).status, 200);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
