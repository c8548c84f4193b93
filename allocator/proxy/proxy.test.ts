import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../test/helpers/net.ts';
import type { Route } from './types.ts';
import { captureLog, headerValues, request, startBackend, startProxy, type Seen } from './testing.ts';

const T = { timeout: 15_000 };

describe('proxy: HTTP forwarding', T, () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let rig: Awaited<ReturnType<typeof startProxy>>;
  const calls: { status: number; source: string }[] = [];
  const bytes = { in: 0, out: 0 };
  before(async () => {
    backend = await startBackend();
    rig = await startProxy({ kind: 'target', host: '127.0.0.1', port: backend.port, key: 'gs-a' }, {
      metrics: {
        request: (status, _s, source) => calls.push({ status, source }),
        bytes: (d, n) => { bytes[d] += n; },
        websockets: () => undefined,
      },
    });
  });
  after(async () => {
    await rig.close();
    await backend.close();
  });

  it('forwards method, path, query and body; rewrites Host; adds X-Forwarded-*', async () => {
    const r = await request(`${rig.url}/api/x?q=1&r=%2F`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain', host: 'public.example:8443' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body.toString()) as Seen;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/api/x?q=1&r=%2F');
    assert.equal(seen.bodyBytes, 5);
    assert.deepEqual(headerValues(seen.rawHeaders, 'host'), [`127.0.0.1:${backend.port}`]);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-forwarded-host'), ['public.example:8443']);
    assert.deepEqual(headerValues(seen.rawHeaders, 'x-forwarded-port'), ['8443']);
    assert.deepEqual(headerValues(seen.rawHeaders, 'content-type'), ['text/plain']);
  });

  it("never lets the instance see the allocator's cookie, CSRF header or bearer token; other cookies pass", async () => {
    const r = await request(`${rig.url}/x`, {
      headers: { cookie: 'webui=1; sdfleet_session=v1.SECRET.sig; theme=dark', 'x-sdfleet-csrf': 'CSRFTOKEN', authorization: 'Bearer TOKEN', 'x-forwarded-for': '6.6.6.6' },
    });
    const seen = JSON.parse(r.body.toString()) as Seen;
    assert.deepEqual(headerValues(seen.rawHeaders, 'cookie'), ['webui=1; theme=dark']);
    const all = seen.rawHeaders.join('\n');
    for (const secret of ['SECRET', 'CSRFTOKEN', 'TOKEN', '6.6.6.6']) assert.ok(!all.includes(secret), `${secret} reached the instance`);
  });

  it('strips hop-by-hop response headers; drops a Set-Cookie for the session cookie, keeps the others', async () => {
    const r = await request(`${rig.url}/x`);
    assert.equal(r.headers['x-hop'], undefined, 'named in Connection');
    assert.equal(r.headers['keep-alive'], undefined);
    assert.equal(r.headers['x-backend'], 'a');
    const c = await request(`${rig.url}/set-cookie`);
    assert.deepEqual(c.headers['set-cookie'], ['webui=1; Path=/']);
  });

  it('passes status codes and bodiless responses through (HEAD, 204, 304, 404)', async () => {
    assert.equal((await request(`${rig.url}/status/404`)).status, 404);
    const head = await request(`${rig.url}/bytes/1000`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1000');
    assert.equal(head.body.length, 0);
    assert.equal((await request(`${rig.url}/status/204`)).status, 204);
    assert.equal((await request(`${rig.url}/status/304`)).status, 304);
  });

  it('streams a large body both ways intact (16 MiB up, 32 MiB down)', async () => {
    const up = randomBytes(16 * 1024 * 1024);
    const r = await request(`${rig.url}/upload`, { method: 'PUT', body: up });
    const seen = JSON.parse(r.body.toString()) as Seen;
    assert.equal(seen.bodyBytes, up.length);
    assert.equal(seen.sha256, createHash('sha256').update(up).digest('hex'));
    const down = await request(`${rig.url}/bytes/${32 * 1024 * 1024}`);
    assert.equal(down.body.length, 32 * 1024 * 1024);
  });

  it('streams a chunked request body as it comes, chunked', async () => {
    let firstChunk: (() => void) | undefined;
    const gotFirst = new Promise<void>((r) => { firstChunk = r; });
    backend.routes.push((req, res) => {
      if (req.url !== '/stream-up') return false;
      const parts: string[] = [];
      req.on('data', (c: Buffer) => { parts.push(c.toString()); firstChunk?.(); });
      req.on('end', () => res.end(JSON.stringify({ parts, te: req.headers['transfer-encoding'] ?? null })));
      return true;
    });
    try {
      const reply = await new Promise<{ parts: string[]; te: string | null }>((resolve, reject) => {
        const req = http.request(`${rig.url}/stream-up`, { method: 'POST', agent: false }, (res) => {
          let s = '';
          res.on('data', (c: Buffer) => { s += c.toString(); });
          res.on('end', () => resolve(JSON.parse(s) as { parts: string[]; te: string | null }));
        });
        req.on('error', reject);
        req.write('abc');
        // The rest only once the instance has the start: nothing waits for the whole body.
        void gotFirst.then(() => req.end('defg'));
      });
      assert.equal(reply.parts.join(''), 'abcdefg');
      assert.equal(reply.te, 'chunked');
    } finally {
      backend.routes.pop();
    }
  });

  it('applies backpressure: a client that does not read stops the instance writing', async () => {
    const total = 256 * 1024 * 1024;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${rig.url}/bytes/${total}`, { agent: false }, resolve);
      req.on('error', reject);
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 500));
    const stalled = backend.written;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(backend.written, stalled, 'the instance kept writing while nobody read');
    assert.ok(stalled < 32 * 1024 * 1024, `${stalled} bytes written before the stall: the proxy buffered`);
    res.destroy();
  });

  it('applies backpressure upstream: an instance that does not read stops the client sending', async () => {
    let release: (() => void) | undefined;
    backend.routes.push((req, res) => {
      if (req.url !== '/no-read') return false;
      req.pause();
      release = () => { req.resume(); req.on('end', () => res.end('done')); };
      return true;
    });
    let sent = 0;
    let blocked = false;
    const req = http.request(`${rig.url}/no-read`, { method: 'POST', agent: false, headers: { 'content-length': 512 * 1024 * 1024 } });
    req.on('error', () => undefined);
    const chunk = Buffer.alloc(64 * 1024);
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < 512 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            blocked = true;
            const t = setTimeout(resolve, 500);
            req.once('drain', () => { clearTimeout(t); pump(); });
            return;
          }
        }
      };
      pump();
    });
    assert.ok(blocked, 'writes never blocked');
    assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes accepted while the instance read nothing: the proxy buffered`);
    assert.ok(release, 'the upload did not reach the instance');
    req.destroy();
    backend.routes.pop();
  });

  it('reuses keep-alive connections to the instance', async () => {
    const before = backend.connections;
    for (let i = 0; i < 20; i++) assert.equal((await request(`${rig.url}/ka`)).status, 200);
    assert.ok(backend.connections - before <= 1, `${backend.connections - before} new upstream connections for 20 sequential requests`);
  });

  it('counts activity only for responses under 300', async () => {
    rig.activity.length = 0;
    await request(`${rig.url}/status/200`);
    await request(`${rig.url}/status/302`);
    await request(`${rig.url}/status/404`);
    await request(`${rig.url}/status/500`);
    assert.deepEqual(rig.activity, [['gs-a', 'http']]);
  });

  it('reports requests and bytes to the metric hooks', async () => {
    calls.length = 0;
    const before = { ...bytes };
    await request(`${rig.url}/m`, { method: 'POST', body: 'x'.repeat(100) });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, [{ status: 200, source: 'upstream' }]);
    assert.equal(bytes.in - before.in, 100);
    assert.ok(bytes.out - before.out > 100);
  });

  it('drops the client connection when the instance cuts a response short', async () => {
    await assert.rejects(request(`${rig.url}/cut`), /aborted|socket hang up|ECONNRESET/);
  });

  it('stops the request to the instance when the client goes away', async () => {
    const before = backend.aborted;
    await new Promise<void>((resolve) => {
      const req = http.get(`${rig.url}/hang`, { agent: false });
      req.on('error', () => resolve());
      setTimeout(() => req.destroy(), 100);
    });
    const end = Date.now() + 2000;
    while (backend.aborted === before && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.aborted, before + 1);
  });

  it('keeps a Set-Cookie the allocator set before proxying beside the instance ones', async () => {
    const server = http.createServer((req, res) => {
      res.appendHeader('Set-Cookie', 'sdfleet_session=renewed; Path=/; HttpOnly');
      rig.proxy.web(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await request(`http://127.0.0.1:${(server.address() as { port: number }).port}/set-cookie`);
      assert.deepEqual(r.headers['set-cookie'], ['sdfleet_session=renewed; Path=/; HttpOnly', 'webui=1; Path=/']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('proxy: routes other than a target', T, () => {
  let rig: Awaited<ReturnType<typeof startProxy>>;
  let next: Route = { kind: 'no-session' };
  before(async () => { rig = await startProxy(() => next); });
  after(async () => { await rig.close(); });
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  it('no session: a browser is sent to the start page, an API client gets JSON 401 / 404', async () => {
    next = { kind: 'no-session' };
    const nav = await request(`${rig.url}/anything`, { headers: html });
    assert.equal(nav.status, 302);
    assert.equal(nav.headers.location, '/_sdfleet/');
    const api = await request(`${rig.url}/sdapi/v1/txt2img`, { method: 'POST', headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.deepEqual(JSON.parse(api.body.toString()), { error: { code: 'not_signed_in', message: 'sign in at /_sdfleet/ first' } });
    next = { kind: 'no-session', signedIn: true };
    const none = await request(`${rig.url}/x`);
    assert.equal(none.status, 404);
    assert.equal((JSON.parse(none.body.toString()) as { error: { code: string } }).error.code, 'no_session');
  });

  it('gone: a 503 page with the reason (escaped) and a link to start again, or JSON', async () => {
    next = { kind: 'gone', reason: 'idle for 30 min <script>' };
    const page = await request(`${rig.url}/`, { headers: html });
    assert.equal(page.status, 503);
    const text = page.body.toString();
    assert.match(text, /your instance has ended: idle for 30 min &lt;script&gt;/);
    assert.match(text, /href="\/_sdfleet\/"/);
    const api = await request(`${rig.url}/x`);
    assert.equal(api.status, 503);
    assert.equal((JSON.parse(api.body.toString()) as { error: { code: string } }).error.code, 'instance_gone');
  });

  it('starting: 503 with Retry-After and a page that refreshes itself', async () => {
    next = { kind: 'starting' };
    const page = await request(`${rig.url}/`, { headers: html });
    assert.equal(page.status, 503);
    assert.equal(page.headers['retry-after'], '2');
    assert.match(page.body.toString(), /http-equiv="refresh" content="2"/);
    assert.equal((await request(`${rig.url}/x`)).headers['retry-after'], '2');
  });

  it('a resolver that throws or rejects gives 500, and the proxy keeps working', async () => {
    const log = captureLog();
    const bad = await startProxy(() => { throw new Error('boom'); }, { logger: log.logger });
    const rejecting = await startProxy(() => Promise.reject(new Error('kaput')));
    try {
      assert.equal((await request(`${bad.url}/`)).status, 500);
      assert.equal((await request(`${rejecting.url}/`)).status, 500);
      assert.equal((await request(`${bad.url}/`)).status, 500);
      assert.ok(log.lines.some((l) => l.severity === 'ERROR' && String(l.err).includes('boom')));
    } finally {
      await bad.close();
      await rejecting.close();
    }
  });
});

describe('proxy: unreachable instances', T, () => {
  it('a dead backend: 503, one warn line without a stack, onGone(key); no activity', async () => {
    const port = await freePort();
    const log = captureLog();
    const rig = await startProxy({ kind: 'target', host: '127.0.0.1', port, key: 'gs-dead' }, { logger: log.logger });
    try {
      const r = await request(`${rig.url}/x?token=SECRET`, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /not answering/);
      const j = await request(`${rig.url}/y`);
      assert.equal((JSON.parse(j.body.toString()) as { error: { code: string } }).error.code, 'instance_unreachable');
      assert.deepEqual(rig.gone, ['gs-dead', 'gs-dead']);
      assert.deepEqual(rig.activity, []);
      const warns = log.lines.filter((l) => l.severity === 'WARNING');
      assert.equal(warns.length, 2);
      assert.equal(warns[0]!.code, 'ECONNREFUSED');
      assert.equal(warns[0]!.key, 'gs-dead');
      assert.equal(warns[0]!.path, '/x', 'no query in logs');
      assert.ok(!JSON.stringify(log.lines).includes('stack'), 'no stack');
      assert.ok(!JSON.stringify(log.lines).includes('SECRET'));
    } finally {
      await rig.close();
    }
  });

  it('an instance that stops answering: 503 after idleTimeoutMs, and onGone', async () => {
    const backend = await startBackend();
    const rig = await startProxy({ kind: 'target', host: '127.0.0.1', port: backend.port, key: 'gs-hung' }, { idleTimeoutMs: 200 });
    try {
      const t0 = Date.now();
      const r = await request(`${rig.url}/hang`);
      assert.equal(r.status, 503);
      assert.ok(Date.now() - t0 >= 190);
      assert.deepEqual(rig.gone, ['gs-hung']);
    } finally {
      await rig.close();
      await backend.close();
    }
  });

  it('a GET whose connection the instance closes before answering is retried once; a POST is not', async () => {
    const backend = await startBackend();
    // The instance drops the connection without a response (as when it closes a pooled
    // connection just as a request goes out): the first /once, every /always and every POST.
    const arrivals: string[] = [];
    backend.routes.push((req) => {
      arrivals.push(`${req.method} ${req.url}`);
      const drop = req.method === 'POST' || req.url === '/always' || (req.url === '/once' && arrivals.filter((a) => a === 'GET /once').length === 1);
      if (drop) req.socket.destroy();
      return drop;
    });
    const rig = await startProxy({ kind: 'target', host: '127.0.0.1', port: backend.port, key: 'gs-race' });
    try {
      assert.equal((await request(`${rig.url}/once`)).status, 200, 'retried on a fresh connection');
      assert.equal((await request(`${rig.url}/always`)).status, 503, 'retried once only');
      assert.equal((await request(`${rig.url}/post`, { method: 'POST', body: 'x' })).status, 503);
      assert.deepEqual(arrivals, ['GET /once', 'GET /once', 'GET /always', 'GET /always', 'POST /post'], 'a request with a body is never sent twice');
    } finally {
      await rig.close();
      await backend.close();
    }
  });

  it('close() ends requests in flight; afterwards the proxy answers 503', async () => {
    const backend = await startBackend();
    const rig = await startProxy({ kind: 'target', host: '127.0.0.1', port: backend.port, key: 'gs-c' });
    try {
      const pending = request(`${rig.url}/hang`).then((r) => r.status, () => 'dropped');
      await new Promise((r) => setTimeout(r, 100));
      await rig.proxy.close();
      const outcome = await pending;
      assert.ok(outcome === 'dropped' || outcome === 503, `in-flight request ended with ${outcome}`);
      assert.equal((await request(`${rig.url}/x`)).status, 503);
    } finally {
      await rig.close();
      await backend.close();
    }
  });
});

describe('proxy: isolation', T, () => {
  it('concurrent requests of two users never cross', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const rig = await startProxy(async (req) => {
      // An async resolver that answers out of order, as a real lookup may.
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      const user = req.headers['x-user'];
      return { kind: 'target', host: '127.0.0.1', port: user === 'a' ? a.port : b.port, key: `gs-${String(user)}` };
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const jobs = Array.from({ length: 300 }, (_, i) => {
        const user = i % 3 === 0 ? 'a' : 'b';
        return request(`${rig.url}/who/${user}/${i}`, { headers: { 'x-user': user }, agent }).then((r) => ({ user, i, r }));
      });
      for (const { user, i, r } of await Promise.all(jobs)) {
        assert.equal(r.headers['x-backend'], user, `request ${i} of ${user} reached ${String(r.headers['x-backend'])}`);
        assert.equal((JSON.parse(r.body.toString()) as Seen).url, `/who/${user}/${i}`);
      }
    } finally {
      agent.destroy();
      await rig.close();
      await a.close();
      await b.close();
    }
  });
});
