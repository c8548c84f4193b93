/**
 * The allocator's API clients (allocator/kube/clients.ts: client-node's generated clients on
 * the node:http transport of allocator/kube/http-library.ts) against the control plane's
 * API server, over HTTP and over HTTPS with a bearer token and the kubeconfig's CA.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { kubeClients, mergePatch, statusOf } from '../../allocator/kube/clients.ts';
import { writeKubeconfig } from '../../fleet/control-plane/api/kubeconfig.ts';
import { apiFixture, type ApiFixture } from '../../fleet/control-plane/api/testing.ts';
import { generateSelfSigned } from '../../fleet/control-plane/api/tls.ts';
import { sampleFleet } from '../../fleet/control-plane/resources/testing.ts';

const FLEETS = { group: 'agones.dev', version: 'v1', namespace: 'default', plural: 'fleets' };
type Obj = { metadata: { name: string; labels?: Record<string, string> }; spec: { replicas: number } };

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fixture(opts?: Parameters<typeof apiFixture>[0]): Promise<ApiFixture> {
  const f = await apiFixture(opts);
  cleanups.push(() => f.close());
  return f;
}

function tempKubeconfig(server: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-kc-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return writeKubeconfig(path.join(dir, 'kubeconfig'), { server });
}

describe('the allocator’s API clients (node:http transport)', () => {
  it('create, get, list, merge patch and delete; API errors keep their status', async () => {
    const f = await fixture();
    const k = kubeClients({ kubeconfig: f.kubeconfigPath, namespace: 'default' });
    const created = (await k.custom.createNamespacedCustomObject({ ...FLEETS, body: sampleFleet('webui', 2) })) as Obj;
    assert.equal(created.metadata.name, 'webui');
    assert.equal(created.spec.replicas, 2);
    const got = (await k.custom.getNamespacedCustomObject({ ...FLEETS, name: 'webui' })) as Obj;
    assert.deepEqual(got, created);
    const patched = (await k.custom.patchNamespacedCustomObject({ ...FLEETS, name: 'webui', body: { spec: { replicas: 5 }, metadata: { labels: { tier: 'gpu' } } } }, mergePatch)) as Obj;
    assert.equal(patched.spec.replicas, 5);
    assert.equal(patched.metadata.labels?.tier, 'gpu');
    const list = (await k.custom.listNamespacedCustomObject({ ...FLEETS, labelSelector: 'tier=gpu' })) as { items: Obj[] };
    assert.deepEqual(list.items.map((o) => o.metadata.name), ['webui']);

    const duplicate = await k.custom.createNamespacedCustomObject({ ...FLEETS, body: sampleFleet('webui', 1) }).catch((e: unknown) => e);
    assert.ok(duplicate instanceof ApiException, 'a refused create is client-node’s ApiException');
    assert.equal(statusOf(duplicate), 409);
    assert.match(String((duplicate as ApiException<string>).body), /AlreadyExists|already exists/);

    await k.custom.deleteNamespacedCustomObject({ ...FLEETS, name: 'webui' });
    const missing = await k.custom.getNamespacedCustomObject({ ...FLEETS, name: 'webui' }).catch((e: unknown) => e);
    assert.equal(statusOf(missing), 404);
  });

  it('HTTPS with the kubeconfig’s CA and bearer token; a wrong token is a 401', async () => {
    const f = await fixture({ api: { token: 't0ken', tls: await generateSelfSigned('127.0.0.1') } });
    const k = kubeClients({ kubeconfig: f.kubeconfigPath, namespace: 'default' });
    assert.match(f.url, /^https:/);
    const list = (await k.custom.listNamespacedCustomObject({ ...FLEETS })) as { kind: string };
    assert.equal(list.kind, 'FleetList');
    const wrong = kubeClients({ kubeconfig: f.kubeconfigPath, namespace: 'default' });
    wrong.kc.users[0] = { name: wrong.kc.users[0]!.name, token: 'wrong' };
    const refused = await wrong.custom.listNamespacedCustomObject({ ...FLEETS }).catch((e: unknown) => e);
    assert.equal(statusOf(refused), 401);
  });

  it('a control plane that is not there: Node’s network error, no HTTP status', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const k = kubeClients({ kubeconfig: tempKubeconfig(`http://127.0.0.1:${port}`), namespace: 'default' });
    const err = await k.custom.listNamespacedCustomObject({ ...FLEETS }).catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.equal(statusOf(err), undefined);
  });

  it('sends what client-node built and decodes a gzip answer', async () => {
    const seen: { method?: string; url?: string; type?: string; auth?: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body });
        const answer = gzipSync(JSON.stringify({ kind: 'Fleet', metadata: { name: 'zipped' }, spec: { replicas: 7 } }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': answer.length });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const k = kubeClients({ kubeconfig: tempKubeconfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), namespace: 'default' });
    const got = (await k.custom.patchNamespacedCustomObject({ ...FLEETS, name: 'zipped', body: { spec: { replicas: 7 } } }, mergePatch)) as Obj;
    assert.equal(got.spec.replicas, 7);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'PATCH');
    assert.equal(seen[0]!.url, '/apis/agones.dev/v1/namespaces/default/fleets/zipped');
    assert.equal(seen[0]!.type, 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(seen[0]!.body), { spec: { replicas: 7 } });
  });
});
