/**
 * The allocator as the benches run it in a process of their own (as in production): dev
 * sign-in, the default profile on the Fleet sd-webui, long idle limits, no logs; ready once
 * its view of the users' presence has settled. Stops on SIGTERM or when its parent goes.
 */
import { silentLogger } from '../../common/log.ts';
import { kubeClients } from '../../allocator/kube/clients.ts';
import { defaultProfiles } from '../../allocator/profiles.ts';
import { startAllocator, type RunningAllocator } from '../../allocator/server.ts';

export async function startBenchAllocator(kubeconfig: string, userStore: string): Promise<RunningAllocator> {
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
  const stop = (): void => void allocator.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  return allocator;
}
