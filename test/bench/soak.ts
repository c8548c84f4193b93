/**
 * `sdfleet bench soak` (issue 8 §2): session churn and WebSocket reconnects for a given
 * time against the real processes on one machine — `sdfleet control-plane` running a Fleet
 * of wrapped sim-webui instances, `sdfleet allocator` (dev sign-in) — while /proc is
 * sampled: RSS, descriptors and TCP sockets of both, the instance processes, the Fleet.
 *
 * The run: the Fleet Ready; users churn through the warm-up and the RSS baseline window;
 * they stop and the fleet comes to rest (the quiet start); they churn for the rest of
 * `minutes`; they stop and the fleet comes to rest again (the quiet end); everything is
 * stopped and nothing of the bench may be left. Verdicts: see soak-analysis.ts.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { descendants, groupLeaders, procSample } from './soak-probe.ts';
import { startSoakRig, type SoakRig } from './soak-rig.ts';
import { errorCount, SoakUsers, type SoakCounts } from './soak-users.ts';
import {
  quietOf, soakVerdict, soakWindows, tcpKind, SOAK_TARGETS,
  type QuietSample, type SoakPhase, type SoakSample, type SoakVerdict, type SoakWindows,
} from './soak-analysis.ts';

export interface SoakBenchOptions {
  /** Churn, warm-up included (fractions allowed). Default 30. */
  minutes: number;
  /** Simulated users. Default 20. */
  users: number;
  /** Instances in the Fleet. Default 5. */
  replicas: number;
  /** Seconds each user holds a session. Default 5. */
  holdSeconds: number;
  /** Rounds per session (proxied requests, a WebSocket, a socket.io reconnect each). Default 3. */
  rounds: number;
  /** Between samples; default from the length (2 s for 3 minutes, 5 s from 7.5 minutes). */
  sampleSeconds?: number;
  /**
   * Once the fleet is back at rest, wait this long before the quiet samples: the allocator
   * and the control plane keep idle keep-alive connections 65 s (their clients' pools hold up
   * to 32), the proxy drops idle pools every 30 s. Default 75.
   */
  settleSeconds: number;
  progress?: (line: string) => void;
}

export interface SoakBenchResult {
  options: Omit<SoakBenchOptions, 'progress'> & { sampleSeconds: number };
  machine: { cores: number; memoryGiB: number; node: string; loadStart: number[]; loadEnd: number[]; date: string };
  /** Seconds until the Fleet was Ready at the start. */
  readySeconds: number;
  windows: SoakWindows;
  samples: SoakSample[];
  /** Before any user, after the warm-up, at the end. */
  quiet: { cold: QuietSample; start: QuietSample; end: QuietSample };
  counts: SoakCounts;
  /** Something the run could not do as planned (users not stopping in time, a fleet not at rest). */
  notes: string[];
  verdict: SoakVerdict;
  seconds: number;
}

const QUIET_SAMPLES = 5;

export async function runSoakBench(o: SoakBenchOptions): Promise<SoakBenchResult> {
  if (process.platform !== 'linux') throw new Error('bench soak reads /proc: run it on Linux.');
  const say = o.progress ?? (() => undefined);
  const totalSec = o.minutes * 60;
  const sampleSec = o.sampleSeconds ?? Math.min(5, Math.max(1, Math.round(totalSec / 90)));
  const machine = { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadStart: loadavg(), loadEnd: [] as number[], date: new Date().toISOString() };
  const t0 = performance.now();
  const ac = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping the users and everything the bench started`);
    ac.abort(new Error(`stopped by ${signal}; everything the bench started was stopped`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const wait = (ms: number): Promise<void> => delay(ms, undefined, { signal: ac.signal });
  const notes: string[] = [];
  let rig: SoakRig | undefined;
  let users: SoakUsers | undefined;
  let stopSampling = (): Promise<void> => Promise.resolve();
  let leftovers: string[] = [];
  /** Every instance's process group seen (the wrapper leads it), with its leader's start time. */
  const instanceGroups = new Map<number, string>();
  try {
    rig = await startSoakRig({ replicas: o.replicas, say });
    const r = rig;
    const readySeconds = (performance.now() - t0) / 1000;
    const sampleOf = (p: 'allocator' | 'controlPlane') =>
      procSample(r[p].pid, (s, listening) => tcpKind(s, r.ports[p], listening, r.ports));
    const quietNow = (): QuietSample => {
      const a = sampleOf('allocator');
      const c = sampleOf('controlPlane');
      if (!a || !c) r.check();
      return { allocator: a!, controlPlane: c!, instanceProcesses: descendants(r.controlPlane.pid).length };
    };
    /** The fleet back at rest (only its Ready instances), then `settleSeconds`, then a few samples. */
    const quiet = async (what: string): Promise<QuietSample> => {
      const end = Date.now() + 180_000;
      let states: Record<string, number> | undefined;
      for (;;) {
        r.check();
        states = await r.gameServerStates();
        const total = Object.values(states ?? {}).reduce((a, b) => a + b, 0);
        if (states?.Ready === o.replicas && total === o.replicas) break;
        if (Date.now() > end) {
          notes.push(`${what}: the fleet was not back at rest within 180 s (${JSON.stringify(states)}); sampled anyway`);
          break;
        }
        await wait(500);
      }
      say(`${what}: the fleet is at rest; settling ${o.settleSeconds} s`);
      await wait(o.settleSeconds * 1000);
      const samples: QuietSample[] = [];
      for (let i = 0; i < QUIET_SAMPLES; i++) {
        samples.push(quietNow());
        await wait(1000);
      }
      return quietOf(samples);
    };

    const cold = quietNow();
    users = new SoakUsers({ base: r.allocatorUrl, users: o.users, holdSec: o.holdSeconds, rounds: o.rounds, queueTimeoutSec: 180 });
    const u = users;
    const windows = soakWindows(totalSec);
    // The churn clock runs while the users do: the pause for the quiet start is not churn.
    let churnedMs = 0;
    let churningSince: number | undefined;
    let paused: SoakPhase = 'warmup';
    const t = (): number => (churnedMs + (churningSince === undefined ? 0 : performance.now() - churningSince)) / 1000;
    const phase = (): SoakPhase => (churningSince === undefined ? paused : t() < windows.warmupSec ? 'warmup' : 'measure');
    const churn = async (toSec: number): Promise<void> => {
      u.start();
      churningSince = performance.now();
      await wait((toSec - t()) * 1000);
      churnedMs += performance.now() - churningSince;
      churningSince = undefined;
    };
    const samples: SoakSample[] = [];
    let sampling = true;
    let saidAt = -Infinity;
    const sampler = (async () => {
      for (let next = performance.now(); sampling && !ac.signal.aborted; next += sampleSec * 1000) {
        const a = sampleOf('allocator');
        const c = sampleOf('controlPlane');
        if (a && c) {
          const instances = descendants(r.controlPlane.pid);
          for (const [pid, at] of groupLeaders(instances)) instanceGroups.set(pid, at);
          const s: SoakSample = {
            t: t(), phase: phase(), allocator: a, controlPlane: c, instanceProcesses: instances.length,
            gameServers: (await r.gameServerStates()) ?? { unknown: 1 }, sessions: u.counts.sessions, errors: errorCount(u.counts),
          };
          samples.push(s);
          if (performance.now() - saidAt >= 30_000) {
            saidAt = performance.now();
            say(`${(s.t / 60).toFixed(1)} min [${s.phase}] sessions ${s.sessions} (errors ${s.errors}); allocator ${a.rssMb} MB, ${a.fds} fds, ${a.tcp} TCP; ` +
              `control plane ${c.rssMb} MB, ${c.fds} fds, ${c.tcp} TCP; ${s.instanceProcesses} instance processes; ${JSON.stringify(s.gameServers)}`);
          }
        }
        await delay(Math.max(0, next + sampleSec * 1000 - performance.now()), undefined, { signal: ac.signal }).catch(() => undefined);
      }
    })();
    stopSampling = async () => {
      sampling = false;
      await sampler;
    };

    say(`${o.replicas} instances Ready in ${readySeconds.toFixed(0)} s; ${o.users} users churning ${totalSec.toFixed(0)} s: ${windows.warmupSec.toFixed(0)} s warm-up, ` +
      `the RSS baseline until ${windows.baseline[1].toFixed(0)} s, then a pause for the quiet start (a sample every ${sampleSec} s)`);
    await churn(windows.baseline[1]);
    paused = 'pause';
    if (!(await u.stop(120_000))) notes.push('after the warm-up: some users had not finished their session within 120 s');
    const start = await quiet('after the warm-up');
    say(`quiet start: allocator ${start.allocator.fds} fds, ${start.allocator.tcp} TCP; control plane ${start.controlPlane.fds} fds, ${start.controlPlane.tcp} TCP; ` +
      `${start.instanceProcesses} instance processes. Churning on until ${totalSec.toFixed(0)} s`);
    await churn(totalSec);
    paused = 'drain';
    if (!(await u.stop(120_000))) notes.push('at the end: some users had not finished their session within 120 s');
    const end = await quiet('at the end');
    await stopSampling();
    machine.loadEnd = loadavg();
    say('stopping the allocator and the control plane');
    leftovers = await r.stop(instanceGroups);
    rig = undefined;
    return {
      options: { minutes: o.minutes, users: o.users, replicas: o.replicas, holdSeconds: o.holdSeconds, rounds: o.rounds, sampleSeconds: sampleSec, settleSeconds: o.settleSeconds },
      machine, readySeconds, windows, samples, quiet: { cold, start, end }, counts: u.counts, notes,
      verdict: soakVerdict({ samples, windows, quietStart: start, quietEnd: end, leftovers, targets: SOAK_TARGETS }),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    throw ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (rig) {
      ac.abort();
      await users?.stop(30_000);
      await stopSampling();
      leftovers = await rig.stop(instanceGroups);
      if (leftovers.length) say(`left running after the bench stopped everything (killed now): ${leftovers.join('; ')}`);
    }
  }
}
