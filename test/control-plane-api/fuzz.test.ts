/**
 * Robustness: a few thousand random and malformed requests (paths, methods, headers,
 * bodies, patches) must never get a 5xx, and the server must still answer afterwards.
 * Seeded, so a failure can be replayed; bounded in count and time.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../common/log.ts';
import { seededRandom as rng } from '../../common/seeded-random.ts';
import { apiFixture, type ApiFixture } from '../../fleet/control-plane/api/testing.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { sampleFleet, sampleFleetAutoscaler, sampleGameServer } from '../../fleet/control-plane/resources/testing.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20250101);
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000);


describe('random and malformed requests never get a 5xx', () => {
  let f: ApiFixture;
  before(async () => {
    // FUZZ_LOG=debug shows every request and why it was refused.
    const logger = process.env.FUZZ_LOG ? { logger: createLogger({ name: 'fuzz-api', level: process.env.FUZZ_LOG }) } : {};
    f = await apiFixture({ api: { maxBodyBytes: 64 * 1024, watchTimeoutSeconds: { min: 0.05, max: 0.1 }, ...logger } });
    f.store.create(RESOURCES.fleets, sampleFleet('f'));
    f.store.create(RESOURCES.gameServers, sampleGameServer('g'));
    // Without a handler every allocation is a 503 by design; with one, the request gets past it.
    f.api.registerCreateHandler(RESOURCES.gameServerAllocations, (obj) => ({ ...obj, status: { state: 'UnAllocated' } }));
  });
  after(async () => {
    await f.close();
  });

  it(`${COUNT} requests (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const weird = (): string =>
      pick(['', ' ', '%', '%zz', '..', '.', '%2F', 'ä', '😀', 'a'.repeat(300), 'UPPER', 'x y', '\u0000', '{}', 'status', 'scale', 'watch', 'namespaces', 'default', 'f', 'g', 'Bad_Name']);
    const prefixes = [
      '', '/api', '/api/v1', '/apis', '/apis/agones.dev', '/apis/agones.dev/v1', '/apis/agones.dev/v2', '/apis/allocation.agones.dev/v1', '/apis/autoscaling.agones.dev/v1',
      '/apis/coordination.k8s.io/v1', '/openapi/v3', '/openapi/v3/apis/agones.dev/v1', '/version', '/healthz',
    ];
    const resources = ['fleets', 'gameservers', 'gameserversets', 'fleetautoscalers', 'gameserverallocations', 'configmaps', 'events', 'namespaces', 'leases', 'pods'];
    const served: [string, string][] = [
      ['/apis/agones.dev/v1', 'fleets'], ['/apis/agones.dev/v1', 'gameservers'], ['/apis/agones.dev/v1', 'gameserversets'],
      ['/apis/autoscaling.agones.dev/v1', 'fleetautoscalers'], ['/apis/allocation.agones.dev/v1', 'gameserverallocations'],
      ['/apis/coordination.k8s.io/v1', 'leases'], ['/api/v1', 'configmaps'], ['/api/v1', 'events'],
    ];
    const path = (method: string): string => {
      if (r() < (method === 'POST' ? 0.8 : 0.55)) {
        const [gv, res] = pick(served);
        lastResource = res;
        const name = r() < (method === 'POST' ? 0.1 : 0.5) ? `/${pick(['f', 'g', 'a', 'c', 'p', 'new', weird()])}${r() < 0.2 ? `/${pick(['status', 'scale'])}` : ''}` : '';
        return r() < 0.1 ? `/api/v1/namespaces${name}` : `${gv}/namespaces/${r() < 0.85 ? 'default' : weird()}/${res}${name}`;
      }
      const base = pick(prefixes);
      const kind = r();
      if (kind < 0.45) return `${base}/namespaces/${pick(['default', 'nope', weird()])}/${pick(resources)}${r() < 0.6 ? `/${pick(['f', 'g', weird()])}` : ''}${r() < 0.2 ? `/${pick(['status', 'scale', weird()])}` : ''}`;
      if (kind < 0.7) return `${base}/${pick(resources)}${r() < 0.4 ? `/${weird()}` : ''}`;
      return `${base}/${encodeURIComponent(weird())}/${weird()}`.replace(/\/+$/, '') || '/';
    };
    const query = (): string => {
      const params = [
        'watch=true', 'watch=1', 'watch=nope', 'labelSelector=a%3Db', 'labelSelector=a%20in%20b', 'labelSelector=%21%21', 'fieldSelector=metadata.name%3Df',
        'fieldSelector=spec.x%3D1', 'limit=1', 'limit=-5', 'limit=abc', 'continue=garbage', 'resourceVersion=0', 'resourceVersion=abc', 'resourceVersion=99999999',
        'timeoutSeconds=1', 'timeoutSeconds=x', 'dryRun=All', 'includeObject=Bogus', 'includeObject=Object', 'propagationPolicy=Nope', 'allowWatchBookmarks=true',
      ];
      const n = Math.floor(r() * 4);
      return n === 0 ? '' : `?${Array.from({ length: n }, () => pick(params)).join('&')}`;
    };
    const byResource: Record<string, object> = {
      fleets: sampleFleet('f'),
      gameservers: sampleGameServer('g'),
      fleetautoscalers: sampleFleetAutoscaler('a', 'f'),
      configmaps: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } },
      gameserverallocations: { apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { a: 'b' } }] } },
    };
    const samples = Object.values(byResource);
    let lastResource = '';
    const mutate = (v: unknown, depth = 0): unknown => {
      if (depth > 6) return v;
      if (r() < 0.03) return pick([null, -1, 1.5, 1e308, '', 'x', true, [], {}, [1, 2], { a: { b: null } }, 'a'.repeat(1000)]);
      if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
      if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (r() > 0.02) out[r() < 0.01 ? weird() : k] = mutate(x, depth + 1);
        if (r() < 0.05) out[weird()] = mutate({}, depth + 1);
        return out;
      }
      return v;
    };
    const body = (): string | Buffer | undefined => {
      const kind = r();
      if (kind < 0.15) return undefined;
      if (kind < 0.55) {
        const base = r() < 0.6 && byResource[lastResource] ? byResource[lastResource]! : pick(samples);
        const o = mutate(structuredClone(base)) as { metadata?: { name?: unknown } } | null;
        if (o && typeof o === 'object' && o.metadata && typeof o.metadata === 'object' && r() < 0.7) o.metadata.name = `n${Math.floor(r() * 1e6)}`;
        return JSON.stringify(o);
      }
      if (kind < 0.65) return JSON.stringify([{ op: pick(['add', 'remove', 'replace', 'test', 'move', 'copy', 'bogus']), path: pick(['/spec/replicas', '/metadata/name', '/x/y', '', '/', '/spec/~1', '/__proto__/x']), value: mutate({ a: 1 }), from: '/spec' }]);
      if (kind < 0.7) return '['.repeat(5000) + ']'.repeat(5000);
      if (kind < 0.75) return `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`;
      if (kind < 0.8) return 'x'.repeat(70 * 1024);
      if (kind < 0.85) return Buffer.concat([Buffer.from('k8s\0'), Buffer.from(Array.from({ length: 64 }, () => Math.floor(r() * 256)))]);
      if (kind < 0.9) return JSON.stringify({ __proto__: { polluted: true }, constructor: { prototype: { x: 1 } }, metadata: { name: 'p' } });
      return Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
    };
    const types = [
      'application/json', 'application/json', 'application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml',
      'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', '', 'application/json; charset=utf-8', 'multipart/form-data; boundary=x',
    ];
    const accepts = [
      'application/json', 'application/json', '*/*', '', '', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=Table;v=v9;g=meta.k8s.io', 'application/yaml',
      'application/vnd.kubernetes.protobuf', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'text/html', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
    ];
    const methods = ['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'FOO'];

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const url = new URL(f.url);
    const failures: string[] = [];
    const codes = new Map<number, number>();
    const one = (): Promise<void> => {
      const method = pick(methods);
      // Node refuses to send characters outside \u0021-\u00ff raw; escape those, keep the rest odd.
      const p = (path(method) + query()).replace(/[^\u0021-\u00ff]/gu, (ch) => encodeURIComponent(ch));
      const b = method === 'GET' || method === 'HEAD' ? (r() < 0.1 ? body() : undefined) : body();
      const headers: Record<string, string> = {};
      const ct = pick(types);
      if (ct) headers['content-type'] = ct;
      const acc = pick(accepts);
      if (acc) headers.accept = acc;
      return new Promise((resolve) => {
        const req = http.request({ host: url.hostname, port: url.port, method, path: p.startsWith('/') ? p : `/${p}`, headers, agent, timeout: 5000 }, (res) => {
          codes.set(res.statusCode ?? 0, (codes.get(res.statusCode ?? 0) ?? 0) + 1);
          if ((res.statusCode ?? 0) >= 500) failures.push(`${method} ${p} [${ct}] → ${res.statusCode}`);
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
          res.on('close', () => resolve());
        });
        req.on('timeout', () => {
          failures.push(`${method} ${p} → no answer in 5 s`);
          req.destroy();
        });
        req.on('error', () => resolve());
        req.end(b);
      });
    };
    const started = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < COUNT && Date.now() - started < 40_000) {
        next++;
        await one();
      }
    }));
    agent.destroy();
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} requests got a 5xx or no answer`);
    assert.ok(next >= Math.min(COUNT, 500), `only ${next} requests ran`);
    // The mix must reach past the routing layer: successes, validation and conflicts too.
    for (const code of [200, 201, 400, 404, 405, 415, 422]) assert.ok((codes.get(code) ?? 0) > 0, `no ${code} among ${JSON.stringify([...codes])}`);
    const health = await fetch(`${f.url}/apis/agones.dev/v1/namespaces/default/fleets`);
    assert.equal(health.status, 200, 'the server still answers');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });
});
