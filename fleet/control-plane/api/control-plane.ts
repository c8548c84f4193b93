/**
 * `startControlPlane`: store + API server + kubeconfig, the way `sdfleet control-plane`
 * and `sdfleet up` run them. Controllers are wired on the result: they use `store`
 * directly and register create handlers on `api`.
 */
import path from 'node:path';
import { silentLogger, type Logger } from '../../../common/log.ts';
import type { MemoryObjectStore } from '../store/memory-store.ts';
import { openStore, type OpenStoreOptions } from '../store/open-store.ts';
import type { ResourceKey } from '../store/types.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { startApiServer, type ApiServer, type ApiServerOptions, type CreateHandler } from './server.ts';
import { loadOrCreateTls, type TlsPair } from './tls.ts';

export interface ControlPlaneOptions {
  /** State across restarts, and where `kubeconfig` is written; absent = memory only, no kubeconfig. */
  dataDir?: string;
  /** API port; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Bearer token the API requires (and the kubeconfig carries). */
  token?: string;
  /**
   * Serve HTTPS with a self-signed certificate (kept in `<dataDir>/tls.crt`, `tls.key`;
   * the kubeconfig trusts it). Default: on when there is a token, since kubectl sends a
   * token only over TLS.
   */
  tls?: boolean;
  createHandlers?: Readonly<Record<ResourceKey, CreateHandler>>;
  logger?: Logger;
  /** Where to write the kubeconfig; default `<dataDir>/kubeconfig`; false = don't. */
  kubeconfigPath?: string | false;
  /** Passed to openStore. */
  store?: Omit<OpenStoreOptions, 'dataDir' | 'logger'>;
  /** Passed to startApiServer. */
  api?: Omit<ApiServerOptions, 'store' | 'port' | 'host' | 'token' | 'tls' | 'createHandlers' | 'logger'>;
}

export interface ControlPlane {
  store: MemoryObjectStore;
  api: ApiServer;
  /** Absolute path of the kubeconfig written, if any. */
  kubeconfigPath: string | undefined;
  /** Stops the API (ending watches), then closes the store (writing pending batches). */
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.logger ?? silentLogger();
  const store = openStore({ ...opts.store, ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}), logger: log.child({ part: 'store' }) });
  let api: ApiServer;
  let tls: TlsPair | undefined;
  try {
    if (opts.tls ?? opts.token !== undefined) tls = await loadOrCreateTls(opts.dataDir, opts.host ?? '127.0.0.1');
    api = await startApiServer({
      ...opts.api,
      store,
      port: opts.port ?? 0,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(tls ? { tls } : {}),
      ...(opts.createHandlers !== undefined ? { createHandlers: opts.createHandlers } : {}),
      logger: log.child({ part: 'api' }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let kubeconfigPath: string | undefined;
  const target = opts.kubeconfigPath ?? (opts.dataDir !== undefined ? path.join(opts.dataDir, 'kubeconfig') : false);
  if (target !== false) {
    kubeconfigPath = writeKubeconfig(target, { server: api.url, ...(opts.token ? { token: opts.token } : {}), ...(tls ? { certificateAuthority: tls.cert } : {}) });
  }
  let stopping: Promise<void> | undefined;
  return {
    store,
    api,
    kubeconfigPath,
    stop: () =>
      (stopping ??= (async () => {
        await api.stop();
        await store.close();
      })()),
  };
}
