import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { silentLogger } from '../../common/log.ts';
import { ResilientInformer } from './informer.ts';

const MANAGED = [{ manager: 'agones-controller', operation: 'Update', apiVersion: 'agones.dev/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:state': {} } } }];
const gs = (name: string, rv: string, state: string): KubernetesObject & { status: { state: string } } => ({
  apiVersion: 'agones.dev/v1', kind: 'GameServer',
  metadata: { name, namespace: 'default', resourceVersion: rv, managedFields: structuredClone(MANAGED) as never },
  status: { state },
});

/** A watch endpoint as the API server's: one MODIFIED event, then the stream stays open. */
async function fakeWatch(): Promise<{ kc: KubeConfig; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (!req.url?.includes('watch=true')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(JSON.stringify({ type: 'MODIFIED', object: gs('a', '2', 'Allocated') }) + '\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return { kc, close: () => { server.closeAllConnections(); return new Promise((r) => server.close(() => r())); } };
}

describe('ResilientInformer', () => {
  it('keeps the objects without managedFields, from the list and from the watch', async () => {
    const api = await fakeWatch();
    const updates: KubernetesObject[] = [];
    let updated!: () => void;
    const gotUpdate = new Promise<void>((r) => (updated = r));
    const inf = new ResilientInformer<KubernetesObject>({
      kc: api.kc, path: '/apis/agones.dev/v1/namespaces/default/gameservers', log: silentLogger(),
      list: () => Promise.resolve({ items: [gs('a', '1', 'Ready'), gs('b', '1', 'Ready')], metadata: { resourceVersion: '1' } }),
      events: { onUpdate: (obj) => { updates.push(obj); updated(); } },
    });
    try {
      await inf.start();
      assert.equal(inf.list().length, 2);
      for (const o of inf.list()) assert.equal(o.metadata?.managedFields, undefined, `${o.metadata?.name} from the list`);
      await gotUpdate;
      const a = inf.get('a', 'default') as KubernetesObject & { status: { state: string } };
      assert.equal(a.status.state, 'Allocated', 'the watch event was applied');
      assert.equal(a.metadata?.managedFields, undefined, 'from the watch');
      assert.equal(updates[0]?.metadata?.managedFields, undefined, 'as the callbacks see it');
      assert.equal(a.metadata?.resourceVersion, '2', 'the rest of the metadata kept');
    } finally {
      await inf.stop();
      await api.close();
    }
  });
});
