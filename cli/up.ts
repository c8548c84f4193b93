import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { allocatorOptions, type AllocatorFlags } from './allocator.ts';
import { intOption } from './run.ts';

const DEFAULT_MANIFESTS = fileURLToPath(new URL('../k8s/local/', import.meta.url));

export interface UpFlags extends Omit<AllocatorFlags, 'kubeconfig' | 'namespace' | 'port' | 'host' | 'userStore'> {
  dataDir: string;
  apiPort: number;
  port: number;
  host: string;
  gpus?: string;
  manifests: string;
  logLevel: string;
}

/**
 * `sdfleet up`: everything on one machine — the embedded control plane with its
 * controllers and process runner, and the default fleet of wrapped sim-webui instances.
 */
export function upCommand(): Command {
  const cmd = new Command('up')
    .description(
      'Run sdfleet on this machine: the embedded control plane, a fleet of WebUI instances (sim-webui by default) and the ' +
        'allocator with its web page. Sign-in is dev mode (a name, no password) unless SDFLEET_IDENTITY says otherwise.',
    )
    .option('--data-dir <dir>', 'state, logs, the lib dir, user outputs, the kubeconfig', '.sdfleet')
    .option('--port <port>', "the allocator's port (the web page)", intOption('--port', 0, 65535), 8080)
    .option('--api-port <port>', 'Kubernetes API port of the control plane', intOption('--api-port', 0, 65535), 8001)
    .option('--host <address>', 'address the API listens on', '127.0.0.1')
    .option('--gpus <ids>', 'GPU devices to hand out, e.g. 0,1 or all:4 (none by default)')
    .option('--manifests <dir>', 'YAML applied when its objects are missing', DEFAULT_MANIFESTS)
    .option('--log-level <level>', 'debug, info, warn, error', 'info');
  // The allocator's own options, but for those `up` decides (kubeconfig, namespace, store).
  const allocatorFlags = allocatorOptions(new Command());
  for (const opt of allocatorFlags.options) {
    if (!['--kubeconfig', '--namespace', '--user-store'].includes(opt.long ?? '')) cmd.addOption(opt);
  }
  return cmd
    .action(async (f: UpFlags) => (await import('./up-start.ts')).runUp(f));
}
