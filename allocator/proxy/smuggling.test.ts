/**
 * Requests that try to confuse the proxy or the instance, sent as raw bytes. Some are
 * refused by the proxy's own checks, the rest by Node's HTTP parser before the proxy runs:
 * these tests pin both, so that a change of server options (insecureHTTPParser) shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange, startBackend, startProxy } from './testing.ts';

describe('proxy: smuggling, absolute URLs, CONNECT, bad paths', { timeout: 20_000 }, () => {
  let a: Awaited<ReturnType<typeof startBackend>>;
  let b: Awaited<ReturnType<typeof startBackend>>;
  let rig: Awaited<ReturnType<typeof startProxy>>;
  const arrivals: string[] = [];
  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    for (const be of [a, b]) be.routes.push((req) => { arrivals.push(`${be.name} ${req.method} ${req.url}`); return false; });
    rig = await startProxy((req) => ({ kind: 'target', host: '127.0.0.1', port: req.headers['x-user'] === 'b' ? b.port : a.port, key: 'gs' }));
  });
  after(async () => {
    await rig.close();
    await a.close();
    await b.close();
  });

  const status = (reply: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);

  async function refused(raw: string, code?: string): Promise<void> {
    arrivals.length = 0;
    const reply = await rawExchange(rig.port, raw);
    assert.equal(status(reply), 400, `expected 400, got: ${JSON.stringify(reply.slice(0, 200))}`);
    if (code) assert.match(reply, new RegExp(`"code":"${code}"`));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(arrivals, [], 'nothing may reach the instance');
  }

  it('refuses an absolute-form URL for another host; takes one for this host', async () => {
    await refused('GET http://evil.example/steal HTTP/1.1\r\nHost: app.example\r\n\r\n', 'absolute_url');
    arrivals.length = 0;
    const ok = await rawExchange(rig.port, 'GET http://app.example/fine?x=1 HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    assert.equal(status(ok), 200);
    assert.deepEqual(arrivals, ['a GET /fine?x=1']);
  });

  it('never forwards CONNECT (Node closes the connection when nobody handles it)', async () => {
    arrivals.length = 0;
    const reply = await rawExchange(rig.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    assert.ok(!reply.startsWith('HTTP/1.1 200'), `CONNECT answered ${JSON.stringify(reply.slice(0, 80))}`);
    assert.deepEqual(arrivals, []);
  });

  it('refuses dot segments, however encoded', async () => {
    await refused('GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n', 'bad_path');
    await refused('GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 'bad_path');
    await refused('GET /file=..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n', 'bad_path');
    await refused('GET /file=%252e%252e/x HTTP/1.1\r\nHost: x\r\n\r\n', 'bad_path');
  });

  it('refuses Content-Length with Transfer-Encoding, and the smuggled request never arrives', async () => {
    await refused('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    await refused('POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n');
  });

  it('refuses conflicting Content-Lengths and odd Transfer-Encodings', async () => {
    await refused('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    await refused('POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n');
    await refused('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab');
  });

  it('refuses CR or LF inside a header value and bare-LF line ends in headers', async () => {
    await refused('GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\rInjected: 1\r\n\r\n');
    await refused('GET /x HTTP/1.1\r\nHost: x\r\nX-A: a\nInjected: 1\r\n\r\n');
  });

  it('answers Expect: 100-continue itself and does not pass Expect on', async () => {
    const before = a.seen.length;
    const reply = await rawExchange(rig.port, 'POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
    assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    const seen = a.seen.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.bodyBytes, 3);
    assert.ok(!seen[0]!.rawHeaders.some((h) => h.toLowerCase() === 'expect'));
  });

  it('resolves every request on a connection by itself: pipelined requests of two users go to their own instances', async () => {
    arrivals.length = 0;
    const reply = await rawExchange(
      rig.port,
      'GET /1 HTTP/1.1\r\nHost: x\r\nX-User: a\r\n\r\n' +
        'POST /2 HTTP/1.1\r\nHost: x\r\nX-User: b\r\nContent-Length: 3\r\n\r\nabc' +
        'GET /3 HTTP/1.1\r\nHost: x\r\nX-User: a\r\nConnection: close\r\n\r\n',
      2000,
    );
    assert.equal(reply.match(/HTTP\/1\.1 200/g)?.length, 3, reply.slice(0, 300));
    assert.deepEqual(arrivals.sort(), ['a GET /1', 'a GET /3', 'b POST /2']);
    assert.deepEqual([...reply.matchAll(/x-backend: (\w)/g)].map((m) => m[1]), ['a', 'b', 'a']);
  });
});
