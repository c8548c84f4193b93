import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { readEnv } from '../common/env.ts';
import { createLogger } from '../common/log.ts';
import { kubeClients, AGONES } from '../allocator/kube/clients.ts';
import { ResilientInformer } from '../allocator/kube/informer.ts';
import { defaultProfiles, loadProfiles } from '../allocator/profiles.ts';
import { WaitQueue } from '../allocator/queue/queue.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { parsePolicyConfig, POLICY_DEFAULTS, type PolicyConfig } from '../fleet/autoscaler/config.ts';
import { fleetLabelsReader } from '../fleet/autoscaler/fleet-labels.ts';
import { startAutoscalerServer } from '../fleet/autoscaler/server.ts';
import { AutoscalerService } from '../fleet/autoscaler/service.ts';
import { ConfigMapStore } from '../fleet/autoscaler/store.ts';
import type { AutoscalerFlags } from './autoscaler.ts';
import { stopOnSignal } from './run.ts';

/** What `sdfleet autoscaler` runs, imported only when it runs (see cli/README.md). */
export async function runAutoscaler(f: AutoscalerFlags): Promise<void> {
  const env = readEnv();
  const log = createLogger({ name: 'autoscaler', level: f.logLevel, pretty: process.stdout.isTTY });
  // Nothing grows a Fleet between syncs for this webhook (the allocators' leader does so
  // only for one at /_sdfleet/autoscaler/review): the buffer is sized for the sync's lag,
  // unless the settings say otherwise.
  const standalone: PolicyConfig = { ...POLICY_DEFAULTS, growOnArrival: false };
  const base = f.policy ? parsePolicyConfig(parseYaml(await readFile(f.policy, 'utf8')) as unknown, standalone) : standalone;
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
    base,
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
}
