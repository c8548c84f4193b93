import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createLogger } from '../common/log.ts';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { startEmbedded } from '../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../fleet/control-plane/resources/registry.ts';
import { parseGpuList } from '../fleet/control-plane/runner/gpus.ts';
import { phaseTable, type PhaseSummary } from '../sdk-wrapper/phases.ts';
import { intOption, stopOnSignal } from './run.ts';

const DEFAULT_MANIFESTS = fileURLToPath(new URL('../k8s/local/', import.meta.url));

interface UpFlags {
  dataDir: string;
  apiPort: number;
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
  return new Command('up')
    .description('Run sdfleet on this machine: the embedded control plane, a fleet of WebUI instances (sim-webui by default)')
    .option('--data-dir <dir>', 'state, logs, the lib dir, user outputs, the kubeconfig', '.sdfleet')
    .option('--api-port <port>', 'Kubernetes API port of the control plane', intOption('--api-port', 0, 65535), 8001)
    .option('--host <address>', 'address the API listens on', '127.0.0.1')
    .option('--gpus <ids>', 'GPU devices to hand out, e.g. 0,1 or all:4 (none by default)')
    .option('--manifests <dir>', 'YAML applied when its objects are missing', DEFAULT_MANIFESTS)
    .option('--log-level <level>', 'debug, info, warn, error', 'info')
    .action(async (f: UpFlags) => {
      const log = createLogger({ name: 'sdfleet', level: f.logLevel, pretty: process.stdout.isTTY });
      const dataDir = resolve(f.dataDir);
      // On one machine the lib disk is a local folder, marked ready as the node agent would.
      await mkdir(join(dataDir, 'lib'), { recursive: true });
      await writeFile(join(dataDir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
      const manifests = (await readdir(f.manifests)).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(f.manifests, n));
      const embedded = await startEmbedded({
        dataDir,
        port: f.apiPort,
        host: f.host,
        gpus: parseGpuList(f.gpus),
        manifests,
        logger: log,
      });
      const { api } = embedded.controlPlane;
      process.stdout.write(
        `\nsdfleet is up.\n  Kubernetes API:  ${api.url}\n  kubeconfig:      ${embedded.controlPlane.kubeconfigPath}\n` +
          `    export KUBECONFIG=${embedded.controlPlane.kubeconfigPath}\n    kubectl get fleets,gameservers\n    kubectl scale fleet sd-webui --replicas=4\n` +
          `  Logs of an instance: npx sdfleet logs <gameserver> --data-dir ${f.dataDir}\n` +
          (embedded.applied.created.length ? `  Created: ${embedded.applied.created.join(', ')}\n` : '') +
          'Ctrl-C stops everything.\n\n',
      );
      const shown = new Set<string>();
      embedded.controlPlane.store.onChange((e) => {
        if (e.resource !== RESOURCES.gameServers || e.type === 'DELETED') return;
        const gs = e.object as unknown as GameServer;
        const phases = gs.metadata.annotations?.[sdkKey(SDK_ANNOTATION.phases)];
        if (gs.status?.state !== 'Ready' || !phases || shown.has(gs.metadata.name!)) return;
        shown.add(gs.metadata.name!);
        const port = gs.status.ports?.find((p) => p.name === 'webui')?.port;
        process.stdout.write(`${gs.metadata.name} is Ready at http://${gs.status.address}:${port}/ — start-up phases:\n${phaseTable(JSON.parse(phases) as PhaseSummary)}\n\n`);
      });
      stopOnSignal({ stop: () => embedded.stop() });
    });
}
