import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../../common/log.ts';
import { GpuPool, gpusRequested, parseGpuList } from './gpus.ts';
import { HostPortAllocator } from './host-ports.ts';
import { ProcessRunner, expand, isRunning, logFileOf, pidFileOf } from './process-runner.ts';
import type { RunSpec } from './runner.ts';

const dir = await mkdtemp(join(tmpdir(), 'sdfleet-runner-'));
after(() => rm(dir, { recursive: true, force: true }));
const runner = new ProcessRunner({ logDir: dir, log: silentLogger() });
after(() => runner.stopAll());

const spec = (name: string, script: string, extra: Partial<RunSpec> = {}): RunSpec => ({
  key: `default/${name}`, namespace: 'default', name,
  container: { name: 'c', command: ['sh', '-c', script], env: [{ name: 'GREETING', value: 'hello $(WHO)' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] },
  env: { WHO: 'world' }, terminationGracePeriodSeconds: 2, ...extra,
});


describe('ProcessRunner', () => {
  it('runs the container command with its env, logs to a file, and reports the exit', async () => {
    const h = await runner.start(spec('gs-a', 'echo "$GREETING from $POD"; echo oops >&2; exit 3'));
    const exit = await h.exited;
    assert.equal(exit.code, 3);
    assert.deepEqual(exit.lastLines, ['hello world from gs-a', 'oops']);
    const log = await readFile(logFileOf(dir, 'default', 'gs-a'), 'utf8');
    assert.match(log, /hello world from gs-a\noops\n/);
    assert.match(log, /exited: code 3/);
  });

  it('stop() ends the whole process group, children included', async () => {
    const h = await runner.start(spec('gs-b', 'sleep 30 & echo $! ; wait'));
    await new Promise((r) => setTimeout(r, 200));
    const log = await readFile(logFileOf(dir, 'default', 'gs-b'), 'utf8');
    const childPid = Number(/\n(\d+)\n/.exec(log)?.[1]);
    assert.ok(isRunning(childPid), 'the grandchild runs');
    await runner.stop('default/gs-b');
    assert.equal(runner.running('default/gs-b'), false);
    assert.equal((await h.exited).signal, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(isRunning(childPid), false, 'the grandchild is gone too');
  });

  it('SIGKILL after the grace period for a process that ignores SIGTERM', async () => {
    const h = await runner.start(spec('gs-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done', { terminationGracePeriodSeconds: 0.3 }));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await runner.stop('default/gs-c');
    assert.ok(Date.now() - t0 >= 250);
    assert.equal((await h.exited).signal, 'SIGKILL');
  });

  it('a leader killed with SIGKILL takes its group with it (a killed wrapper leaves no WebUI)', async () => {
    // The grandchild keeps the output pipe open: the exit must not wait for it.
    const h = await runner.start(spec('gs-k', 'sleep 30 & echo $! ; wait'));
    await new Promise((r) => setTimeout(r, 200));
    const childPid = Number(/\n(\d+)\n/.exec(await readFile(logFileOf(dir, 'default', 'gs-k'), 'utf8'))?.[1]);
    assert.ok(isRunning(childPid), 'the grandchild runs');
    assert.ok(existsSync(pidFileOf(dir, 'default', 'gs-k')), 'a pid file while it runs');
    process.kill(h.pid, 'SIGKILL');
    assert.equal((await h.exited).signal, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(isRunning(childPid), false, 'the grandchild is gone too');
    assert.equal(existsSync(pidFileOf(dir, 'default', 'gs-k')), false, 'no pid file after the exit');
  });

  it('stopLeftover() ends the group a previous runner left running, and only that', async () => {
    const h = await runner.start(spec('gs-l', 'sleep 30 & echo $! ; wait'));
    await new Promise((r) => setTimeout(r, 200));
    const childPid = Number(/\n(\d+)\n/.exec(await readFile(logFileOf(dir, 'default', 'gs-l'), 'utf8'))?.[1]);
    // The runner that started it still follows it: nothing to do.
    assert.equal(await runner.stopLeftover('default', 'gs-l'), undefined);
    // A new runner over the same logs (a control plane restarted after a SIGKILL) did not start it.
    const next = new ProcessRunner({ logDir: dir, log: silentLogger() });
    assert.equal(await next.stopLeftover('default', 'gs-l'), h.pid);
    assert.equal(isRunning(h.pid), false);
    assert.equal(isRunning(childPid), false, 'its whole group');
    await h.exited;
    assert.equal(await next.stopLeftover('default', 'gs-l'), undefined, 'once');
    assert.equal(await next.stopLeftover('default', 'never-ran'), undefined);
  });

  it('a command that cannot start is a clear error', async () => {
    await assert.rejects(
      runner.start({ ...spec('gs-d', ''), container: { name: 'c', command: ['/nonexistent/webui'] } }),
      /GameServer default\/gs-d: cannot start \/nonexistent\/webui: spawn \/nonexistent\/webui ENOENT/,
    );
    await assert.rejects(runner.start({ ...spec('gs-e', ''), container: { name: 'c' } }), /has no command/);
  });

  it('expands $(VAR) as Kubernetes does', () => {
    assert.equal(expand('--port $(PORT) $$(PORT) $(NOPE)', { PORT: '7001' }), '--port 7001 $(PORT) $(NOPE)');
  });
});

describe('GPU pool and host ports', () => {
  it('hands out whole GPUs, waits when none are free, frees them', () => {
    const pool = new GpuPool(parseGpuList('0,1'));
    assert.deepEqual(pool.acquire('a', 1), ['0']);
    assert.deepEqual(pool.acquire('a', 1), ['0'], 'idempotent');
    assert.deepEqual(pool.acquire('b', 1), ['1']);
    assert.equal(pool.acquire('c', 1), undefined);
    pool.release('a');
    assert.deepEqual(pool.acquire('c', 1), ['0']);
    assert.deepEqual(parseGpuList('all:3'), ['0', '1', '2']);
    assert.throws(() => parseGpuList('0,$x'), /device ids/);
    assert.equal(gpusRequested({ limits: { 'nvidia.com/gpu': 1 } }), 1);
    assert.equal(gpusRequested(undefined), 0);
  });

  it('allocates distinct free ports from the range and says when it is exhausted', async () => {
    const ports = new HostPortAllocator({ min: 21000, max: 21003 });
    const a = await ports.allocate(3);
    assert.equal(new Set(a).size, 3);
    assert.ok(a.every((p) => p >= 21000 && p <= 21003));
    await assert.rejects(ports.allocate(2), /no free host port left in 21000-21003/);
    ports.release(a);
    assert.equal((await ports.allocate(4)).length, 4);
  });

});

describe('ProcessRunner and the process it lives in', () => {
  it('a run outlives its runner killed -9 and keeps writing its log (no pipe through the runner)', async () => {
    const { spawn } = await import('node:child_process');
    const host = join(dir, 'host.mts');
    const { writeFile } = await import('node:fs/promises');
    const runnerUrl = new URL('./process-runner.ts', import.meta.url).href;
    await writeFile(host, `
      import { ProcessRunner } from '${runnerUrl}';
      const r = new ProcessRunner({ logDir: ${JSON.stringify(dir)}, log: { debug() {}, info() {}, warn() {}, error() {} } as never });
      const h = await r.start({ key: 'default/orphan', namespace: 'default', name: 'orphan', container: { name: 'c', command: ['sh', '-c', 'echo started; while true; do echo tick; sleep 0.1; done'] }, env: {}, terminationGracePeriodSeconds: 1 });
      process.send!(h.pid);
    `);
    const hostProc = spawn(process.execPath, ['--import', 'tsx', host], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const pid = await new Promise<number>((resolve, reject) => {
      hostProc.once('message', (m) => resolve(m as number));
      hostProc.once('exit', (code) => reject(new Error(`the host exited (${code}) before starting the run`)));
    });
    try {
      hostProc.kill('SIGKILL');
      await new Promise((r) => hostProc.once('exit', r));
      const file = logFileOf(dir, 'default', 'orphan');
      const before = readFileSync(file, 'utf8').length;
      await new Promise((r) => setTimeout(r, 600));
      assert.ok(isRunning(pid), 'the run lives on after its runner died');
      assert.ok(readFileSync(file, 'utf8').length > before, 'and its output still reaches its log file');
    } finally {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});
