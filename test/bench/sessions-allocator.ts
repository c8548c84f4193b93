/** The allocator of `sdfleet bench sessions`, in a process of its own (as in production). */
import { silentLogger } from '../../common/log.ts';
import { kubeClients } from '../../allocator/kube/clients.ts';
import { defaultProfiles } from '../../allocator/profiles.ts';
import { startAllocator } from '../../allocator/server.ts';

const [kubeconfig, userStore] = process.argv.slice(2) as [string, string];
const allocator = await startAllocator({
  k: kubeClients({ kubeconfig, namespace: 'default' }),
  identity: { mode: 'dev', cookieSecret: 'bench-secret-0123456789abcdef0123456789abcdef' },
  profiles: defaultProfiles('sd-webui'),
  policy: { idleLimitMs: 3600_000, warnBeforeMs: 60_000, maxSessionMs: 8 * 3600_000 },
  userStore,
  port: 0,
  logger: silentLogger(),
});
await allocator.core.presence.settled;
process.send!({ type: 'ready', url: allocator.url });
const report = (): void => void process.send!({ type: 'rss', rssMb: Math.round(process.memoryUsage().rss / 1048576) });
process.on('message', (m: { type: string }) => {
  if (m.type === 'rss') report();
});
process.on('SIGTERM', () => void allocator.stop().then(() => process.exit(0)));
process.on('disconnect', () => void allocator.stop().then(() => process.exit(0)));
