import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { InvalidArgumentError } from 'commander';
import { Registry } from 'prom-client';
import { readEnv } from '../common/env.ts';
import { errorMessage } from '../common/errors.ts';
import { createLogger } from '../common/log.ts';
import { LibDiskAgent, resolveLocation, runLoop } from '../fleet/lib-disk/agent.ts';
import { GoogleDiskApi } from '../fleet/lib-disk/compute.ts';
import { LibDiskError } from '../fleet/lib-disk/errors.ts';
import { GceMetadata } from '../fleet/lib-disk/metadata.ts';
import { LibDiskMetrics, serveMetrics } from '../fleet/lib-disk/metrics.ts';
import { HostMounter } from '../fleet/lib-disk/mounter.ts';
import { parseImage } from '../fleet/lib-disk/names.ts';
import { formatPlan } from '../fleet/lib-disk/plan.ts';
import { KubeNodeTaints } from '../fleet/lib-disk/taint.ts';
import type { LibDiskFlags } from './lib-disk.ts';
import { stopOnSignal } from './run.ts';

/** What `sdfleet lib-disk` runs, imported only when it runs (see cli/README.md). */
export async function runLibDisk(f: LibDiskFlags): Promise<void> {
  const env = readEnv();
  const log = createLogger({ name: 'lib-disk', level: f.logLevel, pretty: process.stdout.isTTY });
  const node = f.nodeName ?? env.nodeName;
  if (!node) {
    throw new InvalidArgumentError('no node name: set NODE_NAME from the Downward API (env valueFrom fieldRef spec.nodeName) or pass --node-name.');
  }
  const registry = new Registry();
  const metrics = new LibDiskMetrics(registry);
  const metadata = new GceMetadata({ ...(f.metadataHost ?? env.gceMetadataHost ? { host: f.metadataHost ?? env.gceMetadataHost } : {}) });
  let compute: GoogleDiskApi | undefined;
  try {
    const { project, zone } = await resolveLocation(metadata, { ...(f.project ? { project: f.project } : {}), ...(f.zone ? { zone: f.zone } : {}) }, metrics);
    const image = parseImage(f.image, project);
    compute = new GoogleDiskApi({
      project, log, token: () => metadata.accessToken(), operationTimeoutMs: f.operationTimeout * 1000,
      ...(f.computeEndpoint ? { endpoint: f.computeEndpoint } : {}),
    });
    let taints: KubeNodeTaints | undefined;
    if (f.taint !== false) {
      // Nothing is contacted until a pass removes the taint, so --dry-run needs no cluster.
      const kc = new KubeConfig();
      if (f.kubeconfig) kc.loadFromFile(f.kubeconfig);
      else kc.loadFromDefault();
      taints = new KubeNodeTaints(kc);
    }
    const hostRoot = (f.hostRoot ?? (env.inPod ? '/proc/1/root' : '')).replace(/\/+$/, '');
    const agent = new LibDiskAgent({
      node, project, zone, image, strategy: f.strategy, diskType: f.diskType, prefix: f.diskPrefix, hyperdiskMlSeries: f.hyperdiskMlSeries,
      ...(f.imageVersion ? { imageVersion: f.imageVersion } : {}), ...(f.sizeGb ? { sizeGb: f.sizeGb } : {}),
      byIdDir: f.byIdDir, hostRoot, mountDir: f.mountDir, markerPath: f.marker ?? join(dirname(f.mountDir), '.sdfleet-ready'),
      fsType: f.fsType, verify: f.verify, manifestFile: f.manifest,
      ...(f.taint !== false ? { taintKey: f.taint } : {}), ...(taints ? { taints } : {}),
      deviceTimeoutMs: f.deviceTimeout * 1000, diskReadyTimeoutMs: f.operationTimeout * 1000,
      compute, mounter: new HostMounter({ nsenter: f.nsenter }), metrics, log,
    });
    log.info({ node, project, zone, image: image.path, strategy: f.strategy }, 'lib-disk agent starting');
    if (f.dryRun) {
      process.stdout.write(formatPlan(await agent.plan()));
      await compute.close();
      return;
    }
    if (f.once) {
      await agent.pass();
      await compute.close();
      return;
    }
    const server = f.metricsPort > 0 ? await serveMetrics({ registry, metrics, port: f.metricsPort, host: f.metricsHost ?? (env.inPod ? '0.0.0.0' : '127.0.0.1') }) : undefined;
    if (server) log.info({ url: `${server.url}/metrics` }, 'metrics served');
    const ac = new AbortController();
    const loop = runLoop(agent, { recheckMs: f.recheck * 1000, signal: ac.signal, log });
    const api = compute;
    stopOnSignal({
      stop: async () => {
        ac.abort();
        await loop;
        await server?.stop();
        await api.close();
      },
    });
  } catch (err) {
    await compute?.close().catch(() => undefined);
    if (err instanceof LibDiskError && err.code === 'bad_input') throw err;
    log.error({ code: err instanceof LibDiskError ? err.code : 'error' }, errorMessage(err));
    process.stderr.write(`sdfleet lib-disk: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}
