import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createProxy, type Route } from './index.ts';
import { LLHTTP } from './llhttp.ts';
import { rawExchange, startBackend, type Backend } from './testing.ts';

/**
 * What only the fast lane does: serve requests without the HTTP server, hand a connection
 * to the server part-way, move a connection between instances, refuse what Node's server
 * refuses, and keep Node's timeouts. (`lane-suites.test.ts` runs the proxy's own suites
 * through it.)
 */
describe('proxy: the fast lane', { timeout: 20_000 }, () => {
  let a: Backend;
  let b: Backend;
  let server: http.Server;
  let port: number;
  let ordinary: string[];
  const routeOf = (user: string | undefined): Route | undefined =>
    user === 'a' ? { kind: 'target', host: '127.0.0.1', port: a.port, key: 'gs-a' }
      : user === 'b' ? { kind: 'target', host: '127.0.0.1', port: b.port, key: 'gs-b' }
      : undefined;

  before(async () => {
    assert.ok(LLHTTP.available, `the parser binding works on this Node (${LLHTTP.why ?? ''})`);
    a = await startBackend('a');
    b = await startBackend('b');
    ordinary = [];
    const proxy = createProxy({
      resolve: (req) => routeOf(req.headers['x-user'] as string | undefined) ?? { kind: 'no-session' },
      startPage: '/_sdfleet/',
      stripCookies: ['sdfleet_session'],
    });
    server = http.createServer((req, res) => {
      ordinary.push(req.url ?? '');
      if ((req.url ?? '').startsWith('/_own')) res.end(`own ${req.url}`);
      else proxy.web(req, res);
    });
    proxy.fastLane({ server, route: (r) => (r.url.startsWith('/_own') ? undefined : routeOf(r.headers['x-user'])) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await a.close();
    await b.close();
  });

  const get = (path: string, user: string | undefined): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${user ? `X-User: ${user}\r\n` : ''}\r\n`;
  /** The `url` each backend answer names, and the server's own answers, in the order they came. */
  const order = (out: string): string[] => [...out.matchAll(/"url":"([^"]+)"|own (\/_own\/[a-z]+)/g)].map((m) => m[1] ?? `own ${m[2]}`);

  it('serves a target request itself: the HTTP server sees none', async () => {
    ordinary.length = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          http.get(`http://127.0.0.1:${port}/k${i}`, { agent, headers: { 'x-user': 'a' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
        });
        assert.equal(status, 200);
      }
    } finally {
      agent.destroy();
    }
    assert.deepEqual(ordinary, []);
    assert.deepEqual(a.seen.slice(-5).map((s) => s.url), ['/k0', '/k1', '/k2', '/k3', '/k4']);
  });

  it('hands the connection to the server part-way, every answer in order', async () => {
    ordinary.length = 0;
    const out = await rawExchange(port, get('/1', 'a') + get('/_own/x', undefined) + get('/2', 'a'), 800);
    assert.deepEqual(order(out), ['/1', 'own /_own/x', '/2']);
    assert.deepEqual(ordinary, ['/_own/x', '/2'], 'from the hand-over on, the server answers (through the ordinary proxy path)');
  });

  it('moves a connection between instances (two users on one connection, as behind a load balancer)', async () => {
    ordinary.length = 0;
    const body = 'hello';
    const post = `POST /p HTTP/1.1\r\nHost: x\r\nX-User: b\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const chunked = 'POST /c HTTP/1.1\r\nHost: x\r\nX-User: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    const out = await rawExchange(port, get('/1', 'a') + get('/2', 'b') + post + chunked + get('/3', 'a'), 800);
    assert.deepEqual(order(out), ['/1', '/2', '/p', '/c', '/3']);
    assert.deepEqual([...out.matchAll(/x-backend: (\w)/gi)].map((m) => m[1]), ['a', 'b', 'b', 'a', 'a']);
    assert.deepEqual(ordinary, []);
    assert.equal(b.seen.find((s) => s.url === '/p')?.bodyBytes, 5);
    assert.equal(a.seen.find((s) => s.url === '/c')?.bodyBytes, 5);
  });

  it('names every method Node names (llhttp numbers them differently from Node\'s list)', async () => {
    ordinary.length = 0;
    const q = (path: string, user?: string): string => `QUERY ${path} HTTP/1.1\r\nHost: x\r\n${user ? `X-User: ${user}\r\n` : ''}Content-Length: 2\r\n\r\n{}`;
    const out = await rawExchange(port, q('/q1', 'a') + q('/_own/q') + get('/q2', 'a'), 800);
    assert.deepEqual(order(out), ['/q1', 'own /_own/q', '/q2']);
    assert.equal(a.seen.find((s) => s.url === '/q1')?.method, 'QUERY');
    assert.deepEqual(ordinary, ['/_own/q', '/q2']);
  });

  it('passes header bytes over 0x7f through unchanged (latin1 both ways, as Node does)', async () => {
    const out = await new Promise<Buffer>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => parts.push(d));
      c.write(Buffer.from('GET /bytes-in-headers HTTP/1.1\r\nHost: x\r\nX-User: a\r\nX-Name: caf\u00e9\r\n\r\n', 'latin1'));
      setTimeout(() => { c.destroy(); resolve(Buffer.concat(parts)); }, 400);
    });
    const text = out.toString('utf8');
    const seen = JSON.parse(text.slice(text.indexOf('{'))) as { rawHeaders: string[] };
    assert.ok(seen.rawHeaders.includes('caf\u00e9'), `the instance got ${JSON.stringify(seen.rawHeaders)}`);
  });

  it("refuses what Node's parser refuses: 400 and closed, and nothing reaches an instance", async () => {
    const before = a.seen.length;
    const smuggled = 'POST / HTTP/1.1\r\nHost: x\r\nX-User: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX-User: a\r\n\r\n';
    const out = await rawExchange(port, smuggled, 800);
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.equal(a.seen.length, before);
    const big = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-User: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`, 800);
    assert.match(big, /^HTTP\/1\.1 431 /);
  });

  it('checks the head after a sized body it passed on unparsed as strictly as the first', async () => {
    const before = a.seen.length;
    const post = 'POST /sized HTTP/1.1\r\nHost: x\r\nX-User: a\r\nContent-Length: 5\r\n\r\nhello';
    const smuggled = 'POST /next HTTP/1.1\r\nHost: x\r\nX-User: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX-User: a\r\n\r\n';
    const out = await rawExchange(port, post + smuggled, 800);
    // The first is answered whole; the refused one closes the connection (400 only when no answer is due).
    assert.deepEqual(order(out), ['/sized']);
    assert.equal(out.match(/^HTTP\/1\.1 /gm)?.length, 1, out);
    assert.deepEqual(a.seen.slice(before).map((s) => `${s.url} ${s.bodyBytes}`), ['/sized 5']);
  });

  it("keeps Node's timeouts: an idle connection is closed, a head that takes too long gets 408", async () => {
    const keep = server.keepAliveTimeout;
    const heads = server.headersTimeout;
    server.keepAliveTimeout = 200;
    server.headersTimeout = 300;
    try {
      const t0 = Date.now();
      const idle = await rawExchange(port, get('/idle', 'a'), 3000);
      assert.deepEqual(order(idle), ['/idle']);
      assert.ok(Date.now() - t0 < 2500, 'closed by the server after keepAliveTimeout, not by the test');
      const slow = await rawExchange(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n', 3000);
      assert.match(slow, /^HTTP\/1\.1 408 /);
    } finally {
      server.keepAliveTimeout = keep;
      server.headersTimeout = heads;
    }
  });

  it("keeps the instance's idle timeout for the connection's life (not only until its first quiet spell)", async () => {
    const proxy = createProxy({ resolve: () => ({ kind: 'no-session' }), startPage: '/_sdfleet/', stripCookies: ['sdfleet_session'], idleTimeoutMs: 200 });
    const s2 = http.createServer((req, res) => proxy.web(req, res));
    proxy.fastLane({ server: s2, route: () => routeOf('a') });
    await new Promise<void>((r) => s2.listen(0, '127.0.0.1', r));
    try {
      const out = await new Promise<string>((resolve) => {
        const c = net.connect((s2.address() as AddressInfo).port, '127.0.0.1');
        let text = '';
        c.on('data', (d: Buffer) => { text += d.toString('latin1'); });
        c.write(get('/first', 'a'));
        // Quiet for longer than the idle timeout, then a request the instance never answers.
        setTimeout(() => c.write(get('/hang', 'a')), 450);
        setTimeout(() => { c.destroy(); resolve(text); }, 1500);
      });
      assert.deepEqual(order(out), ['/first']);
      assert.match(out, /HTTP\/1\.1 503 [^]*instance_unreachable/, 'the hung request is given up on after idleTimeoutMs');
    } finally {
      await proxy.close();
      s2.closeAllConnections();
      await new Promise<void>((r) => s2.close(() => r()));
    }
  });

  it('lets go of an instance connection left idle for freeSocketTimeoutMs (before the instance closes it under a request), and opens a new one after', async () => {
    const proxy = createProxy({ resolve: () => ({ kind: 'no-session' }), startPage: '/_sdfleet/', stripCookies: ['sdfleet_session'], freeSocketTimeoutMs: 150 });
    const s2 = http.createServer((req, res) => proxy.web(req, res));
    proxy.fastLane({ server: s2, route: () => routeOf('a') });
    await new Promise<void>((r) => s2.listen(0, '127.0.0.1', r));
    const c = net.connect((s2.address() as AddressInfo).port, '127.0.0.1');
    try {
      let text = '';
      c.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      /** Sends a request on the one client connection; resolves with the instance connections accepted so far once it is answered. */
      const ask = async (path: string): Promise<number> => {
        const answers = (text.match(/HTTP\/1\.1 200 /g) ?? []).length;
        c.write(get(path, 'a'));
        const t0 = Date.now();
        while ((text.match(/HTTP\/1\.1 200 /g) ?? []).length <= answers) {
          assert.ok(Date.now() - t0 < 3000, `no answer to ${path}: ${text}`);
          await new Promise((r) => setTimeout(r, 10));
        }
        return a.connections;
      };
      const first = await ask('/idle-1');
      const soon = await ask('/idle-2');
      assert.equal(soon, first, 'a request soon after reuses the instance connection');
      // Idle past the limit (then parked as long again, then closed).
      await new Promise((r) => setTimeout(r, 600));
      const later = await ask('/idle-3');
      assert.equal(later, first + 1, 'after the quiet spell the old instance connection is gone: a new one is opened');
      assert.deepEqual(order(text), ['/idle-1', '/idle-2', '/idle-3']);
    } finally {
      c.destroy();
      await proxy.close();
      s2.closeAllConnections();
      await new Promise<void>((r) => s2.close(() => r()));
    }
  });
});
