import { Command, Option } from 'commander';
import { readEnv } from '../common/env.ts';
import { createLogger } from '../common/log.ts';
import { intOption, secondsOption, stopOnSignal } from './run.ts';

export interface AllocatorFlags {
  kubeconfig?: string;
  namespace: string;
  port: number;
  host?: string;
  userStore: string;
  profiles?: string;
  fleet: string;
  idleLimit: number;
  idleWarning: number;
  maxSession: number;
  queueGrace: number;
  maxQueue: number;
  trustProxy?: string;
  logLevel: string;
}

/** The allocator's flags, shared with `sdfleet up`. */
export function allocatorOptions(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: in-cluster, then ~/.kube/config)')
    .option('-n, --namespace <ns>', 'namespace of the GameServers', 'default')
    .option('--user-store <dir>', "root of the users' output folders (what the wrappers write to)", './user-store')
    .option('--profiles <file>', 'profiles YAML (default: one profile for --fleet)')
    .option('--fleet <name>', 'the fleet of the default profile', 'sd-webui')
    .option('--idle-limit <seconds>', 'no traffic and no generation this long → released', secondsOption('--idle-limit'), 900)
    .option('--idle-warning <seconds>', 'warn this long before the idle release', secondsOption('--idle-warning'), 180)
    .option('--max-session <seconds>', 'longest session', secondsOption('--max-session'), 8 * 3600)
    .option('--queue-grace <seconds>', 'a queued user who disconnects keeps the place this long', secondsOption('--queue-grace'), 120)
    .option('--max-queue <n>', 'most users waiting per profile', intOption('--max-queue', 1), 500)
    .option('--trust-proxy <value>', "express 'trust proxy': which X-Forwarded-* to believe (e.g. 1 behind one load balancer)");
}

export function allocatorCommand(): Command {
  return allocatorOptions(
    new Command('allocator')
      .description(
        'The user-facing service: sign-in, REST API and socket.io under /_sdfleet/, a fair queue, idle reclaim, ' +
          "and a proxy of every other path to the signed-in user's own WebUI instance. Identity from SDFLEET_IDENTITY " +
          '(dev, token, iap, header) and SDFLEET_COOKIE_SECRET; see allocator/identity/README.md.',
      )
      .option('--port <port>', 'port to listen on', intOption('--port', 0, 65535), 8080)
      .option('--host <address>', 'address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)'),
  )
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (f: AllocatorFlags) => {
      const [{ kubeClients }, { startAllocator }, { identityOptionsFromEnv }, { defaultProfiles, loadProfiles }] = await Promise.all([
        import('../allocator/kube/clients.ts'),
        import('../allocator/server.ts'),
        import('../allocator/identity/index.ts'),
        import('../allocator/profiles.ts'),
      ]);
      const env = readEnv();
      const log = createLogger({ name: 'allocator', level: f.logLevel, pretty: process.stdout.isTTY });
      const allocator = await startAllocator({
        k: kubeClients({ ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}), namespace: f.namespace }),
        identity: identityOptionsFromEnv(env, { logger: log }),
        profiles: f.profiles ? await loadProfiles(f.profiles) : defaultProfiles(f.fleet),
        policy: { idleLimitMs: f.idleLimit * 1000, warnBeforeMs: f.idleWarning * 1000, maxSessionMs: f.maxSession * 1000 },
        userStore: f.userStore,
        port: f.port,
        host: f.host ?? (env.inPod ? '0.0.0.0' : '127.0.0.1'),
        ...(f.trustProxy !== undefined ? { trustProxy: trustProxy(f.trustProxy) } : {}),
        logger: log,
        core: { queueGraceSeconds: f.queueGrace, maxQueue: f.maxQueue },
      });
      process.stdout.write(`\nsdfleet allocator: ${allocator.url}/_sdfleet/\n\n`);
      stopOnSignal({ stop: () => allocator.stop() });
    });
}

function trustProxy(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return /^\d+$/.test(v) ? Number(v) : v;
}
