import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import { resolveSelf } from '../../../common/self.ts';
import type { ExitStatus, GameServerRunner, RunHandle, RunSpec } from './runner.ts';

export interface ProcessRunnerOptions {
  /** Each run's output is appended to `<logDir>/<namespace>/<name>.log`. */
  logDir: string;
  log: Logger;
  /** Environment every run starts from (the control plane's own by default). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Lines kept for exit reasons. Default 20. */
  tailLines?: number;
}

interface Run {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  graceMs: number;
}

/** The log file of a GameServer's runs. */
export function logFileOf(logDir: string, namespace: string, name: string): string {
  return join(logDir, namespace, `${name}.log`);
}

/** While a run lives: its process group and the leader's start time, for a control plane that restarts without it. */
export function pidFileOf(logDir: string, namespace: string, name: string): string {
  return join(logDir, namespace, `${name}.pid`);
}

interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells this process from a later one given the same pid. */
  startTime: string;
}

/**
 * Runs each GameServer's container as a process group of its own (the process is a
 * group leader), so stopping it reaches every process it started. Kubernetes-style `$(VAR)`
 * references in command and args are expanded from the env; a command `sdfleet …` runs
 * this checkout's CLI.
 */
export class ProcessRunner implements GameServerRunner {
  readonly #o: ProcessRunnerOptions;
  #runs = new Map<string, Run>();

  constructor(o: ProcessRunnerOptions) {
    this.#o = o;
  }

  async start(spec: RunSpec): Promise<RunHandle> {
    if (this.#runs.has(spec.key)) throw new Error(`GameServer ${spec.key} already runs`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#o.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
    // What the control plane injects comes first (as Agones adds AGONES_SDK_* to the
    // container), so the container's own env and args can refer to it with $(VAR).
    Object.assign(env, spec.env);
    for (const e of spec.container.env ?? []) {
      const v = envValue(e, spec);
      if (v !== undefined) env[e.name] = expand(v, env);
    }
    const argv = resolveSelf([...(spec.container.command ?? []), ...(spec.container.args ?? [])].map((a) => expand(a, env)));
    if (argv.length === 0) {
      throw new Error(`GameServer ${spec.key}: container "${spec.container.name}" has no command; set command/args in the Fleet's template (the image's entrypoint is not known on one machine)`);
    }
    const file = logFileOf(this.#o.logDir, spec.namespace, spec.name);
    mkdirSync(dirname(file), { recursive: true });
    // The process writes its output straight into its log file, as a container runtime
    // does: nothing of it passes through this process, so a control plane that dies (or
    // is restarted) leaves the instance running, not killed by a broken pipe.
    const fd = openSync(file, 'a');
    const startOffset = fstatSync(fd).size;
    writeSync(fd, `--- ${new Date().toISOString()} starting: ${argv.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        env,
        cwd: spec.container.workingDir,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const max = this.#o.tailLines ?? 20;

    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`GameServer ${spec.key}: cannot start ${argv[0]}: ${err.message}`, { cause: err })));
    });
    const pidFile = pidFileOf(this.#o.logDir, spec.namespace, spec.name);
    // A container ends with its main process: what the leader started goes with it (as the
    // kernel does to a pod's PID namespace), or a killed wrapper leaves its WebUI serving.
    child.once('exit', () => {
      killGroup(child.pid!, 'SIGKILL');
      rmSync(pidFile, { force: true });
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('close', (code, signal) => {
        const tail = lastLines(file, startOffset, max);
        appendLine(file, `--- ${new Date().toISOString()} exited: code ${code ?? 'none'}${signal ? `, signal ${signal}` : ''}`);
        this.#runs.delete(spec.key);
        resolve({ code, signal, lastLines: tail });
      });
    });
    try {
      await spawned;
    } catch (err) {
      appendLine(file, `--- ${(err as Error).message}`);
      throw err;
    }
    this.#runs.set(spec.key, { child, exited, graceMs: spec.terminationGracePeriodSeconds * 1000 });
    const startTime = startTimeOf(child.pid!);
    if (startTime && child.exitCode === null && child.signalCode === null) {
      try {
        writeFileSync(pidFile, JSON.stringify({ pid: child.pid!, startTime } satisfies PidRecord));
      } catch (err) {
        this.#o.log.warn({ gameServer: spec.key, err: (err as Error).message }, 'cannot write the pid file: a restarted control plane will not stop this run');
      }
    }
    this.#o.log.debug({ gameServer: spec.key, pid: child.pid }, 'started');
    return { pid: child.pid!, exited };
  }

  running(key: string): boolean {
    return this.#runs.has(key);
  }

  async stop(key: string): Promise<void> {
    const run = this.#runs.get(key);
    if (!run) return;
    const pid = run.child.pid!;
    killGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#o.log.warn({ gameServer: key, graceMs: run.graceMs }, 'did not stop within its grace period: SIGKILL');
        killGroup(pid, 'SIGKILL');
        resolve();
      }, run.graceMs);
    });
    await Promise.race([run.exited, forced]);
    clearTimeout(timer);
    await run.exited;
    // Whatever the leader left behind in its group goes too.
    killGroup(pid, 'SIGKILL');
  }

  killAllNow(): void {
    for (const run of this.#runs.values()) if (run.child.pid) killGroup(run.child.pid, 'SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#runs.keys()].map((k) => this.stop(k)));
  }

  /**
   * The pid file of a run this runner did not start (a control plane killed with SIGKILL
   * cannot stop its runs): SIGKILL the group if it still holds this GameServer's processes
   * (its leader is the process recorded, same pid and start time, or a member carries
   * SDFLEET_GAMESERVER=<name>: the leader may be gone with its WebUI left), then drop the file.
   */
  async stopLeftover(namespace: string, name: string): Promise<number | undefined> {
    if (this.#runs.has(`${namespace}/${name}`)) return undefined;
    const file = pidFileOf(this.#o.logDir, namespace, name);
    let rec: PidRecord;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    } catch {
      return undefined;
    }
    rmSync(file, { force: true });
    if (!Number.isInteger(rec.pid) || rec.pid <= 1) return undefined;
    const ours = (): boolean => startTimeOf(rec.pid) === rec.startTime || groupMembers(rec.pid).some((pid) => hasEnv(pid, `SDFLEET_GAMESERVER=${name}`));
    if (!ours()) return undefined;
    killGroup(rec.pid, 'SIGKILL');
    // Not our children: no exit events; wait (briefly) until they are gone, so their ports are free.
    for (let i = 0; i < 100 && groupMembers(rec.pid).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    this.#o.log.warn({ gameServer: `${namespace}/${name}`, pid: rec.pid }, 'stopped a process group left running by a previous control plane');
    return rec.pid;
  }
}

/** Live (not zombie) processes in the process group, from /proc; none elsewhere. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    // Fields after the command: state (3), ppid (4), pgrp (5).
    if (f && f[0] !== 'Z' && Number(f[2]) === pgid) out.push(Number(d));
  }
  return out;
}

function hasEnv(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** The fields of /proc/<pid>/stat after the command name (field 3 onwards). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Running and not a zombie (an orphan may wait a while to be reaped), from /proc: Linux only. */
export function isRunning(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z';
}

/** The start time of a live (not zombie) process, from /proc; undefined elsewhere or when gone. */
function startTimeOf(pid: number): string | undefined {
  const f = statFields(pid);
  return !f || f[0] === 'Z' ? undefined : f[19];
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** An env entry's value; the Downward API fields a GameServer uses are filled in. */
function envValue(e: { name: string; value?: string; valueFrom?: unknown }, spec: RunSpec): string | undefined {
  if (e.value !== undefined) return e.value;
  const path = (e.valueFrom as { fieldRef?: { fieldPath?: string } } | undefined)?.fieldRef?.fieldPath;
  switch (path) {
    case 'metadata.name': return spec.name;
    case 'metadata.namespace': return spec.namespace;
    case 'status.podIP':
    case 'status.hostIP': return '127.0.0.1';
    case 'spec.nodeName': return 'localhost';
    default: return undefined;
  }
}

/** Kubernetes' `$(VAR)` expansion; `$$(VAR)` stays literal `$(VAR)`; unknown names stay as written. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? env[name]! : m;
  });
}

function appendLine(file: string, line: string): void {
  try {
    appendFileSync(file, line + '\n');
  } catch {
    // the log is best effort; the exit status is reported anyway
  }
}

/** The last `max` lines the run wrote (from `from`, where its log began), each cut at 300 characters. */
export function lastLines(file: string, from: number, max: number): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // The run's own header line is not its output.
    if (start === from && lines[0]?.startsWith('--- ')) lines.shift();
    return lines.slice(-max).map((l) => (l.length > 300 ? l.slice(0, 300) + '…' : l));
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
