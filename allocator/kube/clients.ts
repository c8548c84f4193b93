import type http from 'node:http';
import { CoordinationV1Api, CoreV1Api, createConfiguration, CustomObjectsApi, KubeConfig, PatchStrategy, ServerConfiguration, setHeaderOptions, type Configuration } from '@kubernetes/client-node';
import { nodeHttpLibrary } from './http-library.ts';

/** The API clients the allocator uses, for one namespace of one cluster (or embedded control plane). */
export interface KubeClients {
  kc: KubeConfig;
  namespace: string;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  core: CoreV1Api;
}

/**
 * client-node 1.x makes a new http(s).Agent for every request, so every API call opens a
 * new connection (a TCP, and on GKE a TLS, handshake each time). One keep-alive agent per
 * KubeConfig, made from the same options the first time, lets calls reuse connections.
 */
function reuseConnections(kc: KubeConfig): void {
  const original = (kc as unknown as { createAgent(cluster: unknown, options: object): http.Agent }).createAgent.bind(kc);
  let agent: http.Agent | undefined;
  (kc as unknown as { createAgent(cluster: unknown, options: object): http.Agent }).createAgent = (cluster, options) => {
    agent ??= original(cluster, { ...options, keepAlive: true, maxSockets: 128, maxFreeSockets: 32 });
    return agent;
  };
}

/** From a kubeconfig file, or the in-cluster service account when none is given. */
export function kubeClients(o: { kubeconfig?: string; namespace: string }): KubeClients {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  reuseConnections(kc);
  const config = apiConfiguration(kc);
  return {
    kc,
    namespace: o.namespace,
    custom: new CustomObjectsApi(config),
    coordination: new CoordinationV1Api(config),
    core: new CoreV1Api(config),
  };
}

/** What `kc.makeApiClient` configures (the current cluster, the kubeconfig's authentication), with the node:http transport. */
function apiConfiguration(kc: KubeConfig): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster; set current-context (kubectl config use-context NAME)');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: nodeHttpLibrary(),
  });
}

export const AGONES = { group: 'agones.dev', version: 'v1' } as const;
export const ALLOCATION = { group: 'allocation.agones.dev', version: 'v1', plural: 'gameserverallocations' } as const;

/** Options for a JSON merge patch with client-node 1.x. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** HTTP status of a client-node error (ApiException.code), or undefined for a network error. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
