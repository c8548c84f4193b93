import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { LeanPool } from './lean-http.ts';

async function listen(server: net.Server): Promise<URL> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

test('lean HTTP: keep-alive requests on a pool, bodies and statuses read, one connection per request in flight', async () => {
  const peers = new Set<string>();
  const server = http.createServer((req, res) => {
    peers.add(`${req.socket.remotePort}`);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': 16 }).end('{"error":"nope"}');
        return;
      }
      // A large answer comes in several reads: the client must wait for all of it.
      const text = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, type: req.headers['content-type'], body, pad: 'é'.repeat(100_000) });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  const url = await listen(server);
  const pool = new LeanPool(url, 3);
  try {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.request(pool.postBytes(`/p/${i}`, JSON.stringify({ i, name: 'Zoë ✓' })))));
    answers.forEach((a, i) => {
      assert.equal(a.status, 201, a.error);
      const j = JSON.parse(a.body) as { method: string; url: string; host: string; type: string; body: string; pad: string };
      assert.deepEqual([j.method, j.url, j.host, j.type, j.body], ['POST', `/p/${i}`, url.host, 'application/json', `{"i":${i},"name":"Zoë ✓"}`]);
      assert.equal(j.pad.length, 100_000);
    });
    assert.equal(peers.size, 3, 'three connections, kept alive, for twelve requests');
    const custom = await pool.request(pool.requestBytes('PUT', '/c', { cookie: 'a=b', 'content-type': 'application/json' }, '{"x":"ü"}'));
    const cj = JSON.parse(custom.body) as { method: string; body: string; type: string };
    assert.deepEqual([custom.status, cj.method, cj.body, cj.type], [201, 'PUT', '{"x":"ü"}', 'application/json']);
    assert.throws(() => pool.requestBytes('GET', '/', { x: 'a\r\nInjected: 1' }), /CR or LF/);
    const missing = await pool.request(pool.getBytes('/missing'));
    assert.deepEqual([missing.status, missing.body], [404, '{"error":"nope"}']);
  } finally {
    pool.close();
    server.closeAllConnections();
    server.close();
  }
});

test('lean HTTP: what it cannot read is an error answer that says so; a closed connection is opened again', async () => {
  let n = 0;
  const server = net.createServer((sock) => {
    sock.on('data', () => {
      n++;
      if (n === 1) sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
      else if (n === 2) sock.destroy(); // no answer at all
      else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok', () => sock.end());
    });
  });
  const url = await listen(server);
  const pool = new LeanPool(url, 1);
  try {
    const chunked = await pool.request(pool.getBytes('/'));
    assert.equal(chunked.status, 0);
    assert.match(chunked.error ?? '', /does not read.*Content-Length/);
    const dropped = await pool.request(pool.getBytes('/'));
    assert.equal(dropped.status, 0);
    assert.match(dropped.error ?? '', /closed the connection before answering/);
    const ok = await pool.request(pool.getBytes('/'));
    assert.deepEqual([ok.status, ok.body], [200, 'ok']);
    const again = await pool.request(pool.getBytes('/'));
    assert.deepEqual([again.status, again.body], [200, 'ok'], 'a new connection after Connection: close');
  } finally {
    pool.close();
    server.close();
  }
});

test('lean HTTP: close() answers the requests in flight and waiting', async () => {
  const server = net.createServer(() => undefined); // accepts, never answers
  const url = await listen(server);
  const pool = new LeanPool(url, 1);
  const inFlight = pool.request(pool.getBytes('/a'));
  const waiting = pool.request(pool.getBytes('/b'));
  await new Promise((r) => setTimeout(r, 50));
  pool.close('stopped by the test');
  assert.deepEqual(await inFlight, { status: 0, body: '', error: 'stopped by the test' });
  assert.deepEqual(await waiting, { status: 0, body: '', error: 'stopped by the test' });
  assert.equal((await pool.request(pool.getBytes('/c'))).error, 'the pool is closed');
  server.close();
});
