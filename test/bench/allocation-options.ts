/** The options of `sdfleet bench allocation` and their defaults: light, for the CLI's flags (cli/bench.ts). */
export interface AllocationBenchOptions {
  /** Ready GameServers in the Fleet. Default 5,000. */
  gameServers: number;
  /** Closed-loop runs, one per number of concurrent clients. Default [50]. */
  concurrency: number[];
  /** Measured seconds per run (refills not counted). Default 10. */
  durationSec: number;
  /** Requests per run at most (0 = only the duration bounds it). Default 0. */
  count: number;
  /** Open-loop run at this many allocations/s (0 = none). Default 2,000. */
  rate: number;
  /** Connections of the open-loop run. Default 50. */
  rateConcurrency: number;
  /** Unmeasured requests first, to each server (JIT, caches, connections). Default 3,000. */
  warmup: number;
  /** Run the bare HTTP baseline. Default true. */
  baseline: boolean;
  /**
   * Run an Agones SDK server per GameServer, as with real processes (each watches its
   * GameServer). Default false: startEmbedded's default with a runner that starts none.
   */
  sdkServers?: boolean;
  /**
   * The load client's HTTP: `lean` (test/bench/lean-http.ts, a few µs a request) or
   * `node-http` (Node's http.request, ~70 µs: the client's own event loop shows in the
   * latency at 50 clients). Default lean.
   */
  client: 'lean' | 'node-http';
  /** Write a CPU profile of the server process per measured control-plane run here. */
  cpuProfileDir?: string;
  progress?: (line: string) => void;
}

export const ALLOCATION_BENCH_DEFAULTS: Omit<AllocationBenchOptions, 'progress'> = {
  gameServers: 5000,
  concurrency: [50],
  durationSec: 10,
  count: 0,
  rate: 2000,
  rateConcurrency: 50,
  warmup: 3000,
  baseline: true,
  client: 'lean',
};
