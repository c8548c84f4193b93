import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Logger } from '../common/log.ts';

export interface WebuiProcessOptions {
  /** argv of the WebUI, e.g. ['python', 'launch.py', '--api', '--port', '7860']. */
  command: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Its output goes here, one log record per line, as component `webui`. */
  log: Logger;
  /** Lines kept for crash reports. Default 50. */
  tailLines?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The WebUI as a child process. It stays in the wrapper's process group, so whoever stops
 * the GameServer's group (kubelet, the embedded runner) stops it too; `stop()` signals
 * the child and every process below it, since a launcher script (webui.sh) does not
 * pass signals on to the Python it starts.
 *
 * `exited` resolves once the process is gone, also when it could not be started (code
 * null, with the spawn error among the tail lines).
 */
export class WebuiProcess {
  readonly exited: Promise<Exit>;
  readonly pid: number | undefined;
  #child: ChildProcess;
  #tail: string[] = [];
  #max: number;
  #exit: Exit | undefined;

  constructor(opts: WebuiProcessOptions) {
    this.#max = opts.tailLines ?? 50;
    const [file, ...args] = opts.command;
    if (!file) throw new Error('no WebUI command given: put it after "--", e.g. sdfleet wrapper -- python launch.py --api');
    this.#child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.#child.pid;
    const webuiLog = opts.log.child({ source: 'webui' });
    for (const [stream, level] of [[this.#child.stdout, 'info'], [this.#child.stderr, 'warn']] as const) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        const rec = jsonRecord(line);
        this.#remember(rec ? rec.message : line);
        if (rec) webuiLog[rec.level ?? level](rec.message);
        else webuiLog[level](line);
      });
    }
    this.exited = new Promise<Exit>((resolve) => {
      this.#child.once('error', (err) => {
        this.#remember(`could not start ${file}: ${err.message}`);
        this.#exit ??= { code: null, signal: null };
        resolve(this.#exit);
      });
      this.#child.once('close', (code, signal) => {
        this.#exit ??= { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** The last lines it printed, oldest first. */
  tail(n = this.#max): string[] {
    return this.#tail.slice(-n);
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** SIGTERM to it and its descendants; SIGKILL to what is left after `graceMs`. */
  async stop(graceMs: number): Promise<Exit> {
    if (this.#exit) return this.#exit;
    const pid = this.#child.pid;
    if (pid === undefined) return this.exited;
    signalTree(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signalTree(pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  #remember(line: string): void {
    this.#tail.push(line.length > 500 ? line.slice(0, 500) + '…' : line);
    if (this.#tail.length > this.#max) this.#tail.shift();
  }
}

/** A line that is itself a JSON log record (as sdfleet sim-webui prints): its text and level. */
function jsonRecord(line: string): { message: string; level?: 'info' | 'warn' | 'error' } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const o = JSON.parse(line) as { message?: unknown; msg?: unknown; severity?: unknown };
    const message = typeof o.message === 'string' ? o.message : typeof o.msg === 'string' ? o.msg : undefined;
    if (message === undefined) return undefined;
    const sev = String(o.severity ?? '');
    const level = sev === 'ERROR' || sev === 'CRITICAL' ? 'error' : sev === 'WARNING' ? 'warn' : sev ? 'info' : undefined;
    return { message, ...(level ? { level } : {}) };
  } catch {
    return undefined;
  }
}

/** Signals `pid` and every process below it (found through /proc; just `pid` elsewhere). */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

function descendants(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(e));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}
