import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Taint } from '@kubernetes/client-node';
import { LibDiskError } from './errors.ts';

export { DEFAULT_STARTUP_TAINT } from './names.ts';


/** The node's startup taint, which keeps WebUI pods off the node until the lib disk is ready. */
export interface NodeTaints {
  /** Removes every taint with `key` from the node; false when there was none. */
  remove(node: string, key: string): Promise<boolean>;
}

const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * Over the Kubernetes API: read the Node, then a JSON patch whose `test` ops make it fail
 * (and be retried) if the taints changed in between, so another controller's taint is
 * never removed by index. Needs `get` and `patch` on nodes.
 */
export class KubeNodeTaints implements NodeTaints {
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async remove(node: string, key: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      let taints: V1Taint[];
      try {
        taints = (await this.#core.readNode({ name: node })).spec?.taints ?? [];
      } catch (err) {
        throw kubeError(err, `get node ${node}`);
      }
      const at = taints.flatMap((t, i) => (t.key === key ? [i] : []));
      if (at.length === 0) return false;
      // Highest index first, so the earlier indexes stay valid.
      const ops = at.reverse().flatMap((i) => [
        { op: 'test', path: `/spec/taints/${i}/key`, value: key },
        { op: 'remove', path: `/spec/taints/${i}` },
      ]);
      try {
        await this.#core.patchNode({ name: node, body: ops }, JSON_PATCH);
        return true;
      } catch (err) {
        // 422: a `test` failed because the taints moved; read again.
        if (err instanceof ApiException && err.code === 422 && attempt < 5) continue;
        throw kubeError(err, `patch node ${node} (remove taint ${key})`);
      }
    }
  }
}

function kubeError(err: unknown, what: string): LibDiskError {
  const code = err instanceof ApiException ? err.code : undefined;
  if (code === 403) {
    return new LibDiskError('taint_failed', `${what} was forbidden: the agent's Kubernetes service account needs "get" and "patch" on nodes (a ClusterRole bound to it).`, err);
  }
  if (code === 404) {
    return new LibDiskError('taint_failed', `${what}: no such node. --node-name must be the pod's spec.nodeName (Downward API).`, err);
  }
  return new LibDiskError('taint_failed', `${what} failed: ${err instanceof Error ? err.message : String(err)}`, err);
}
