/**
 * What `sdfleet bench soak` reads of processes, from /proc (Linux only): RSS, open
 * descriptors and TCP sockets of a process, the live processes under one, the processes
 * whose command line names the bench's temp dir, and what is left of process groups.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isRunning } from '../../fleet/control-plane/runner/process-runner.ts';
import type { ProcSample } from './soak-analysis.ts';

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

const pids = (): number[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

/** A TCP socket as /proc/net/tcp{,6} shows it. */
export interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** ESTABLISHED, LISTEN, CLOSE_WAIT, … */
  state: string;
}

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];

/** TCP sockets (IPv4 and IPv6) of the process's network namespace, by inode. */
function tcpTable(pid: number): Map<string, TcpSocket> {
  const out = new Map<string, TcpSocket>();
  const port = (addr: string | undefined): number => parseInt(addr?.split(':')[1] ?? '', 16);
  for (const table of ['tcp', 'tcp6']) {
    const lines = read(`/proc/${pid}/net/${table}`)?.split('\n').slice(1) ?? [];
    for (const line of lines) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      const inode = f[9];
      if (inode && inode !== '0') out.set(inode, { localPort: port(f[1]), remotePort: port(f[2]), state: TCP_STATES[parseInt(f[3] ?? '', 16)] ?? f[3]! });
    }
  }
  return out;
}

/**
 * RSS, descriptors and TCP sockets of `pid`; undefined when it is gone. With `kind`, the
 * TCP sockets are also counted by what it calls each one (given the ports the process
 * listens on), e.g. "to the control plane".
 */
export function procSample(pid: number, kind?: (s: TcpSocket, listening: ReadonlySet<number>) => string): ProcSample | undefined {
  const status = read(`/proc/${pid}/status`);
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status ?? '')?.[1]);
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  if (!Number.isFinite(rssKb)) return undefined;
  const table = tcpTable(pid);
  const mine: TcpSocket[] = [];
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      const sock = m ? table.get(m[1]!) : undefined;
      if (sock) mine.push(sock);
    } catch {
      // closed meanwhile
    }
  }
  const rssMb = Math.round((rssKb / 1024) * 10) / 10;
  if (!kind) return { rssMb, fds: fds.length, tcp: mine.length };
  const listening = new Set(mine.filter((s) => s.state === 'LISTEN').map((s) => s.localPort));
  const tcpKinds: Record<string, number> = {};
  for (const s of mine) {
    const k = kind(s, listening);
    tcpKinds[k] = (tcpKinds[k] ?? 0) + 1;
  }
  return { rssMb, fds: fds.length, tcp: mine.length, tcpKinds };
}

/** Live (not zombie) processes descended from `root`, not counting it. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids()) {
    const f = statFields(pid);
    if (!f || f[0] === 'Z') continue;
    const ppid = f[1];
    const list = children.get(Number(ppid)) ?? [];
    list.push(pid);
    children.set(Number(ppid), list);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Live processes other than this one whose command line contains `marker`, described. */
export function processesNaming(marker: string): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const cmdline = read(`/proc/${pid}/cmdline`);
    if (cmdline?.includes(marker) && isRunning(pid)) out.push({ pid, what: `${pid}: ${cmdline.replace(/\0/g, ' ').trim().slice(0, 160)}` });
  }
  return out;
}

/** Fields of /proc/<pid>/stat from the state on (state, ppid, pgrp, …); undefined when gone. */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : undefined;
}

/** When the process started (clock ticks since boot): tells it from a later one given the same pid. */
export function startTimeOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Process-group leaders among `pids`, with their start times. */
export function groupLeaders(pids: readonly number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const pid of pids) {
    const f = statFields(pid);
    if (f && Number(f[2]) === pid && f[19]) out.set(pid, f[19]);
  }
  return out;
}

/**
 * Live members of the process groups led (when seen) by the given leaders, described. A
 * group id is not reused while the group has members, so members found are that group's —
 * unless its leader died with the whole group and the pid now leads someone else's (a live
 * process with that pid and another start time): skipped.
 */
export function groupSurvivors(leaders: ReadonlyMap<number, string>): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  const live = pids().map((pid) => ({ pid, f: statFields(pid) })).filter((p) => p.f && p.f[0] !== 'Z');
  for (const [pgid, started] of leaders) {
    const now = startTimeOf(pgid);
    if (now !== undefined && now !== started) continue;
    for (const p of live) {
      if (Number(p.f![2]) !== pgid || p.pid === process.pid) continue;
      out.push({ pid: p.pid, what: `${p.pid} (group ${pgid}): ${(read(`/proc/${p.pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim().slice(0, 160)}` });
    }
  }
  return out;
}
