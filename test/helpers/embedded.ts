/** An embedded control plane with real processes, in a temp dir, for cross-folder tests. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { startEmbedded, type Embedded } from '../../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import type { KubeObject } from '../../fleet/control-plane/store/types.ts';

export const READY_SERVER = fileURLToPath(new URL('../fixtures/ready-server.mjs', import.meta.url));

export const AG = { group: 'agones.dev', version: 'v1', namespace: 'default' };

export interface EmbeddedRig {
  e: Embedded;
  dataDir: string;
  kubeconfig: string;
  api: CustomObjectsApi;
  gameServers(): GameServer[];
  /** Waits until `pred` holds for the GameServers, or throws with their states. */
  until(pred: (gss: GameServer[]) => boolean, what: string, ms?: number): Promise<GameServer[]>;
  scale(fleet: string, replicas: number): Promise<void>;
  allocate(body?: Record<string, unknown>): Promise<KubeObject & { status: { state: string; gameServerName?: string } }>;
  close(): Promise<void>;
}

/** A Fleet whose GameServers run `command` (light ready-server by default). */
export function fleetOf(
  name: string,
  replicas: number,
  command: string[] = [process.execPath, READY_SERVER],
  health = { initialDelaySeconds: 10, periodSeconds: 2, failureThreshold: 3 },
  resources?: { limits: Record<string, number> },
): KubeObject {
  return {
    apiVersion: 'agones.dev/v1',
    kind: 'Fleet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      template: {
        spec: {
          ports: [{ name: 'webui', containerPort: 7860, protocol: 'TCP' }],
          health,
          template: { spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'webui', image: 'local', command, ...(resources ? { resources } : {}) }] } },
        },
      },
    },
  };
}

export async function embeddedRig(opts: {
  portRange?: { min: number; max: number };
  gpus?: string[];
  /** Webhook service references → local base URLs (filled in later is fine: read at each sync). */
  services?: Record<string, string>;
  /** Manifest files created at start. */
  manifests?: string[];
} = {}): Promise<EmbeddedRig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sdfleet-e2e-'));
  await mkdir(join(dataDir, 'lib'), { recursive: true });
  await writeFile(join(dataDir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
  const e = await startEmbedded({
    dataDir, port: 0, portRange: opts.portRange ?? { min: 30000, max: 30999 }, logger: silentLogger(),
    ...(opts.gpus ? { gpus: opts.gpus } : {}), ...(opts.services ? { services: opts.services } : {}), ...(opts.manifests ? { manifests: opts.manifests } : {}),
  });
  const kubeconfig = e.controlPlane.kubeconfigPath!;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CustomObjectsApi);
  let closing: Promise<void> | undefined;
  const gameServers = () => e.controlPlane.store.list(RESOURCES.gameServers).items as unknown as GameServer[];
  return {
    e, dataDir, kubeconfig, api, gameServers,
    until: async (pred, what, ms = 30_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const gss = gameServers();
        if (pred(gss)) return gss;
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; GameServers: ${gss.map((g) => `${g.metadata.name}=${g.status?.state}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    scale: async (fleet, replicas) => {
      await api.patchNamespacedCustomObject({ ...AG, plural: 'fleets', name: fleet, body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
    allocate: async (body) =>
      (await api.createNamespacedCustomObject({
        group: 'allocation.agones.dev', version: 'v1', namespace: 'default', plural: 'gameserverallocations',
        body: body ?? { apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: {} },
      })) as KubeObject & { status: { state: string; gameServerName?: string } },
    // Idempotent: a test may close its rig and the file's after() closes every rig again.
    close: () => (closing ??= (async () => {
      await e.stop();
      await rm(dataDir, { recursive: true, force: true });
    })()),
  };
}

export const ready = (gss: GameServer[]) => gss.filter((g) => g.status?.state === 'Ready');
