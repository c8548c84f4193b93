/**
 * The allocator of `sdfleet bench fanout`, in a process of its own (as in production),
 * as `sessions-allocator.ts` starts it, and a probe: when its queue informer saw each
 * change (the step between the control plane and the fan-out), its memory, its clock.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startBenchAllocator } from './bench-allocator.ts';
import { preciseNow } from './fanout-stats.ts';

export type ToFanoutAllocator = { type: 'rss' } | { type: 'changes' } | { type: 'sessions' } | { type: 'ping'; id: number } | { type: 'loop-reset' } | { type: 'loop' };
export type FromFanoutAllocator =
  | { type: 'ready'; url: string }
  | { type: 'rss'; rssMb: number; heapMb: number }
  /** Queue changes seen since the last ask, and the `fleet` broadcasts made (start and end of their writes), in this process's clock. */
  | { type: 'changes'; at: number[]; broadcasts: { start: number; end: number }[]; framedSockets: number; emittedSockets: number }
  | { type: 'sessions'; live: number }
  /** Event-loop delay since the last reset, ms (how long a timer or an I/O callback waited for the loop). */
  | { type: 'loop'; p50: number; p99: number; max: number }
  | { type: 'pong'; id: number; at: number };

const [kubeconfig, userStore] = process.argv.slice(2) as [string, string];
const allocator = await startBenchAllocator(kubeconfig, userStore);
// Registered after the allocator's own listeners: runs in the same emit, right after them.
let changes: number[] = [];
allocator.core.queue.on('change', () => void changes.push(preciseNow()));
// Each `fleet` broadcast timed where it is made: how long after the change it started,
// and how long its writes to every socket held the event loop.
let broadcasts: { start: number; end: number }[] = [];
let framed = 0;
let emitted = 0;
allocator.realtime.onFleetBroadcast = (b) => {
  broadcasts.push({ start: performance.timeOrigin + b.startMs, end: performance.timeOrigin + b.endMs });
  framed += b.framedSockets;
  emitted += b.emittedSockets;
};
const send = (m: FromFanoutAllocator): void => void process.send!(m);
send({ type: 'ready', url: allocator.url });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.on('message', (m: ToFanoutAllocator) => {
  if (m.type === 'loop-reset') loop.reset();
  if (m.type === 'loop') send({ type: 'loop', p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 });
  const mb = (n: number): number => Math.round(n / 1048576);
  if (m.type === 'rss') send({ type: 'rss', rssMb: mb(process.memoryUsage.rss()), heapMb: mb(process.memoryUsage().heapUsed) });
  if (m.type === 'changes') {
    send({ type: 'changes', at: changes, broadcasts, framedSockets: framed, emittedSockets: emitted });
    changes = [];
    broadcasts = [];
    framed = 0;
    emitted = 0;
  }
  if (m.type === 'sessions') send({ type: 'sessions', live: allocator.core.registry.live().length });
  if (m.type === 'ping') send({ type: 'pong', id: m.id, at: preciseNow() });
});
