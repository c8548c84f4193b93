/** The REST routes that need no control plane, over a real identity and a temp user store. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { silentLogger } from '../../common/log.ts';
import { userDir } from '../../sdk-wrapper/user-store.ts';
import type { AllocatorCore } from '../core.ts';
import { createIdentity, userKey } from '../identity/index.ts';
import { AllocatorMetrics } from '../metrics.ts';
import { errorHandler } from './errors.ts';
import { API_PREFIX, apiRouter } from './routes.ts';

describe('API routes: My images files', () => {
  const identity = createIdentity({ mode: 'dev', cookieSecret: 'test-secret-0123456789abcdef0123456789abcdef' });
  let store = '';
  let server: Server;
  let base = '';
  let cookie = '';

  before(async () => {
    store = await mkdtemp(join(tmpdir(), 'sdfleet-routes-'));
    const dir = userDir(store, userKey('alice'));
    await mkdir(join(dir, 's1'), { recursive: true });
    await writeFile(join(dir, 's1', '100%.png'), 'png');
    await writeFile(join(dir, 's1', 'a b.png'), 'png');
    const app = express();
    app.use(async (req, res, next) => {
      res.locals.auth = await identity.authenticate(req);
      next();
    });
    // Only the routes that read the user store are called: no core is needed.
    app.use(API_PREFIX, apiRouter({ core: {} as AllocatorCore, identity, metrics: new AllocatorMetrics(), log: silentLogger(), userStore: store }));
    app.use(errorHandler(silentLogger()));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API_PREFIX}`;
    cookie = identity.issueCookie(identity.devSignIn('alice')).split(';')[0]!;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(store, { recursive: true, force: true });
  });

  const get = (path: string): Promise<Response> => fetch(base + path, { headers: { cookie } });

  // Found by test/fuzz/allocator-api.test.ts: the path was decoded twice, so "%25" was a 500
  // and a file whose name holds "%" could not be fetched by the URL the listing gives.
  it('decodes the file path once: a name with "%" is served by its listed URL; "%25" alone is a 404, not a 500', async () => {
    const list = (await (await get('/images')).json()) as { images: { path: string; url: string }[] };
    const pct = list.images.find((i) => i.path === 's1/100%.png');
    assert.ok(pct, JSON.stringify(list));
    assert.equal(pct.url, `${API_PREFIX}/images/file/s1/100%25.png`);
    const served = await get('/images/file/s1/100%25.png');
    assert.equal(served.status, 200);
    assert.equal(await served.text(), 'png');
    assert.equal((await get('/images/file/s1/a%20b.png')).status, 200);
    for (const path of ['/images/file/%25', '/images/file/a%25zz.png', '/images/file/s1%2F..%2F..%2Fx.png']) {
      const r = await get(path);
      assert.equal(r.status, 404, path);
      assert.deepEqual(await r.json(), { error: { code: 'not_found', message: 'no such image' } });
    }
    const bad = await get('/images/file/%E0%A4%A.png');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'bad_request');
  });
});
