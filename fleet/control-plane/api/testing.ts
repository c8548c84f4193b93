/** A store + API server on 127.0.0.1:0 for tests, and a client-node KubeConfig for it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { MemoryObjectStore } from '../store/memory-store.ts';
import { openStore, type OpenStoreOptions } from '../store/open-store.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { startApiServer, type ApiServer, type ApiServerOptions } from './server.ts';

export interface ApiFixture {
  store: MemoryObjectStore;
  api: ApiServer;
  url: string;
  /** A KubeConfig for client-node pointing at the server (with the token, if any). */
  kc: KubeConfig;
  /** A kubeconfig file for kubectl. */
  kubeconfigPath: string;
  dataDir: string | undefined;
  /** Stops the server and closes the store (the data dir stays, for restart tests). */
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  store?: OpenStoreOptions;
  api?: Omit<ApiServerOptions, 'store'>;
  /** Reuse a store (e.g. to restart only the API). */
  existingStore?: MemoryObjectStore;
}

export async function apiFixture(opts: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const store = opts.existingStore ?? openStore(opts.store);
  const api = await startApiServer({ ...opts.api, store, port: opts.api?.port ?? 0, host: '127.0.0.1' });
  const token = opts.api?.token;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sdfleet', server: api.url, skipTLSVerify: true }],
    users: [{ name: 'sdfleet', ...(token ? { token } : {}) }],
    contexts: [{ name: 'sdfleet', cluster: 'sdfleet', user: 'sdfleet', namespace: 'default' }],
    currentContext: 'sdfleet',
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-kubeconfig-'));
  const tls = opts.api?.tls;
  const kubeconfigPath = writeKubeconfig(path.join(dir, 'kubeconfig'), { server: api.url, ...(token ? { token } : {}), ...(tls ? { certificateAuthority: tls.cert } : {}) });
  return {
    store,
    api,
    url: api.url,
    kc,
    kubeconfigPath,
    dataDir: opts.store?.dataDir,
    close: async () => {
      await api.stop();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * apiFixture for a test file: every fixture it makes is closed when the file's tests are
 * done (node:test's `after`).
 */
export function apiFixtures(): (opts?: ApiFixtureOptions) => Promise<ApiFixture> {
  const made: ApiFixture[] = [];
  after(async () => {
    for (const f of made) await f.close();
  });
  return async (opts) => {
    const f = await apiFixture(opts);
    made.push(f);
    return f;
  };
}

/** Polls `get` until `ok` holds, or fails after `ms` naming `what`. */
export async function waitFor<T>(get: () => T, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
