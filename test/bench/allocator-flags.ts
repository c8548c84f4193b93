// Kept apart from bench-allocator.ts: the bench's own process (which holds the control plane) imports it without the allocator's packages.

/**
 * Node flags for the allocator's process: `SDFLEET_BENCH_PROFILE=DIR` adds a CPU profile
 * written there, `SDFLEET_BENCH_ALLOCATOR_FLAGS` any others (e.g. `--trace-gc`), split on spaces.
 */
export function benchAllocatorFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.SDFLEET_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${env.SDFLEET_BENCH_PROFILE}`] : []),
    ...(env.SDFLEET_BENCH_ALLOCATOR_FLAGS ?? '').split(' ').filter(Boolean),
  ];
}
