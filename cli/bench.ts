import { Command, InvalidArgumentError, Option } from 'commander';
import { ALLOCATION_BENCH_DEFAULTS } from '../test/bench/allocation-options.ts';
import { PROXY_BENCH_DEFAULTS, proxyReport, runProxyBench } from '../test/bench/proxy.ts';
import { TARGET_NAMES, type TargetName } from '../test/bench/proxy-targets.ts';
import { intOption, secondsOption } from './run.ts';

// Every bench is imported when it runs: start drives Chromium through playwright-core, a
// devDependency, and every other command (in an image with production dependencies only) must
// load without it; and no sdfleet process should carry a bench's modules (see cli/README.md).

/** `1,10,50,200` → [1, 10, 50, 200] (each 1–1,000). */
function concurrencyList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    throw new InvalidArgumentError(`--concurrency takes a comma-separated list of whole numbers from 1 to 1000 (e.g. 1,10,50,200), got "${value}".`);
  }
  return out;
}

/** `sdfleet bench <name>`: the benchmarks whose results go into docs/BENCHMARKS.md. */
export function benchCommand(): Command {
  const bench = new Command('bench').description('Run a benchmark (loopback only, bounded, stops by itself); see docs/BENCHMARKS.md');
  bench
    .command('ready-gate')
    .description('WebUI answering → Ready seen by a watcher, against a gate that polls every 2 s (the seed)')
    .option('--runs <n>', 'runs of the sdfleet wrapper', intOption('--runs', 1, 10_000), 50)
    .option('--baseline-runs <n>', 'runs of the polling baseline', intOption('--baseline-runs', 0, 10_000), 20)
    .option('--baseline-poll-ms <ms>', "the baseline's polling interval", intOption('--baseline-poll-ms', 1, 60_000), 2000)
    .option('--json', 'print the result as JSON')
    .action(async (f: { runs: number; baselineRuns: number; baselinePollMs: number; json?: boolean }) => {
      const opts = { runs: f.runs, baselineRuns: f.baselineRuns, baselinePollMs: f.baselinePollMs, progress: (l: string) => process.stderr.write(l + '\n') };
      const { readyGateReport, runReadyGateBench } = await import('../test/bench/ready-gate.ts');
      const result = await runReadyGateBench(opts);
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : readyGateReport(result, opts)) + '\n');
    });
  const d = ALLOCATION_BENCH_DEFAULTS;
  bench
    .command('allocation')
    .description(
      'GameServerAllocations/s and latency against a Fleet of Ready GameServers on the embedded control plane ' +
        '(real API and store, persistence on, no processes), from a load client in another process; beside a bare ' +
        'loopback HTTP server in the same run',
    )
    .option('--gameservers <n>', 'Ready GameServers in the Fleet', intOption('--gameservers', 1, 20_000), d.gameServers)
    .addOption(new Option('--concurrency <list>', 'closed-loop runs: concurrent clients, e.g. 1,10,50,200').argParser(concurrencyList).default(d.concurrency, d.concurrency.join(',')))
    .option('--duration <s>', 'measured seconds per run (pool refills not counted)', secondsOption('--duration'), d.durationSec)
    .option('--count <n>', 'requests per run at most (0: the duration alone bounds it)', intOption('--count', 0, 10_000_000), d.count)
    .option('--rate <n>', 'open-loop run at this many allocations/s (0: none)', intOption('--rate', 0, 100_000), d.rate)
    .option('--rate-connections <n>', 'connections of the open-loop run', intOption('--rate-connections', 1, 1000), d.rateConcurrency)
    .option('--warmup <n>', 'unmeasured requests to each server first', intOption('--warmup', 0, 1_000_000), d.warmup)
    .option('--no-baseline', 'skip the bare HTTP baseline')
    .option('--sdk-servers', 'run an Agones SDK server per GameServer, as with real processes')
    .addOption(
      new Option('--client <http>', "the load client's HTTP: lean (a few µs a request) or node-http (Node's http.request, ~70 µs)")
        .choices(['lean', 'node-http'])
        .default(d.client),
    )
    .option('--cpu-prof-dir <dir>', 'write a CPU profile of the server per measured run there')
    .option('--json', 'print the result as JSON')
    .action(async (f: { gameservers: number; concurrency: number[]; duration: number; count: number; rate: number; rateConnections: number; warmup: number; baseline: boolean; sdkServers?: boolean; client: 'lean' | 'node-http'; cpuProfDir?: string; json?: boolean }) => {
      if (f.duration <= 0 && f.count === 0) throw new InvalidArgumentError('give --duration above 0 or a --count: a run must end.');
      const opts = {
        gameServers: f.gameservers,
        concurrency: f.concurrency,
        durationSec: f.duration > 0 ? f.duration : 3600,
        count: f.count,
        rate: f.rate,
        rateConcurrency: f.rateConnections,
        warmup: f.warmup,
        baseline: f.baseline,
        client: f.client,
        ...(f.sdkServers ? { sdkServers: true } : {}),
        ...(f.cpuProfDir ? { cpuProfileDir: f.cpuProfDir } : {}),
        progress: (l: string) => process.stderr.write(l + '\n'),
      };
      const { allocationReport, runAllocationBench } = await import('../test/bench/allocation.ts');
      const result = await runAllocationBench(opts);
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : allocationReport(result, opts)) + '\n');
    });
  bench
    .command('sessions')
    .description(
      'POST /sessions → the instance routable through the proxy, for many users a given number at a time: the ' +
        'embedded control plane (real API and controllers, no processes), the allocator in its own process, a load ' +
        'client in a third',
    )
    .option('--users <n>', 'users per run, each starting one session on its own Ready instance', intOption('--users', 1, 20_000), 1000)
    .addOption(new Option('--concurrency <list>', 'one run each: users starting at once, e.g. 1,10,50,200').argParser(concurrencyList).default([50], '50'))
    .option('--warmup <n>', 'unmeasured sessions first, 50 at a time, by users of their own (JIT, connection pools)', intOption('--warmup', 0, 20_000), 1000)
    .option('--no-floor', 'skip the same runs against a stand-in making the same hops with no sdfleet logic (the least this machine gives)')
    .option('--json', 'print the result as JSON')
    .action(async (f: { users: number; concurrency: number[]; warmup: number; floor?: boolean; json?: boolean }) => {
      const { runSessionsBench, sessionsReport } = await import('../test/bench/sessions.ts');
      const result = await runSessionsBench({ users: f.users, concurrency: f.concurrency, warmup: f.warmup, floor: f.floor !== false, progress: (l) => process.stderr.write(l + '\n') });
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : sessionsReport(result)) + '\n');
    });
  bench
    .command('fanout')
    .description(
      'The allocator with N sessions and N socket.io clients: its RSS at rest, and the time from a fleet update in ' +
        'the control plane (a user joining or leaving the queue) to the `fleet` broadcast at every client; the embedded ' +
        'control plane (no processes), the allocator in its own process, clients in one or two more; beside a bare ' +
        'socket.io server broadcasting the same payload to the same clients',
    )
    .option('--clients <n>', 'users, each with a session and one socket.io client', intOption('--clients', 1, 30_000), 10_000)
    .option('--updates <n>', 'fleet updates measured', intOption('--updates', 1, 1000), 20)
    .option('--client-processes <n>', 'processes the clients are spread over', intOption('--client-processes', 1, 2), 2)
    .option('--update-timeout <ms>', 'an update not at a client after this counts as missed there', intOption('--update-timeout', 100, 120_000), 10_000)
    .option('--max-seconds <s>', 'the whole run gives up after this', intOption('--max-seconds', 30, 3600), 300)
    .option('--no-baseline', 'skip the bare socket.io baseline')
    .addOption(new Option('--client <kind>', 'what holds each socket: lean (a minimal socket.io protocol client that names events without decoding them: on one machine the clients\' decoding competes with the server for the CPU) or socket.io (socket.io-client)').choices(['lean', 'socket.io']).default('lean'))
    .option('--json', 'print the result as JSON')
    .action(async (f: { clients: number; updates: number; clientProcesses: number; updateTimeout: number; maxSeconds: number; baseline: boolean; client: 'lean' | 'socket.io'; json?: boolean }) => {
      const { runFanoutBench, fanoutReport } = await import('../test/bench/fanout.ts');
      const result = await runFanoutBench({
        client: f.client, clients: f.clients, updates: f.updates, clientProcesses: f.clientProcesses, updateTimeoutMs: f.updateTimeout,
        maxSeconds: f.maxSeconds, baseline: f.baseline, progress: (l) => process.stderr.write(l + '\n'),
      });
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : fanoutReport(result)) + '\n');
    });
  bench
    .command('start')
    .description(
      'Click Start → the WebUI usable in the page, in Chromium (/usr/bin/chromium) with a warm instance waiting, on ' +
        'the embedded control plane with real wrapper + sim-webui instances',
    )
    .option('--runs <n>', 'measured runs', intOption('--runs', 1, 1000), 20)
    .option('--warm <n>', 'warm instances kept in the Fleet', intOption('--warm', 1, 50), 3)
    .option('--json', 'print the result as JSON')
    .action(async (f: { runs: number; warm: number; json?: boolean }) => {
      const { runStartBench, startReport } = await import('../test/bench/start.ts');
      const result = await runStartBench({ runs: f.runs, warm: f.warm, progress: (l) => process.stderr.write(l + '\n') });
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : startReport(result)) + '\n');
    });
  const minutes = (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0.2 || n > 24 * 60) throw new InvalidArgumentError(`--minutes takes a number of minutes from 0.2 to 1440 (e.g. 30 or 0.5), got "${value}".`);
    return n;
  };
  bench
    .command('soak')
    .description(
      'Session churn and WebSocket reconnects for --minutes against the real processes (the control plane running a ' +
        'Fleet of wrapped sim-webui instances, the allocator), sampling RSS, descriptors and TCP sockets of both from ' +
        '/proc: RSS growth ≤ 10 %, no leaked sockets or processes (Linux)',
    )
    .option('--minutes <n>', 'churn, warm-up included (e.g. 30, or 0.5 for a quick look)', minutes, 30)
    .option('--users <n>', 'simulated users', intOption('--users', 1, 1000), 20)
    .option('--replicas <n>', 'instances in the Fleet', intOption('--replicas', 1, 50), 5)
    .option('--hold-seconds <s>', 'how long each user holds a session', secondsOption('--hold-seconds'), 5)
    .option('--rounds <n>', 'per session: proxied requests, a WebSocket, a socket.io reconnect', intOption('--rounds', 1, 100), 3)
    .option('--settle-seconds <s>', 'the fleet at rest this long before the quiet samples', secondsOption('--settle-seconds'), 75)
    .option('--json', 'print the result as JSON')
    .action(async (f: { minutes: number; users: number; replicas: number; holdSeconds: number; rounds: number; settleSeconds: number; json?: boolean }) => {
      const { runSoakBench } = await import('../test/bench/soak.ts');
      const { soakReport } = await import('../test/bench/soak-report.ts');
      const result = await runSoakBench({ ...f, progress: (l) => process.stderr.write(l + '\n') });
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : soakReport(result)) + '\n');
    });
  const pd = PROXY_BENCH_DEFAULTS;
  const numbers = (flag: string, min: number) => (value: string): number[] => {
    const parts = value.split(',').map((x) => x.trim());
    const out = parts.map(Number);
    if (value.trim() === '' || parts.some((x) => x === '') || out.some((n) => !Number.isInteger(n) || n < min || n > 1000)) {
      throw new InvalidArgumentError(`${flag} takes a comma-separated list of whole numbers from ${min} to 1000 (e.g. 1,50), got "${value}".`);
    }
    return out;
  };
  const targets = (value: string): TargetName[] => {
    const out = value.split(',').map((x) => x.trim());
    const bad = out.filter((x) => !(TARGET_NAMES as readonly string[]).includes(x));
    if (bad.length > 0) throw new InvalidArgumentError(`--targets takes a comma-separated list of ${TARGET_NAMES.join(', ')}; unknown: ${bad.join(', ')}.`);
    return out as TargetName[];
  };
  bench
    .command('proxy')
    .description(
      'Requests/s and latency of a 2 KB response direct to an instance stand-in, through the sdfleet proxy, ' +
        'configurable-http-proxy (npm) and nginx (Debian; installed where missing, as is wrk), in the same run; ' +
        'WebSocket echo round trips through each; an 8 MiB image download; the proxy\'s memory while large bodies stream',
    )
    .option('--targets <list>', `targets besides direct: ${TARGET_NAMES.filter((t) => t !== 'direct').join(',')} (node-relay, the floor of a Node proxy, only when named)`, targets, pd.targets)
    .option('--connections <list>', 'concurrent connections of the HTTP runs, e.g. 1,50', numbers('--connections', 1), pd.connections)
    .option('--duration <s>', 'measured whole seconds per case (wrk counts in seconds)', intOption('--duration', 1, 600), pd.durationSec)
    .option('--warmup <s>', 'unmeasured whole seconds before each HTTP case', intOption('--warmup', 0, 60), pd.warmupSec)
    .option('--rounds <n>', 'rounds of every case (the median round is reported)', intOption('--rounds', 1, 20), pd.rounds)
    .option('--wrk-threads <n>', 'wrk threads', intOption('--wrk-threads', 1, 64), pd.wrkThreads)
    .option('--ws-connections <list>', 'concurrent WebSockets of the echo runs (0: none)', numbers('--ws-connections', 0), pd.wsConnections)
    .option('--no-download', 'skip the 8 MiB image download runs')
    .option('--memory-mb <n>', 'MiB streamed each way through the sdfleet proxy while its RSS is watched (0: none)', intOption('--memory-mb', 0, 16_384), pd.memoryMb)
    .option('--json', 'print the result as JSON')
    .action(async (f: { targets: TargetName[]; connections: number[]; duration: number; warmup: number; rounds: number; wrkThreads: number; wsConnections: number[]; download: boolean; memoryMb: number; json?: boolean }) => {
      const opts = {
        ...pd,
        targets: f.targets,
        connections: f.connections,
        durationSec: f.duration,
        warmupSec: f.warmup,
        rounds: f.rounds,
        wrkThreads: f.wrkThreads,
        wsConnections: f.wsConnections.filter((n) => n > 0),
        download: f.download,
        memoryMb: f.memoryMb,
        progress: (l: string) => process.stderr.write(l + '\n'),
      };
      const result = await runProxyBench(opts);
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : proxyReport(result, opts)) + '\n');
    });
  const collect = (v: string, acc: string[]): string[] => [...acc, v];
  bench
    .command('autoscaler')
    .description(
      'Simulate a fleet under a session trace with Agones\' semantics (sync, cold start, FIFO queue, scale-down of ' +
        'unallocated starting ones first) and compare Buffer sizes with sdfleet\'s demand-aware policy (the webhook\'s ' +
        'own decideReplicas): warm %, waits, GPU-hours and idle GPU-hours. Pure computation, seconds. Traces: CSV files ' +
        '(arrival_s,session_s,user) or generated ones: gen:office|burst|zones|nights|meetings|flat[,seed=N,days=N,…]',
    )
    .requiredOption('--trace <file|gen:…>', 'a trace (repeatable: one table each)', collect, [] as string[])
    .option('--cold-start <s>', 'creation → Ready: seconds (180), a range (120-240) or lognormal:MEDIAN:SIGMA', '180')
    .option('--sync <s>', "the FleetAutoscaler's sync interval", secondsOption('--sync'), 30)
    .option('--policy <p>', 'buffer:N, sdfleet or sdfleet:key=value,… (repeatable; default buffer:0 … buffer:12 and sdfleet)', collect, [] as string[])
    .option('--history <file|gen:…|rate:…>', "past days sdfleet's day profile is learned from (repeatable), or rate:SHAPE alone: the profile of endlessly many generated days (a perfect history)", collect, [] as string[])
    .option('--config <file>', 'YAML settings the sdfleet policies start from (as in the sdfleet-autoscaler ConfigMap)')
    .option('--seed <n>', 'seed of drawn cold starts', intOption('--seed', 0, 2 ** 31), 1)
    .option('--start <iso>', 'wall-clock time of the trace start (schedules, day profile)', '2024-01-01T00:00:00Z')
    .option('--json', 'print the result as JSON')
    .action(async (f: { trace: string[]; coldStart: string; sync: number; policy: string[]; history: string[]; config?: string; seed: number; start: string; json?: boolean }) => {
      if (!(f.sync > 0)) throw new InvalidArgumentError('--sync must be above 0 seconds.');
      const { autoscalerReport, runAutoscalerBench } = await import('../fleet/autoscaler/sim/bench.ts');
      const result = await runAutoscalerBench({
        traces: f.trace, coldStart: f.coldStart, syncSeconds: f.sync, policies: f.policy, history: f.history,
        ...(f.config ? { configFile: f.config } : {}), seed: f.seed, start: f.start,
      });
      // One trace: the shape, {"policies": [...]} at the top.
      const { runs, ...common } = result;
      const json = runs.length === 1 ? { ...common, ...runs[0] } : result;
      process.stdout.write((f.json ? JSON.stringify(json, null, 2) : autoscalerReport(result)) + '\n');
    });
  return bench;
}
