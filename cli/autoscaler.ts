import { Command, Option } from 'commander';
import { intOption } from './run.ts';

export interface AutoscalerFlags {
  kubeconfig?: string;
  namespace: string;
  port: number;
  host?: string;
  profiles?: string;
  fleet: string;
  policy?: string;
  logLevel: string;
}

/**
 * `sdfleet autoscaler`: the demand-aware FleetAutoscaler webhook on its own, for a
 * cluster that runs it apart from the allocator (which serves the same webhook at
 * /_sdfleet/autoscaler/review). It reads the queue Leases and the GameServers with the
 * allocator's own informers, read-only.
 */
export function autoscalerCommand(): Command {
  return new Command('autoscaler')
    .summary('The demand-aware FleetAutoscaler webhook, on its own port')
    .description(
      'Serve the FleetAutoscaler webhook (POST /review: a FleetAutoscaleReview in, {response:{uid, scale, replicas}} out) ' +
        "sized from the allocators' shared queue, the arrival rate, the measured cold start, a day profile learned from " +
        'history and schedule rules; GET /status shows the last decision of each fleet with its reason, /metrics the gauges. ' +
        'Settings: the sdfleet-autoscaler ConfigMap (key policy.yaml) over --policy; the history is kept in the ' +
        'sdfleet-autoscaler-history ConfigMap. The allocator serves the same webhook at /_sdfleet/autoscaler/review: ' +
        'run this only to keep it apart. See fleet/autoscaler/README.md.',
    )
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: in-cluster, then ~/.kube/config)')
    .option('-n, --namespace <ns>', 'namespace of the fleets, the queue and the ConfigMaps', 'default')
    .option('--port <port>', 'port to listen on', intOption('--port', 0, 65535), 8082)
    .option('--host <address>', 'address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)')
    .option('--profiles <file>', "the allocator's profiles YAML: which queue is whose fleet (default: one profile for --fleet)")
    .option('--fleet <name>', 'the fleet of the default profile', 'sd-webui')
    .option('--policy <file>', 'YAML settings the ConfigMap is laid over (fleet/autoscaler/config.ts)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (f: AutoscalerFlags) => (await import('./autoscaler-start.ts')).runAutoscaler(f));
}
