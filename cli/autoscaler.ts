import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { readEnv } from '../common/env.ts';
import { createLogger } from '../common/log.ts';
import { kubeClients, AGONES } from '../allocator/kube/clients.ts';
import { ResilientInformer } from '../allocator/kube/informer.ts';
import { defaultProfiles, loadProfiles } from '../allocator/profiles.ts';
import { WaitQueue } from '../allocator/queue/queue.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { parsePolicyConfig } from '../fleet/autoscaler/config.ts';
import { fleetLabelsReader } from '../fleet/autoscaler/fleet-labels.ts';
import { startAutoscalerServer } from '../fleet/autoscaler/server.ts';
import { AutoscalerService } from '../fleet/autoscaler/service.ts';
import { ConfigMapStore } from '../fleet/autoscaler/store.ts';
import { intOption, stopOnSignal } from './run.ts';

interface AutoscalerFlags {
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
    .action(async (f: AutoscalerFlags) => {
      const env = readEnv();
      const log = createLogger({ name: 'autoscaler', level: f.logLevel, pretty: process.stdout.isTTY });
      const base = f.policy ? parsePolicyConfig(parseYaml(await readFile(f.policy, 'utf8')) as unknown) : undefined;
      const k = kubeClients({ ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}), namespace: f.namespace });
      const profiles = f.profiles ? await loadProfiles(f.profiles) : defaultProfiles(f.fleet);
      // The allocator's queue, read-only here: entries() lists the Leases; nothing is renewed or written.
      const queue = new WaitQueue({ k, identity: `sdfleet-autoscaler-${hostname()}`, graceSeconds: 120, maxPerProfile: 1_000_000, log });
      const gameServers = new ResilientInformer<KubernetesObject>({
        kc: k.kc,
        path: `/apis/agones.dev/v1/namespaces/${k.namespace}/gameservers`,
        list: () => k.custom.listNamespacedCustomObject({ ...AGONES, namespace: k.namespace, plural: 'gameservers' }) as never,
        log,
        events: {},
      });
      await Promise.all([queue.start(), gameServers.start()]);
      const metrics = new Registry();
      const service = new AutoscalerService({
        views: {
          synced: () => gameServers.isSynced,
          queue,
          gameServers: { all: () => gameServers.list() as unknown as GameServer[] },
          profiles,
          fleetLabels: fleetLabelsReader(k.custom),
        },
        store: new ConfigMapStore(k.core),
        metrics,
        log,
        ...(base ? { base } : {}),
      });
      const server = await startAutoscalerServer({ service, port: f.port, host: f.host ?? (env.inPod ? '0.0.0.0' : '127.0.0.1'), metrics, log });
      process.stdout.write(
        `\nsdfleet autoscaler: POST ${server.url}/review (a FleetAutoscaler's webhook), GET ${server.url}/status\n\n`,
      );
      stopOnSignal({
        stop: async () => {
          await server.stop();
          await Promise.all([queue.stop(), gameServers.stop()]);
        },
      });
    });
}
