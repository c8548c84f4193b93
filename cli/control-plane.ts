import { Command, InvalidArgumentError, Option } from 'commander';
import { readEnv } from '../common/env.ts';
import { createLogger } from '../common/log.ts';
import { parseGpuList } from '../fleet/control-plane/runner/gpus.ts';
import { intOption, stopOnSignal } from './run.ts';

interface ControlPlaneFlags {
  port: number;
  host: string;
  dataDir: string;
  token?: string;
  gpus?: string;
  portRange: { min: number; max: number };
  manifest: string[];
  logLevel: string;
}

/** Where the bearer token may come from without showing in `ps`. */
const TOKEN_ENV = 'SDFLEET_CONTROL_PLANE_TOKEN';

function portRange(value: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(value.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) throw new InvalidArgumentError(`--port-range takes MIN-MAX, e.g. 7000-8000, got "${value}".`);
  return { min, max };
}

/**
 * `sdfleet control-plane`: the embedded control plane — object store, Kubernetes API,
 * Agones controllers and the process runner. Writes `<data-dir>/kubeconfig`.
 */
export function controlPlaneCommand(): Command {
  return new Command('control-plane')
    .summary('The embedded control plane: a Kubernetes API for Agones resources on this machine')
    .description(
      'Serve the Kubernetes API for Agones resources (GameServer, Fleet, FleetAutoscaler, GameServerAllocation, ' +
        'plus namespaces, configmaps, events, leases) from a local object store kept in --data-dir, so kubectl and ' +
        '@kubernetes/client-node work against it unchanged, and run the Agones controllers over it: Fleets become ' +
        'GameServers whose containers run as process groups on this machine (logs: sdfleet logs <gameserver>). ' +
        'Writes <data-dir>/kubeconfig on start. ' +
        `A bearer token is required when ${TOKEN_ENV} (or --token) is set; the API is then served over HTTPS ` +
        'with a self-signed certificate kept in --data-dir, which the kubeconfig trusts (kubectl sends tokens only over TLS).',
    )
    .addOption(new Option('--port <n>', 'API port (0: any free port)').argParser(intOption('--port', 0, 65535)).default(6443))
    .addOption(new Option('--host <addr>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--data-dir <dir>', 'where objects and the kubeconfig are kept').default('.sdfleet/control-plane'))
    .addOption(new Option('--token <token>', `require this bearer token (prefer ${TOKEN_ENV}: flags show in ps)`))
    .option('--gpus <ids>', 'GPU devices to hand out to GameServers that request nvidia.com/gpu, e.g. 0,1 or all:4')
    .option('--port-range <min-max>', 'host ports for Dynamic GameServer ports', portRange, { min: 7000, max: 8000 })
    .option('-f, --manifest <file>', 'create the objects of this YAML file when missing (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (flags: ControlPlaneFlags) => {
      const { startEmbedded } = await import('../fleet/control-plane/embedded.ts');
      const log = createLogger({ name: 'control-plane', level: flags.logLevel, pretty: process.stdout.isTTY });
      const token = flags.token ?? readEnv().controlPlaneToken;
      const embedded = await startEmbedded({
        dataDir: flags.dataDir,
        port: flags.port,
        host: flags.host,
        ...(token ? { token } : {}),
        gpus: parseGpuList(flags.gpus),
        portRange: flags.portRange,
        manifests: flags.manifest,
        logger: log,
      });
      const cp = embedded.controlPlane;
      log.info({ url: cp.api.url, dataDir: flags.dataDir, auth: token ? 'bearer token' : 'none' }, `control plane API listening on ${cp.api.url}`);
      process.stdout.write(
        `\nThe sdfleet control plane is serving ${cp.api.url}\n` +
          `Use it with kubectl or @kubernetes/client-node:\n\n` +
          `  export KUBECONFIG=${cp.kubeconfigPath}\n` +
          `  kubectl get fleets\n\nCtrl-C stops it.\n\n`,
      );
      stopOnSignal({ stop: () => embedded.stop(), abort: () => embedded.abort() });
    });
}
