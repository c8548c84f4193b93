/**
 * A self-signed certificate for the API. kubectl (client-go) sends a bearer token only
 * over TLS, so a control plane with a token serves HTTPS; the kubeconfig carries the
 * certificate as its CA.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsPair {
  /** PEM */
  cert: string;
  /** PEM */
  key: string;
}

/** Names the certificate is valid for: localhost, 127.0.0.1, ::1 and `host`. */
function altNames(host: string): { type: 2 | 7; value?: string; ip?: string }[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  return [...names].filter((n) => n && n !== '0.0.0.0' && n !== '::').map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
}

export async function generateSelfSigned(host: string): Promise<TlsPair> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'sdfleet-control-plane' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 5 * 365 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: altNames(host) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * The certificate kept in `dir` (tls.crt, tls.key), made on first use; with no dir, a
 * fresh one each start.
 */
export async function loadOrCreateTls(dir: string | undefined, host: string): Promise<TlsPair> {
  if (dir === undefined) return generateSelfSigned(host);
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const kept = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
    if (stillGood(kept.cert, host)) return kept;
  }
  const pair = await generateSelfSigned(host);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(keyFile, pair.key, { mode: 0o600 });
  fs.writeFileSync(certFile, pair.cert);
  return pair;
}

/** Valid for another week and for `host` (a restart may bind elsewhere). */
function stillGood(pem: string, host: string): boolean {
  try {
    const x = new X509Certificate(pem);
    if (Date.parse(x.validTo) < Date.now() + 7 * 24 * 3600_000) return false;
    if (host === '0.0.0.0' || host === '::') return true;
    return isIP(host) ? x.checkIP(host) !== undefined : x.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}
