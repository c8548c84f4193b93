/**
 * Outside tools of `sdfleet bench proxy`: wrk (the load generator) and nginx, installed
 * from Debian where missing; and readings of other processes from /proc (CPU, RSS).
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** True when `bin` is on PATH. */
export function hasCommand(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure `bin` exists, installing Debian's `pkg` with apt-get where it is missing (as
 * root). Throws with what to do when that is not possible.
 */
export function ensureCommand(bin: string, pkg: string, progress: (l: string) => void): void {
  if (hasCommand(bin)) return;
  if (process.getuid?.() !== 0 || !hasCommand('apt-get')) {
    throw new Error(`${bin} is missing: install it (Debian: apt-get install -y ${pkg}) and run the bench again`);
  }
  progress(`installing ${pkg} (apt-get) for ${bin}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (install() !== 0) throw new Error(`apt-get install ${pkg} failed: install ${bin} by hand and run the bench again`);
  }
  if (!hasCommand(bin)) throw new Error(`${pkg} was installed but ${bin} is still not on PATH`);
}

export interface WrkResult {
  requests: number;
  rps: number;
  /** Latency percentiles, µs. */
  p50Us: number;
  p99Us: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx answers. */
  errors: number;
  non2xx: number;
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000, m: 60_000_000 };

function latencyUs(text: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * UNIT_US[m[2]!]! : NaN;
}

/** Parses `wrk --latency` output. Exported for its test. */
export function parseWrk(text: string): WrkResult {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Us: latencyUs(text, '50'),
    p99Us: latencyUs(text, '99'),
    errors: socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

/** One wrk run (bounded: wrk stops after `durationSec`; killed if it overruns by 10 s). */
export function runWrk(o: { url: string; connections: number; threads: number; durationSec: number }): Promise<WrkResult> {
  const threads = Math.min(o.threads, o.connections);
  const seconds = Math.max(1, Math.round(o.durationSec)); // wrk takes whole seconds
  const args = [`-t${threads}`, `-c${o.connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', o.url];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (seconds + 10) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`wrk ${args.join(' ')} failed: ${err.message} ${stderr}`, { cause: err }));
        return;
      }
      const r = parseWrk(stdout);
      if (!Number.isFinite(r.rps)) reject(new Error(`could not read wrk's output:\n${stdout}`));
      else resolve(r);
    });
  });
}

/** The process and its children (nginx's workers), from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      // gone, or no /proc: nothing more to add
    }
  }
  return out;
}

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by these processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // exited
    }
  }
  return ticks / CLK_TCK;
}

/** Resident memory of these processes together, bytes. */
export function rssBytes(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kb * 1024;
}

/** `/proc/loadavg`'s first three fields, or '' where there is none. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '';
  }
}
