import { Command } from 'commander';
import { readyGateReport, runReadyGateBench } from '../test/bench/ready-gate.ts';
import { intOption } from './run.ts';

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
      const result = await runReadyGateBench(opts);
      process.stdout.write((f.json ? JSON.stringify(result, null, 2) : readyGateReport(result, opts)) + '\n');
    });
  return bench;
}
