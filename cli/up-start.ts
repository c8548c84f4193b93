import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createLogger } from '../common/log.ts';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import type { GameServer } from '../fleet/agones/types.ts';
import { startEmbedded } from '../fleet/control-plane/embedded.ts';
import { RESOURCES } from '../fleet/control-plane/resources/registry.ts';
import { parseGpuList } from '../fleet/control-plane/runner/gpus.ts';
import { phaseTable, type PhaseSummary } from '../sdk-wrapper/phases.ts';
import { readEnv } from '../common/env.ts';
import { identityOptionsFromEnv } from '../allocator/identity/index.ts';
import { kubeClients } from '../allocator/kube/clients.ts';
import { localCookieSecret } from '../allocator/local-secret.ts';
import { defaultProfiles, loadProfiles } from '../allocator/profiles.ts';
import { startAllocator } from '../allocator/server.ts';
import { POLICY_DEFAULTS } from '../fleet/autoscaler/config.ts';
import type { UpFlags } from './up.ts';
import { stopOnSignal } from './run.ts';

/** What `sdfleet up` runs, imported only when it runs (see cli/README.md). */
export async function runUp(f: UpFlags): Promise<void> {
  const log = createLogger({ name: 'sdfleet', level: f.logLevel, pretty: process.stdout.isTTY });
  const dataDir = resolve(f.dataDir);
  // On one machine the lib disk is a local folder, marked ready as the node agent would.
  await mkdir(join(dataDir, 'lib'), { recursive: true });
  await writeFile(join(dataDir, 'lib', '.sdfleet-ready'), JSON.stringify({ image: 'local', version: 'local', mountedAt: new Date().toISOString() }));
  const manifests = (await readdir(f.manifests)).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(f.manifests, n));
  // The FleetAutoscaler's webhook (k8s/local/fleetautoscaler.yaml) is the allocator's; known once it listens.
  const services: Record<string, string> = {};
  const embedded = await startEmbedded({
    dataDir,
    port: f.apiPort,
    host: f.host,
    gpus: parseGpuList(f.gpus),
    manifests,
    services,
    logger: log,
  });
  const { api } = embedded.controlPlane;
  const env = readEnv();
  const identity = identityOptionsFromEnv(env, { mode: 'dev', cookieSecret: localCookieSecret(dataDir), logger: log });
  // On one machine someone must be able to see the admin page: "admin", unless told otherwise.
  if ((identity.admins ?? []).length === 0 && identity.mode === 'dev') identity.admins = ['admin'];
  let allocator: Awaited<ReturnType<typeof startAllocator>>;
  try {
    allocator = await startAllocator({
      k: kubeClients({ kubeconfig: embedded.controlPlane.kubeconfigPath!, namespace: 'default' }),
      identity,
      profiles: f.profiles ? await loadProfiles(f.profiles) : defaultProfiles(f.fleet),
      policy: { idleLimitMs: f.idleLimit * 1000, warnBeforeMs: f.idleWarning * 1000, maxSessionMs: f.maxSession * 1000 },
      userStore: join(dataDir, 'user-store'),
      port: f.port,
      host: f.host,
      logger: log.child({ service: 'allocator' }),
      core: { queueGraceSeconds: f.queueGrace, maxQueue: f.maxQueue },
      // Schedules and the day profile in this machine's time zone (the ConfigMap may say otherwise).
      autoscaler: { base: { ...POLICY_DEFAULTS, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } },
    });
    services['default/sdfleet-allocator'] = allocator.url;
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  process.stdout.write(
    `\nsdfleet is up.\n  Web page:        ${allocator.url}/_sdfleet/${identity.mode === 'dev' ? `  (sign in with any name; admins: ${(identity.admins ?? []).join(', ')})` : ''}\n  Kubernetes API:  ${api.url}\n  kubeconfig:      ${embedded.controlPlane.kubeconfigPath}\n` +
      `    export KUBECONFIG=${embedded.controlPlane.kubeconfigPath}\n    kubectl get fleets,gameservers\n    kubectl scale fleet sd-webui --replicas=4\n` +
      `  Logs of an instance: npx sdfleet logs <gameserver> --data-dir ${f.dataDir}\n` +
      (embedded.applied.created.length ? `  Created: ${embedded.applied.created.join(', ')}\n` : '') +
      keptReport(embedded.applied.differ, f.dataDir) +
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
  stopOnSignal({
    stop: async () => {
      await allocator.stop();
      await embedded.stop();
    },
    abort: () => embedded.abort(),
  });
}

/** Short text of a value for one line. */
const shortValue = (v: unknown): string => {
  const t = v === undefined ? 'not set' : JSON.stringify(v);
  return t.length > 48 ? `${t.slice(0, 45)}...` : t;
};

/**
 * Objects the data dir keeps that differ from the manifests shipped now (changed since,
 * or made by an older sdfleet): each with its first difference and how to take the new one.
 */
function keptReport(differ: readonly { object: string; path: string; stored: unknown; manifest: unknown; file: string }[], dataDir: string): string {
  if (differ.length === 0) return '';
  const lines = differ.map((d) => `    ${d.object}: ${d.path} is ${shortValue(d.stored)}, ${relative(process.cwd(), d.file) || d.file} has ${shortValue(d.manifest)}`);
  return `  Kept as they are in ${dataDir}, unlike the manifests (changed since, or made by an older sdfleet);\n  \`kubectl apply -f <file>\` takes the manifest's:\n${lines.join('\n')}\n`;
}

