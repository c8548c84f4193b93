/** The markdown report of `sdfleet bench allocation`: the table, ratios to the baseline, the targets. */
import type { AllocationBenchOptions, AllocationBenchResult, RunResult } from './allocation.ts';
import { ms } from './stats.ts';

const TARGET_RATE = 2000;
const TARGET_P99_MS = 15;
const TARGET_CLIENTS = 50;

export function allocationReport(r: AllocationBenchResult, o: AllocationBenchOptions): string {
  const label = (x: RunResult): string =>
    `${x.target === 'baseline' ? 'baseline: bare HTTP' : 'GameServerAllocation'}, ${x.mode === 'open' ? `open loop ${x.rate}/s, ${x.concurrency} conns` : `closed loop, ${x.concurrency} clients`}`;
  const row = (x: RunResult): string => {
    const l = x.client.latency;
    const s = x.server;
    return `| ${label(x)} | ${x.perSecond.toFixed(0)} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${x.client.allocated} | ${x.client.unallocated} | ${x.client.errors} | ${s.cpuUsPerRequest.toFixed(0)} | ${s.rssPeakMb} | ${ms(s.loopDelayP99Ms)} / ${ms(s.loopDelayMaxMs)} | ${s.gcCount} / ${ms(s.gcMaxMs)} | ${Number.isFinite(s.otherCpuPct) ? s.otherCpuPct.toFixed(0) : '—'} | ${((x.client.cpuMs * 1000) / Math.max(1, x.client.allocated + x.client.unallocated + x.client.errors)).toFixed(0)} |`;
  };
  const lines = [
    `${r.gameServers} Ready GameServers (Fleet Ready in ${r.setupSeconds.toFixed(1)} s), ${r.sdkServers ? 'an SDK server each' : 'no SDK servers'}, persistence on; ${o.durationSec} s measured per run${o.count ? ` or ${o.count} requests` : ''}; answer ${r.answerBytes} bytes; load client: ${o.client === 'node-http' ? "Node's http.request" : 'lean HTTP (test/bench/lean-http.ts)'}.`,
    '',
    '| run | answers/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | Allocated | UnAllocated | errors | server CPU µs/req | server RSS peak MB | loop delay p99 / max ms | GCs / longest ms | other processes\' CPU % | client CPU µs/req |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.runs.map(row),
    '',
  ];
  const pairs: [RunResult, RunResult | undefined][] = r.runs
    .filter((x) => x.target === 'control plane')
    .map((x) => [x, r.runs.find((b) => b.target === 'baseline' && b.mode === x.mode && b.concurrency === x.concurrency)]);
  for (const [x, b] of pairs) {
    if (!b) continue;
    const what = x.mode === 'open' ? `open loop ${x.rate}/s` : `${x.concurrency} clients`;
    lines.push(
      `- ${what}: throughput ${(x.perSecond / b.perSecond).toFixed(2)}× the baseline's; p50 ${(x.client.latency.p50 / b.client.latency.p50).toFixed(1)}×, p99 ${(x.client.latency.p99 / b.client.latency.p99).toFixed(1)}× the baseline's.`,
    );
  }
  const closed50 = r.runs.find((x) => x.target === 'control plane' && x.mode === 'closed' && x.concurrency === TARGET_CLIENTS);
  if (closed50) {
    const okRate = closed50.perSecond >= TARGET_RATE;
    const okP99 = closed50.client.latency.p99 <= TARGET_P99_MS;
    lines.push(
      `- Target at ${TARGET_CLIENTS} clients: ≥ ${TARGET_RATE} allocations/s ${okRate ? 'met' : 'NOT met'} (${closed50.perSecond.toFixed(0)}/s), p99 ≤ ${TARGET_P99_MS} ms ${okP99 ? 'met' : 'NOT met'} (${ms(closed50.client.latency.p99)} ms).`,
    );
  }
  const open = r.runs.find((x) => x.target === 'control plane' && x.mode === 'open');
  if (open) lines.push(`- At a fixed ${open.rate}/s: p99 ${ms(open.client.latency.p99)} ms (${open.client.latency.p99 <= TARGET_P99_MS ? 'within' : 'over'} ${TARGET_P99_MS} ms).`);
  lines.push(`- Server RSS: ${r.rssReadyMb} MB with the Fleet Ready, ${r.rssMaxMb} MB at most over the run, ${r.rssEndMb} MB at the end.`);
  return lines.join('\n');
}
