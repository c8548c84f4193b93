import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { startControlPlane, type ControlPlane } from './api/control-plane.ts';
import { startControllers, type Controllers } from './controllers/index.ts';
import { createMissing, readManifests, type KeptDifference } from './manifests.ts';
import { defaultRegistry } from './resources/registry.ts';
import { ProcessRunner } from './runner/process-runner.ts';
import type { GameServerRunner } from './runner/runner.ts';

export interface EmbeddedOptions {
  /** State, logs, the kubeconfig. */
  dataDir: string;
  /** API port (0 = any free one). */
  port: number;
  host?: string;
  /** Bearer token the API requires (in the kubeconfig written). */
  token?: string;
  /** GPU device ids to hand out. */
  gpus?: string[];
  /** Host ports for Dynamic GameServer ports. Default 7000–8000. */
  portRange?: { min: number; max: number };
  /** Where GameServers run; default a ProcessRunner logging under `<dataDir>/logs`. */
  runner?: GameServerRunner;
  /** An SDK server per GameServer. Default: with the default runner only (a given runner may start no process). */
  sdkServers?: boolean;
  /** Manifest files whose objects are created when missing. */
  manifests?: string[];
  /** Webhook service references → local base URLs. */
  services?: Record<string, string>;
  logger?: Logger;
}

export interface Embedded {
  controlPlane: ControlPlane;
  controllers: Controllers;
  /** Objects the manifests created, and those that existed already. */
  /** What the manifests did: created, kept as they were, and kept ones that differ from their manifest (with its file). */
  applied: { created: string[]; kept: string[]; differ: (KeptDifference & { file: string })[] };
  /** Stops the controllers (and every GameServer process), then the API and the store. */
  stop(): Promise<void>;
  /** Kills every instance's process group now (the process exits without stopping: a second Ctrl-C). */
  abort(): void;
}

/**
 * The whole embedded control plane: store, Kubernetes API, Agones controllers, process
 * runner. `sdfleet control-plane` and `sdfleet up` run it.
 */
export async function startEmbedded(o: EmbeddedOptions): Promise<Embedded> {
  const log = o.logger ?? silentLogger();
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const controlPlane = await startControlPlane({
    dataDir,
    port: o.port,
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    logger: log,
  });
  const runner = o.runner ?? new ProcessRunner({
    logDir: join(dataDir, 'logs'),
    log: log.child({ part: 'runner' }),
    baseEnv: { ...process.env, SDFLEET_DATA_DIR: dataDir },
  });
  let controllers: Controllers;
  try {
    controllers = startControllers({
      store: controlPlane.store,
      runner,
      registerCreateHandler: (r, h) => controlPlane.api.registerCreateHandler(r, h),
      log,
      sdkServers: o.sdkServers ?? o.runner === undefined,
      ...(o.gpus ? { gpus: o.gpus } : {}),
      ...(o.portRange ? { portRange: o.portRange } : {}),
      ...(o.services ? { services: o.services } : {}),
    });
  } catch (err) {
    await controlPlane.stop();
    throw err;
  }
  let applied: Embedded['applied'] = { created: [], kept: [], differ: [] };
  try {
    const registry = defaultRegistry();
    for (const file of o.manifests ?? []) {
      const r = createMissing(controlPlane.store, registry, await readManifests(file));
      applied = { created: [...applied.created, ...r.created], kept: [...applied.kept, ...r.kept], differ: [...applied.differ, ...r.differ.map((d) => ({ ...d, file }))] };
    }
  } catch (err) {
    await controllers.stop();
    await controlPlane.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    controlPlane,
    controllers,
    applied,
    abort: () => runner.killAllNow?.(),
    stop: () =>
      (stopping ??= (async () => {
        await controllers.stop();
        await controlPlane.stop();
      })()),
  };
}
