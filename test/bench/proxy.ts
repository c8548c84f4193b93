/**
 * `sdfleet bench proxy`: requests/s and latency to an instance stand-in directly, through
 * the sdfleet proxy, through configurable-http-proxy (npm) and through nginx (Debian), in
 * the same run, with wrk; WebSocket echo round trips through each; a large image download;
 * and the sdfleet proxy's memory while large bodies stream both ways.
 *
 * Every server is its own process on loopback: the backend (`proxy-backend.ts`), the
 * sdfleet proxy with a fixed route (`proxy-server.ts`: no sign-in, no Kubernetes),
 * configurable-http-proxy's CLI, nginx with a generated config in a temp dir. Cases are
 * interleaved (each round runs every target in turn) so that a change in the machine's
 * load hits all of them; with several rounds each case reports its median round.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { IMAGE_BYTES, SMALL_BYTES } from './proxy-backend.ts';
import { DEFAULT_TARGETS, direct, startBackend, startChp, startNginx, startNodeRelay, startSdfleet, type Backend, type Running, type TargetName } from './proxy-targets.ts';
import { cpuSeconds, ensureCommand, loadAverage, rssBytes, runWrk, type WrkResult } from './proxy-tools.ts';
import type { WsPhase, WsResult } from './proxy-ws-client.ts';

export interface ProxyBenchOptions {
  /** Targets, in the order each round runs them; `direct` is always added. Default all four. */
  targets: TargetName[];
  /** Concurrent connections of the 2 KB HTTP runs. Default [1, 50]. */
  connections: number[];
  /** Measured seconds per case. Default 5. */
  durationSec: number;
  /** Unmeasured seconds of the same load before each HTTP case. Default 1. */
  warmupSec: number;
  /** Rounds of every case; the median round (by rate) is reported. Default 1. */
  rounds: number;
  /** wrk threads (never more than connections). Default 1: the machine has two cores and three processes to feed. */
  wrkThreads: number;
  /** Concurrent WebSockets of the echo runs (empty: no WebSocket runs). Default [1, 50]. */
  wsConnections: number[];
  /** WebSocket message size, bytes. Default 128. */
  wsMessageBytes: number;
  /** The large download runs (8 MiB image, 1 connection). Default true. */
  download: boolean;
  /** MiB streamed each way through the sdfleet proxy while its RSS is watched (0: no memory run). Default 256. */
  memoryMb: number;
  progress?: (line: string) => void;
}

export const PROXY_BENCH_DEFAULTS: Omit<ProxyBenchOptions, 'progress'> = {
  targets: [...DEFAULT_TARGETS],
  connections: [1, 50],
  durationSec: 5,
  warmupSec: 1,
  rounds: 1,
  wrkThreads: 1,
  wsConnections: [1, 50],
  wsMessageBytes: 128,
  download: true,
  memoryMb: 256,
};

export interface HttpCase extends WrkResult {
  target: TargetName;
  connections: number;
  /** Round it was measured in (0-based). */
  round: number;
  /** CPU of the proxy's processes per request, µs (none for direct). */
  proxyCpuUsPerRequest?: number;
  /** Highest RSS of the proxy's processes during the case, MB. */
  proxyRssMb?: number;
  /** TCP connections the backend accepted during the measured run (pooling shows here). */
  upstreamConnections: number;
}

export interface WsCase extends WsResult {
  target: TargetName;
  connections: number;
}

export interface DownloadCase {
  target: TargetName;
  /** 10^6 bytes per second. */
  mbPerSec: number;
  /** One 8 MiB download, p50 and p99, ms. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  proxyRssMb?: number;
}

export interface MemoryCase {
  mib: number;
  rssAtRestMb: number;
  downloadPeakMb: number;
  uploadPeakMb: number;
  downloadMbPerSec: number;
  uploadMbPerSec: number;
}

export interface Goal {
  what: string;
  value: string;
  met: boolean;
}

export interface ProxyBenchResult {
  date: string;
  node: string;
  versions: Record<string, string>;
  loadBefore: string;
  loadAfter: string;
  /** Per target and connections, the median round (by req/s). */
  http: HttpCase[];
  /** Every round: ratios are taken within a round (same machine state), then their median. */
  httpRounds: HttpCase[];
  ws: WsCase[];
  download: DownloadCase[];
  memory?: MemoryCase;
  goals: Goal[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Samples the peak RSS of `pids()` every 50 ms until stopped. */
function rssSampler(pids: () => number[]): { stop(): number } {
  let peak = rssBytes(pids());
  const t = setInterval(() => { peak = Math.max(peak, rssBytes(pids())); }, 50);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, rssBytes(pids()));
    },
  };
}

function medianBy<T>(xs: T[], key: (x: T) => number): T {
  const s = [...xs].sort((a, b) => key(a) - key(b));
  return s[Math.floor((s.length - 1) / 2)]!;
}

const MB = 1e6;

/** The WebSocket load client, forked; runs one phase at a time. */
class WsClient {
  readonly #child: ChildProcess;
  constructor() {
    this.#child = fork(fileURLToPath(new URL('./proxy-ws-client.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  run(p: WsPhase): Promise<WsResult> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the WebSocket client did not finish ${p.url} within ${p.durationSec + 30} s`)), (p.durationSec + 30) * 1000);
      this.#child.once('message', (m: { ok?: WsResult; error?: string }) => {
        clearTimeout(t);
        if (m.ok) resolve(m.ok);
        else reject(new Error(`WebSocket run against ${p.url} failed: ${m.error}`));
      });
      this.#child.send(p);
    });
  }
  stop(): void {
    this.#child.kill();
  }
}

/** Streams `bytes` down (GET /bytes/n) or up (POST /upload) through `url`, with backpressure; MB/s. */
function transfer(url: string, direction: 'down' | 'up', bytes: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const done = (): void => resolve(bytes / MB / ((performance.now() - t0) / 1000));
    if (direction === 'down') {
      http.get(`${url}/bytes/${bytes}`, { agent: false }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => (n === bytes ? done() : reject(new Error(`downloaded ${n} of ${bytes} bytes`))));
        res.on('error', reject);
      }).on('error', reject);
      return;
    }
    const req = http.request(`${url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': bytes } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => ((JSON.parse(body) as { bytes: number }).bytes === bytes ? done() : reject(new Error(`upload arrived as ${body}`))));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 3);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  // wrk -v exits 1 and nginx -v writes to stderr: read both streams, whatever the exit.
  const out = (cmd: string, args: string[]): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  v.wrk = /wrk (\S+)/.exec(out('wrk', ['-v']))?.[1] ?? '?';
  v.nginx = /nginx\/(\S+)/.exec(out('nginx', ['-v']))?.[1] ?? '?';
  try {
    const pkg = createRequire(import.meta.url).resolve('configurable-http-proxy/package.json');
    v['configurable-http-proxy'] = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    v['configurable-http-proxy'] = '?';
  }
  return v;
}

export async function runProxyBench(opts: ProxyBenchOptions): Promise<ProxyBenchResult> {
  const o = { ...PROXY_BENCH_DEFAULTS, ...opts };
  const progress = o.progress ?? (() => undefined);
  const names: TargetName[] = ['direct', ...o.targets.filter((t) => t !== 'direct')];
  ensureCommand('wrk', 'wrk', progress);
  if (names.includes('nginx')) ensureCommand('nginx', 'nginx', progress);

  const loadBefore = loadAverage();
  const dir = await mkdtemp(join(tmpdir(), 'sdfleet-bench-proxy-'));
  const started: { stop(): Promise<void> | void }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.stop();
    started.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => { void stopAll().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const backend: Backend = await startBackend();
    started.push(backend);
    const targets: Running[] = [];
    for (const name of names) {
      const t = name === 'direct' ? direct(backend.port)
        : name === 'sdfleet' ? await startSdfleet(backend.port)
        : name === 'configurable-http-proxy' ? await startChp(backend.port)
        : name === 'node-relay' ? await startNodeRelay(backend.port)
        : await startNginx(backend.port, join(dir, 'nginx'));
      started.push(t);
      targets.push(t);
    }
    progress(`targets up: ${targets.map((t) => `${t.name} ${t.url}`).join(', ')}; load average ${loadBefore}`);

    // HTTP, 2 KB.
    const httpRounds = new Map<string, HttpCase[]>();
    for (let round = 0; round < o.rounds; round++) {
      for (const c of o.connections) {
        for (const t of targets) {
          if (o.warmupSec > 0) await runWrk({ url: `${t.url}/`, connections: c, threads: o.wrkThreads, durationSec: o.warmupSec });
          const conns0 = await backend.connections();
          const cpu0 = cpuSeconds(t.pids());
          const rss = rssSampler(t.pids);
          const r = await runWrk({ url: `${t.url}/`, connections: c, threads: o.wrkThreads, durationSec: o.durationSec });
          const peak = rss.stop();
          const cpu = cpuSeconds(t.pids()) - cpu0;
          const hc: HttpCase = { target: t.name, connections: c, round, ...r, upstreamConnections: (await backend.connections()) - conns0 };
          if (t.name !== 'direct') {
            hc.proxyCpuUsPerRequest = r.requests > 0 ? (cpu * 1e6) / r.requests : NaN;
            hc.proxyRssMb = peak / MB;
          }
          const key = `${t.name}/${c}`;
          httpRounds.set(key, [...(httpRounds.get(key) ?? []), hc]);
          progress(`round ${round + 1}, ${c} conn, ${t.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50Us.toFixed(0)} µs, p99 ${r.p99Us.toFixed(0)} µs${r.errors + r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''} (load ${loadAverage()})`);
        }
      }
    }
    const httpCases = [...httpRounds.values()].map((rs) => medianBy(rs, (x) => x.rps));

    // Large download: the 8 MiB image over one connection.
    const download: DownloadCase[] = [];
    if (o.download) {
      const rounds = new Map<TargetName, DownloadCase[]>();
      for (let round = 0; round < o.rounds; round++) {
        for (const t of targets) {
          const rss = rssSampler(t.pids);
          const r = await runWrk({ url: `${t.url}/image.png`, connections: 1, threads: 1, durationSec: o.durationSec });
          const peak = rss.stop();
          const d: DownloadCase = { target: t.name, mbPerSec: (r.rps * IMAGE_BYTES) / MB, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, errors: r.errors + r.non2xx };
          if (t.name !== 'direct') d.proxyRssMb = peak / MB;
          rounds.set(t.name, [...(rounds.get(t.name) ?? []), d]);
          progress(`round ${round + 1}, download, ${t.name}: ${d.mbPerSec.toFixed(0)} MB/s`);
        }
      }
      for (const rs of rounds.values()) download.push(medianBy(rs, (x) => x.mbPerSec));
    }

    // WebSocket echo round trips.
    const ws: WsCase[] = [];
    if (o.wsConnections.length > 0) {
      const client = new WsClient();
      started.push(client);
      const rounds = new Map<string, WsCase[]>();
      for (let round = 0; round < o.rounds; round++) {
        for (const c of o.wsConnections) {
          for (const t of targets) {
            const r = await client.run({ url: `${t.url.replace('http:', 'ws:')}/ws`, connections: c, durationSec: o.durationSec, size: o.wsMessageBytes });
            const key = `${t.name}/${c}`;
            rounds.set(key, [...(rounds.get(key) ?? []), { target: t.name, connections: c, ...r }]);
            progress(`round ${round + 1}, WebSocket ${c} conn, ${t.name}: ${r.rate.toFixed(0)} round trips/s, p50 ${r.p50Us.toFixed(0)} µs`);
          }
        }
      }
      for (const rs of rounds.values()) ws.push(medianBy(rs, (x) => x.rate));
    }

    // Memory of the sdfleet proxy while large bodies stream through it.
    let memory: MemoryCase | undefined;
    const ours = targets.find((t) => t.name === 'sdfleet');
    if (ours && o.memoryMb > 0) {
      const bytes = o.memoryMb * 1024 * 1024;
      await sleep(500);
      const rest = rssBytes(ours.pids());
      let rss = rssSampler(ours.pids);
      const down = await transfer(ours.url, 'down', bytes);
      const downPeak = rss.stop();
      rss = rssSampler(ours.pids);
      const up = await transfer(ours.url, 'up', bytes);
      const upPeak = rss.stop();
      memory = { mib: o.memoryMb, rssAtRestMb: rest / MB, downloadPeakMb: downPeak / MB, uploadPeakMb: upPeak / MB, downloadMbPerSec: down, uploadMbPerSec: up };
      progress(`memory: RSS ${memory.rssAtRestMb.toFixed(0)} MB at rest, ${memory.downloadPeakMb.toFixed(0)} MB peak down, ${memory.uploadPeakMb.toFixed(0)} MB peak up (${o.memoryMb} MiB each)`);
    }

    return {
      date: new Date().toISOString(),
      node: process.version,
      versions: versions(),
      loadBefore,
      loadAfter: loadAverage(),
      http: httpCases,
      httpRounds: [...httpRounds.values()].flat(),
      ws,
      download,
      ...(memory ? { memory } : {}),
      goals: goals([...httpRounds.values()].flat()),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

function find(cases: HttpCase[], target: TargetName, c: number): HttpCase | undefined {
  return cases.find((x) => x.target === target && x.connections === c);
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * `f(a, b)` for target `a` against target `b` at `c` connections, taken within each round
 * (both measured a few seconds apart) and then the median over rounds; NaN where missing.
 */
export function acrossRounds(cases: HttpCase[], a: TargetName, b: TargetName, c: number, f: (x: HttpCase, y: HttpCase) => number): number {
  const rounds = [...new Set(cases.map((x) => x.round ?? 0))];
  const values: number[] = [];
  for (const r of rounds) {
    const x = cases.find((k) => k.target === a && k.connections === c && (k.round ?? 0) === r);
    const y = cases.find((k) => k.target === b && k.connections === c && (k.round ?? 0) === r);
    if (x && y) values.push(f(x, y));
  }
  return median(values);
}

const rate = (x: HttpCase, y: HttpCase): number => x.rps / y.rps;
const addedP50 = (x: HttpCase, y: HttpCase): number => x.p50Us - y.p50Us;

/** The issue's targets, where the run has what they need (ratios within rounds, median over rounds). */
export function goals(cases: HttpCase[]): Goal[] {
  const out: Goal[] = [];
  const has = (t: TargetName, c: number): boolean => find(cases, t, c) !== undefined;
  if (has('sdfleet', 50) && has('direct', 50)) {
    const x = acrossRounds(cases, 'sdfleet', 'direct', 50, rate);
    out.push({ what: '≥ 0.5× direct at 50 connections', value: `${x.toFixed(2)}×`, met: x >= 0.5 });
  }
  if (has('sdfleet', 50) && has('configurable-http-proxy', 50)) {
    const x = acrossRounds(cases, 'sdfleet', 'configurable-http-proxy', 50, rate);
    out.push({ what: '≥ 5× configurable-http-proxy at 50 connections', value: `${x.toFixed(2)}×`, met: x >= 5 });
  }
  if (has('sdfleet', 1) && has('direct', 1)) {
    const added = acrossRounds(cases, 'sdfleet', 'direct', 1, addedP50);
    out.push({ what: '≤ 150 µs added at p50 at 1 connection', value: `${added.toFixed(0)} µs`, met: added <= 150 });
  }
  if (has('sdfleet', 50) && has('nginx', 50)) {
    const x = acrossRounds(cases, 'sdfleet', 'nginx', 50, rate);
    out.push({ what: 'stretch: as fast as nginx at 50 connections', value: `${x.toFixed(2)}× nginx`, met: x >= 1 });
  }
  return out;
}

const f0 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(0));
const f1 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(1));
const f2 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(2));

/** The Markdown report for docs/BENCHMARKS.md. */
export function proxyReport(r: ProxyBenchResult, o: Partial<ProxyBenchOptions> = {}): string {
  const opt = { ...PROXY_BENCH_DEFAULTS, ...o };
  const lines: string[] = [];
  const v = r.versions;
  lines.push(
    `Node ${v.node}, wrk ${v.wrk ?? '?'} (${opt.wrkThreads} thread), nginx ${v.nginx ?? '?'} (1 worker), configurable-http-proxy ${v['configurable-http-proxy'] ?? '?'}; ` +
      `${opt.durationSec} s per case after ${opt.warmupSec} s of warm-up, ${opt.rounds} round${opt.rounds > 1 ? 's, interleaved (each target\'s median round shown; ratios and added µs are taken within each round, then their median)' : ''}; ` +
      `load average ${r.loadBefore} before, ${r.loadAfter} after.`,
    '',
    `HTTP, ${SMALL_BYTES / 1024} KB response (GET /):`,
    '',
    '| target | conns | req/s | × direct | × c-h-p | p50 µs | p99 µs | added p50 µs | proxy CPU µs/req | proxy RSS MB | new upstream conns | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const all = r.httpRounds ?? r.http;
  for (const c of [...new Set(r.http.map((x) => x.connections))]) {
    for (const x of r.http.filter((h) => h.connections === c)) {
      const vsDirect = acrossRounds(all, x.target, 'direct', c, rate);
      const vsChp = acrossRounds(all, x.target, 'configurable-http-proxy', c, rate);
      const added = x.target === 'direct' ? NaN : acrossRounds(all, x.target, 'direct', c, addedP50);
      lines.push(`| ${x.target} | ${c} | ${f0(x.rps)} | ${f2(vsDirect)} | ${f2(vsChp)} | ${f0(x.p50Us)} | ${f0(x.p99Us)} | ${f0(added)} | ${f1(x.proxyCpuUsPerRequest)} | ${f0(x.proxyRssMb)} | ${x.upstreamConnections} | ${x.errors + x.non2xx} |`);
    }
  }
  if (r.ws.length > 0) {
    lines.push('', `WebSocket relay (${opt.wsMessageBytes} B text messages echoed, each connection one message at a time):`, '', '| target | conns | round trips/s | × direct | p50 µs | p99 µs | errors |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const x of r.ws) {
      const d = r.ws.find((w) => w.target === 'direct' && w.connections === x.connections);
      lines.push(`| ${x.target} | ${x.connections} | ${f0(x.rate)} | ${d ? f2(x.rate / d.rate) : '—'} | ${f0(x.p50Us)} | ${f0(x.p99Us)} | ${x.errors} |`);
    }
  }
  if (r.download.length > 0) {
    lines.push('', `Large download (${IMAGE_BYTES / 1024 / 1024} MiB image, 1 connection, back to back):`, '', '| target | MB/s | × direct | p50 ms | p99 ms | proxy RSS MB |', '| --- | --- | --- | --- | --- | --- |');
    const d = r.download.find((x) => x.target === 'direct');
    for (const x of r.download) lines.push(`| ${x.target} | ${f0(x.mbPerSec)} | ${d ? f2(x.mbPerSec / d.mbPerSec) : '—'} | ${f1(x.p50Ms)} | ${f1(x.p99Ms)} | ${f0(x.proxyRssMb)} |`);
  }
  if (r.memory) {
    const m = r.memory;
    lines.push(
      '',
      `sdfleet proxy memory, ${m.mib} MiB streamed through it each way (one request each): RSS ${f0(m.rssAtRestMb)} MB at rest, ` +
        `${f0(m.downloadPeakMb)} MB at most during the download (${f0(m.downloadMbPerSec)} MB/s), ${f0(m.uploadPeakMb)} MB at most during the upload (${f0(m.uploadMbPerSec)} MB/s).`,
    );
  }
  if (r.goals.length > 0) {
    lines.push('', 'Targets: ' + r.goals.map((g) => `${g.what}: ${g.met ? 'met' : 'not met'} (${g.value})`).join('; ') + '.');
  }
  return lines.join('\n');
}
