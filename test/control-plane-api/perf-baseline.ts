/**
 * A quick performance baseline of the store and the API (not part of the test suite):
 *   node --expose-gc --import tsx test/control-plane-api/perf-baseline.ts [gameServers=5000] [httpRequests=20000]
 * Prints timings of store operations over N GameServers, RSS, and HTTP throughput and
 * latency from a separate client process with 50 keep-alive connections: closed loop
 * (as fast as 50 clients go) for GET, merge PATCH and GameServerAllocation (through a
 * minimal in-process handler: index lookup + mutate, the shape of the allocation
 * benchmark), and open loop at a fixed 2,000 allocations/s.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startApiServer } from '../../fleet/control-plane/api/server.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { sampleGameServer } from '../../fleet/control-plane/resources/testing.ts';
import { openStore } from '../../fleet/control-plane/store/open-store.ts';

const CONCURRENCY = 50;
const N = Number(process.argv[2] ?? 5000);
const HTTP_N = Number(process.argv[3] ?? 20000);
const GS = RESOURCES.gameServers;

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function time<T>(label: string, ops: number, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(52)} ${ms.toFixed(1).padStart(8)} ms  ${((ms * 1000) / ops).toFixed(2).padStart(8)} µs/op`);
  return out;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-perf-'));
const rss0 = process.memoryUsage().rss;
const store = openStore({ dataDir });
store.addIndex(GS, 'fleet-state', (o) => [`${o.metadata.labels?.['agones.dev/fleet'] ?? ''}/${String((o.status as { state?: string } | undefined)?.state ?? '')}`]);

time(`create ${N} GameServers (batched persistence)`, N, () => {
  for (let i = 0; i < N; i++) store.create(GS, { ...sampleGameServer(`gs-${i}`, { labels: { 'agones.dev/fleet': 'webui' } }), status: { state: 'Ready' } });
});
await store.flush();
global.gc?.();
const rss1 = process.memoryUsage().rss;
console.log(`RSS: ${mb(rss0)} before, ${mb(rss1)} with ${N} GameServers (+${mb(rss1 - rss0)})`);

time('get × 100,000', 100_000, () => {
  for (let i = 0; i < 100_000; i++) store.get(GS, 'default', `gs-${i % N}`);
});
time(`list all (${N})`, 1, () => store.list(GS));
time(`list labelSelector agones.dev/fleet=webui (${N})`, 1, () => store.list(GS, { labelSelector: 'agones.dev/fleet=webui' }));
time(`byIndex webui/Ready, all ${N} results × 1,000`, 1000, () => {
  for (let i = 0; i < 1000; i++) store.byIndex(GS, 'fleet-state', 'webui/Ready');
});
time('byIndex webui/Ready, limit 1 × 100,000', 100_000, () => {
  for (let i = 0; i < 100_000; i++) store.byIndex(GS, 'fleet-state', 'webui/Ready', 1);
});
const M = 20_000;
time(`mutate (allocate + release) × ${M}`, M, () => {
  for (let i = 0; i < M; i++) {
    const name = `gs-${i % N}`;
    store.mutate(GS, 'default', name, (c) => {
      const st = c.status as { state: string };
      st.state = st.state === 'Ready' ? 'Allocated' : 'Ready';
      c.metadata.labels = { ...c.metadata.labels, 'sdfleet.dev/user': st.state === 'Allocated' ? `u${i}` : '' };
      return c;
    });
  }
});
const watchEvents = { n: 0 };
const w = store.watch(GS, { resourceVersion: store.currentResourceVersion() }, () => watchEvents.n++);
time(`mutate × ${M} with one in-process watcher`, M, () => {
  for (let i = 0; i < M; i++) store.mutate(GS, 'default', `gs-${i % N}`, (c) => ({ ...c, metadata: { ...c.metadata, annotations: { n: String(i) } } }));
});
w.stop();
console.log(`watcher saw ${watchEvents.n} events`);
await store.flush();
console.log(`RSS after store work: ${mb(process.memoryUsage().rss)}`);

// ---- HTTP
const api = await startApiServer({ store, port: 0 });
let allocated = 0;
api.registerCreateHandler(RESOURCES.gameServerAllocations, (gsa) => {
  const ready = store.byIndex(GS, 'fleet-state', 'webui/Ready', 1);
  const pick = ready[0];
  if (!pick) return { ...gsa, status: { state: 'UnAllocated' } };
  const gs = store.mutate(GS, 'default', String(pick.metadata.name), (c) => {
    (c.status as { state: string }).state = 'Allocated';
    return c;
  });
  allocated++;
  // Keep the pool from running dry: release it again (the benchmark's wrapper would).
  setImmediate(() => store.mutate(GS, 'default', String(gs.metadata.name), (c) => ({ ...c, status: { state: 'Ready' } })));
  return { ...gsa, status: { state: 'Allocated', gameServerName: gs.metadata.name } };
});
// A watcher over HTTP, as an informer would hold one, so writes pay for fan-out.
const watchReq = http.get(`${api.url}/apis/agones.dev/v1/namespaces/default/gameservers?watch=true&resourceVersion=${store.currentResourceVersion()}`, (res) => res.resume());
watchReq.on('error', () => undefined);

function runClient(mode: string, n: number, rate = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = new URL('./load-client.mjs', import.meta.url).pathname;
    const child = spawn(process.execPath, [script, api.url, mode, String(n), String(rate), String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`client exited ${code}`))));
  });
}
console.log(`HTTP, client in another process, ${CONCURRENCY} keep-alive connections, ${HTTP_N} requests each:`);
console.log(await runClient('get', HTTP_N));
console.log(await runClient('patch', HTTP_N));
console.log(await runClient('allocate', HTTP_N));
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
console.log(await runClient('allocate', HTTP_N, 2000));
loopDelay.disable();
console.log(`  server event-loop delay during it: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`);
console.log(`allocations handled: ${allocated}; RSS at the end: ${mb(process.memoryUsage().rss)}`);
{
  const t0 = performance.now();
  await new Promise<void>((resolve) => http.get(`${api.url}/apis/agones.dev/v1/namespaces/default/gameservers`, (res) => res.resume().on('end', resolve)));
  console.log(`${`HTTP GET list of ${N} GameServers`.padEnd(52)} ${(performance.now() - t0).toFixed(1).padStart(8)} ms`);
}

watchReq.destroy();
await api.stop();
await store.close();
fs.rmSync(dataDir, { recursive: true, force: true });

