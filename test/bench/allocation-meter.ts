/**
 * What the allocation benchmark measures of the server's own process (the one running
 * the embedded control plane) while a run is measured: CPU per request, RSS, event-loop
 * delay, garbage collection, and how busy the rest of the machine was.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { dirname } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { summarize } from './stats.ts';

const DELAY_TICK_MS = 5;
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** The server process during a measured run (refills excluded). */
export interface ServerMeter {
  /** Server CPU (user + system) per request, µs. */
  cpuUsPerRequest: number;
  /** Highest RSS seen (sampled every 250 ms), MB. */
  rssPeakMb: number;
  /** Event-loop delay, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /**
   * CPU used meanwhile by other processes on the machine, % of one core: a busy machine
   * makes a run worth less (Linux only; NaN elsewhere).
   */
  otherCpuPct: number;
  /** Garbage collections: count, longest pause, total pause (ms). */
  gcCount: number;
  gcMaxMs: number;
  gcTotalMs: number;
}

/** CPU, RSS, event-loop delay and GC of this (the server's) process while measuring. */
export class Meter {
  /** Lateness of a 5 ms interval timer while measuring: event-loop delay (monitorEventLoopDelay would count a refill's block on resuming). */
  readonly #delays: number[] = [];
  #delayTimer: NodeJS.Timeout | undefined;
  readonly #gc: PerformanceObserver;
  #measuring = false;
  #cpuUs = 0;
  #cpuFrom: NodeJS.CpuUsage | undefined;
  #rssPeak = 0;
  #rssTimer: NodeJS.Timeout | undefined;
  #gcCount = 0;
  #gcMax = 0;
  #gcTotal = 0;
  #wallMs = 0;
  #wallFrom = 0;
  #machineMs = 0;
  #machineFrom: number | undefined;

  constructor() {
    this.#gc = new PerformanceObserver((list) => {
      if (!this.#measuring) return;
      for (const e of list.getEntries()) {
        this.#gcCount++;
        this.#gcTotal += e.duration;
        this.#gcMax = Math.max(this.#gcMax, e.duration);
      }
    });
    this.#gc.observe({ entryTypes: ['gc'] });
  }

  resume(): void {
    this.#measuring = true;
    this.#cpuFrom = process.cpuUsage();
    this.#wallFrom = performance.now();
    this.#machineFrom = machineBusyMs();
    let last = performance.now();
    this.#delayTimer = setInterval(() => {
      const now = performance.now();
      this.#delays.push(Math.max(0, now - last - DELAY_TICK_MS));
      last = now;
    }, DELAY_TICK_MS);
    this.#rssTimer = setInterval(() => (this.#rssPeak = Math.max(this.#rssPeak, process.memoryUsage.rss())), 250);
  }

  pause(): void {
    if (!this.#measuring) return;
    this.#measuring = false;
    const d = process.cpuUsage(this.#cpuFrom);
    this.#cpuUs += d.user + d.system;
    this.#wallMs += performance.now() - this.#wallFrom;
    const busy = machineBusyMs();
    if (busy !== undefined && this.#machineFrom !== undefined) this.#machineMs += busy - this.#machineFrom;
    clearInterval(this.#delayTimer);
    clearInterval(this.#rssTimer);
    this.#rssPeak = Math.max(this.#rssPeak, process.memoryUsage.rss());
  }

  /** Ends the measurement; `requests` answered in it, `clientCpuMs` the load client's CPU in it. */
  result(requests: number, clientCpuMs: number): ServerMeter {
    this.pause();
    this.#gc.disconnect();
    const others = this.#machineFrom === undefined ? NaN : this.#machineMs - this.#cpuUs / 1000 - clientCpuMs;
    const delays = summarize(this.#delays);
    return {
      cpuUsPerRequest: requests > 0 ? this.#cpuUs / requests : NaN,
      otherCpuPct: Math.max(0, (100 * others) / this.#wallMs),
      rssPeakMb: mb(this.#rssPeak),
      loopDelayP99Ms: delays.p99,
      loopDelayMaxMs: delays.max,
      gcCount: this.#gcCount,
      gcMaxMs: this.#gcMax,
      gcTotalMs: this.#gcTotal,
    };
  }
}

/** CPU time all processes of the machine have used (Linux /proc/stat), ms; undefined elsewhere. */
function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return (busy * 1000) / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

/** The inspector's CPU profiler on this process, from now until `stop` writes the profile. */
export async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      session.disconnect();
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
    },
  };
}
