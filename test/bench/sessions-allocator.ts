/** The allocator of `sdfleet bench sessions`, in a process of its own (as in production). */
import { startBenchAllocator } from './bench-allocator.ts';

const [kubeconfig, userStore] = process.argv.slice(2) as [string, string];
const allocator = await startBenchAllocator(kubeconfig, userStore);
process.send!({ type: 'ready', url: allocator.url });
const report = (): void => void process.send!({ type: 'rss', rssMb: Math.round(process.memoryUsage().rss / 1048576) });
process.on('message', (m: { type: string }) => {
  if (m.type === 'rss') report();
});
