import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
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
  out: WriteStream;
}

/** The log file of a GameServer's runs. */
export function logFileOf(logDir: string, namespace: string, name: string): string {
  return join(logDir, namespace, `${name}.log`);
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
    const out = createWriteStream(file, { flags: 'a' });
    out.on('error', (err) => this.#o.log.warn({ gameServer: spec.key, err: err.message }, 'cannot write the log file'));
    out.write(`--- ${new Date().toISOString()} starting: ${argv.join(' ')}\n`);

    const child = spawn(argv[0]!, argv.slice(1), {
      env,
      cwd: spec.container.workingDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const tail: string[] = [];
    const max = this.#o.tailLines ?? 20;
    let partial = '';
    const onData = (chunk: Buffer): void => {
      out.write(chunk);
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l.length > 300 ? l.slice(0, 300) + '…' : l);
        if (tail.length > max) tail.shift();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`GameServer ${spec.key}: cannot start ${argv[0]}: ${err.message}`, { cause: err })));
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('close', (code, signal) => {
        if (partial) tail.push(partial);
        if (!out.writableEnded) out.end(`--- ${new Date().toISOString()} exited: code ${code ?? 'none'}${signal ? `, signal ${signal}` : ''}\n`);
        this.#runs.delete(spec.key);
        resolve({ code, signal, lastLines: tail.slice() });
      });
    });
    try {
      await spawned;
    } catch (err) {
      out.end(`--- ${(err as Error).message}\n`);
      throw err;
    }
    this.#runs.set(spec.key, { child, exited, graceMs: spec.terminationGracePeriodSeconds * 1000, out });
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

  async stopAll(): Promise<void> {
    await Promise.all([...this.#runs.keys()].map((k) => this.stop(k)));
  }
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
