/** The kubeconfig `sdfleet control-plane` writes so kubectl and client-node find it. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface KubeconfigOptions {
  /** `http://127.0.0.1:<port>` */
  server: string;
  /** Bearer token, when the API server requires one. */
  token?: string;
  /** PEM of the server's (self-signed) certificate, for an https server. */
  certificateAuthority?: string;
  /** Context, cluster and user name; default `sdfleet`. */
  name?: string;
  /** Default namespace of the context; default `default`. */
  namespace?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? 'sdfleet';
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': name,
    clusters: [{
      name,
      cluster: {
        server: o.server,
        ...(o.certificateAuthority ? { 'certificate-authority-data': Buffer.from(o.certificateAuthority).toString('base64') } : {}),
        // client-node 1.x refuses a plain-http server unless this is set; there is no TLS to verify.
        ...(o.server.startsWith('http://') ? { 'insecure-skip-tls-verify': true } : {}),
      },
    }],
    users: [{ name, user: o.token ? { token: o.token } : {} }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: o.namespace ?? 'default' } }],
    preferences: {},
  });
}

/** Writes the kubeconfig (mode 0600: it may hold the token) atomically; returns its path. */
export function writeKubeconfig(file: string, o: KubeconfigOptions): string {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp`;
  fs.writeFileSync(tmp, kubeconfigYaml(o), { mode: 0o600 });
  fs.renameSync(tmp, abs);
  return abs;
}
