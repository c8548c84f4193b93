/**
 * Just enough of the Kubernetes API for the taint: GET and JSON-PATCH one Node. (The
 * embedded control plane serves no core Nodes.)
 */
import { KubeConfig, type V1Node } from '@kubernetes/client-node';
import fjp from 'fast-json-patch';
import { listenLoopback, sendJson, type Loopback } from './http.ts';

export interface FakeKube extends Loopback {
  nodes: Map<string, V1Node>;
  /** `METHOD /path` of every request. */
  requests: string[];
  /** The next request answers this status (e.g. 403). */
  failNext(status: number): void;
  kubeConfig(): KubeConfig;
}

export async function startFakeKube(): Promise<FakeKube> {
  const nodes = new Map<string, V1Node>();
  const requests: string[] = [];
  let fail: number | undefined;
  const status = (code: number, message: string, reason: string): Record<string, unknown> => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
  const lb = await listenLoopback((req, res, body) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    if (fail !== undefined) {
      const code = fail;
      fail = undefined;
      return sendJson(res, code, status(code, `nodes is forbidden: User "system:serviceaccount:sdfleet:lib-disk" cannot ${req.method === 'GET' ? 'get' : 'patch'} resource "nodes"`, 'Forbidden'));
    }
    const m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (!m) return sendJson(res, 404, status(404, 'the server could not find the requested resource', 'NotFound'));
    const node = nodes.get(m[1]!);
    if (!node) return sendJson(res, 404, status(404, `nodes "${m[1]}" not found`, 'NotFound'));
    if (req.method === 'GET') return sendJson(res, 200, node);
    if (req.method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/json-patch+json') {
        return sendJson(res, 415, status(415, `unsupported patch type ${req.headers['content-type']}`, 'UnsupportedMediaType'));
      }
      try {
        const next = fjp.applyPatch(structuredClone(node), JSON.parse(body) as fjp.Operation[], true, false).newDocument;
        next.metadata = { ...next.metadata, resourceVersion: String(Number(node.metadata?.resourceVersion ?? '1') + 1) };
        nodes.set(m[1]!, next);
        return sendJson(res, 200, next);
      } catch (err) {
        return sendJson(res, 422, status(422, `the patch could not be applied: ${String(err)}`, 'Invalid'));
      }
    }
    return sendJson(res, 405, status(405, 'method not allowed', 'MethodNotAllowed'));
  });
  return Object.assign(lb, {
    nodes,
    requests,
    failNext: (code: number) => void (fail = code),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: lb.url, skipTLSVerify: true }],
        users: [{ name: 'agent', token: 'kube-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }],
        currentContext: 'fake',
      });
      return kc;
    },
  });
}
