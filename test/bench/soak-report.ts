/** The markdown report of `sdfleet bench soak`. */
import { everyNth, SOAK_TARGETS, type CountVerdict, type GrowthVerdict, type ProcessVerdict, type QuietSample } from './soak-analysis.ts';
import type { SoakBenchResult } from './soak.ts';
import { errorCount } from './soak-users.ts';

const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : '—');
const num = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '—');
const kinds = (k: Record<string, number> | undefined): string =>
  k ? Object.entries(k).sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name} ${n}`).join(', ') || 'none' : '—';
const mark = (ok: boolean): string => (ok ? 'met' : 'NOT met');

function growthLine(name: string, g: GrowthVerdict, limit: number): string {
  return `Target ${name} RSS growth ≤ ${(limit * 100).toFixed(0)} %: ${mark(g.met)} (${pct(g.growth)}: median ${num(g.baselineMb)} MB over ${g.samples.baseline} samples after the warm-up → ${num(g.endMb)} MB over the last ${g.samples.end}).`;
}

function countLine(name: string, fds: CountVerdict, tcp: CountVerdict): string {
  return `Target ${name} descriptors and TCP sockets not growing (slack +${fds.slack} fds, +${tcp.slack} TCP): ${mark(fds.met && tcp.met)} ` +
    `(fds ${num(fds.start)} → ${num(fds.end)}, TCP ${num(tcp.start)} → ${num(tcp.end)}, quiet start → quiet end).`;
}

function quietRow(name: string, q: QuietSample): string {
  return `| ${name} | ${num(q.allocator.rssMb)} | ${num(q.allocator.fds)} | ${num(q.allocator.tcp)} | ${num(q.controlPlane.rssMb)} | ${num(q.controlPlane.fds)} | ${num(q.controlPlane.tcp)} | ${num(q.instanceProcesses)} |`;
}

export function soakCommand(r: SoakBenchResult): string {
  const o = r.options;
  return `node bin/sdfleet.js bench soak --minutes ${o.minutes} --users ${o.users} --replicas ${o.replicas} --hold-seconds ${o.holdSeconds} --rounds ${o.rounds} --settle-seconds ${o.settleSeconds}`;
}

export function soakReport(r: SoakBenchResult): string {
  const o = r.options;
  const m = r.machine;
  const v = r.verdict;
  const c = r.counts;
  // About ten rows: every tenth of the run, in whole 10 s.
  const rowEvery = Math.max(o.sampleSeconds, Math.round((o.minutes * 6) / 10) * 10);
  const rows = everyNth(r.samples, rowEvery).map((s) =>
    `| ${(s.t / 60).toFixed(1)} | ${s.phase} | ${num(s.allocator.rssMb)} | ${s.allocator.fds} | ${s.allocator.tcp} | ${num(s.controlPlane.rssMb)} | ${s.controlPlane.fds} | ${s.controlPlane.tcp} | ` +
    `${s.instanceProcesses} | ${Object.entries(s.gameServers).map(([k, n]) => `${k} ${n}`).join(', ')} | ${s.sessions} | ${s.errors} |`);
  const proc = (name: string, p: ProcessVerdict): string[] => [growthLine(name, p.rss, SOAK_TARGETS.rssGrowth), countLine(name, p.fds, p.tcp)];
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
  return [
    `Command: \`${soakCommand(r)}\` (${m.date.slice(0, 10)}); ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; load average ${load(m.loadStart)} at the start, ${load(m.loadEnd)} at the end; ${r.seconds.toFixed(0)} s in all.`,
    `${o.replicas} wrapped sim-webui instances (Ready in ${r.readySeconds.toFixed(0)} s), ${o.users} users each holding a session ${o.holdSeconds} s over ${o.rounds} rounds; ` +
      `${r.windows.warmupSec.toFixed(0)} s warm-up; the quiet start in a pause after the RSS baseline window (the churn clock stops meanwhile); RSS windows ${r.windows.baseline.map((x) => (x / 60).toFixed(1)).join('–')} and ${r.windows.end.map((x) => (x / 60).toFixed(1)).join('–')} min of churn; a sample every ${o.sampleSeconds} s.`,
    '',
    '| churn min | phase | allocator RSS MB | fds | TCP | control plane RSS MB | fds | TCP | instance processes | GameServers | sessions | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'The fleet at rest, no user connected (median of 5 samples, after the settle):',
    '',
    '| at rest | allocator RSS MB | fds | TCP | control plane RSS MB | fds | TCP | instance processes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    quietRow('before any user', r.quiet.cold),
    quietRow('after the warm-up (quiet start)', r.quiet.start),
    quietRow('at the end (quiet end)', r.quiet.end),
    '',
    ...(['allocator', 'controlPlane'] as const).map((p) =>
      `TCP sockets of the ${p === 'allocator' ? 'allocator' : 'control plane'} at rest: quiet start ${kinds(r.quiet.start[p].tcpKinds)}; quiet end ${kinds(r.quiet.end[p].tcpKinds)}.`),
    '',
    `Users: ${c.sessions} sessions given back (${c.queued} served from the queue; ${num(c.sessions / o.minutes)} a minute of churn), ${c.proxied} proxied requests, ` +
      `${c.websockets} proxied WebSockets, ${c.socketio} socket.io connections; ${errorCount(c)} errors${errorCount(c) ? `: ${JSON.stringify(c.errors)}` : ''}.`,
    ...(r.notes.length ? [`Notes: ${r.notes.join('; ')}.`] : []),
    '',
    ...proc('allocator', v.allocator),
    ...proc('control plane', v.controlPlane),
    `Target instance processes back to where they were: ${mark(v.instances.met)} (${num(v.instances.start)} at the quiet start, ${num(v.instances.end)} at the quiet end).`,
    `Target no process of the bench left after it stopped everything: ${mark(v.leftovers.length === 0)} (${v.leftovers.length === 0 ? 'none' : v.leftovers.join('; ')}; ` +
      'looked for: its temp dir on a command line, members of the process groups of the control plane, the allocator and every instance seen, pid files).',
  ].join('\n');
}
