import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort } from '../../test/helpers/net.ts';
import type { Route } from './types.ts';
import { captureLog, headerValues, rawExchange, startBackend, startProxy } from './testing.ts';

const wsUrl = (port: number, path: string): string => `ws://127.0.0.1:${port}${path}`;

/** Opens a WebSocket, or resolves with the HTTP status it was refused with. */
function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 5000 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

async function must(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = await open(url, headers);
  if (typeof ws === 'number') throw new Error(`WebSocket refused with ${ws}`);
  return ws;
}

describe('proxy: WebSockets', { timeout: 20_000 }, () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let rig: Awaited<ReturnType<typeof startProxy>>;
  let route: Route = { kind: 'target', host: '127.0.0.1', port: 0, key: 'gs-ws' };
  const open_: number[] = [];
  before(async () => {
    backend = await startBackend();
    route = { kind: 'target', host: '127.0.0.1', port: backend.port, key: 'gs-ws' };
    rig = await startProxy(() => route, {
      metrics: { request: () => undefined, bytes: () => undefined, websockets: (d) => open_.push(d) },
      webSocketActivityMs: 10_000,
    });
  });
  after(async () => {
    await rig.close();
    await backend.close();
  });

  it('relays text and binary messages both ways, and pings', async () => {
    const ws = await must(wsUrl(rig.port, '/ws'), { cookie: 'sdfleet_session=SECRET; webui=1', 'x-sdfleet-csrf': 'T' });
    try {
      ws.send('hello');
      const [text, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
      assert.equal(text.toString(), 'hello');
      assert.equal(isBinary, false);
      const big = Buffer.alloc(3 * 1024 * 1024, 9);
      ws.send(big);
      const [echo] = (await once(ws, 'message')) as [Buffer];
      assert.ok(echo.equals(big));
      ws.ping('p');
      const [pong] = (await once(ws, 'pong')) as [Buffer];
      assert.equal(pong.toString(), 'p');
      const seen = backend.seen.at(-1)!;
      assert.equal(seen.url, '/ws');
      assert.deepEqual(headerValues(seen.rawHeaders, 'cookie'), ['webui=1']);
      assert.deepEqual(headerValues(seen.rawHeaders, 'x-sdfleet-csrf'), []);
      assert.deepEqual(headerValues(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(headerValues(seen.rawHeaders, 'host'), [`127.0.0.1:${backend.port}`]);
    } finally {
      ws.close();
    }
  });

  it('passes the instance closing (code and reason) to the client', async () => {
    const ws = await must(wsUrl(rig.port, '/ws-close'));
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.equal(code, 4000);
    assert.equal(reason.toString(), 'bye');
  });

  it('passes the client closing to the instance, and cleans both sockets up', async () => {
    const before = open_.length;
    const ws = await must(wsUrl(rig.port, '/ws'));
    const serverSide = [...backend.wss.clients].at(-1)!;
    ws.close(1000, 'done');
    const [code, reason] = (await once(serverSide, 'close')) as [number, Buffer];
    assert.equal(code, 1000);
    assert.equal(reason.toString(), 'done');
    const end = Date.now() + 2000;
    while (open_.length < before + 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(open_.slice(before), [1, -1], 'the open WebSocket gauge went up and down');
  });

  it('drops the client when the instance disappears mid-socket', async () => {
    const ws = await must(wsUrl(rig.port, '/ws'));
    [...backend.wss.clients].at(-1)!.terminate();
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1006);
  });

  it('applies backpressure: a client that does not read leaves the data queued at the instance', async () => {
    const sock = net.connect(rig.port, '127.0.0.1');
    try {
      sock.write('GET /ws-flood HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      sock.pause(); // never reads
      const end = Date.now() + 3000;
      while (!backend.flood && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.ok(backend.flood, 'the upgrade did not reach the instance');
      await new Promise((r) => setTimeout(r, 700));
      const queued = backend.flood.bufferedAmount;
      assert.ok(queued > 200 * 1024 * 1024, `only ${(queued / 1048576).toFixed(0)} MiB of 256 still queued at the instance: the proxy buffered the rest`);
    } finally {
      sock.destroy();
    }
  });

  it('counts a WebSocket as activity', async () => {
    rig.activity.length = 0;
    const ws = await must(wsUrl(rig.port, '/ws'));
    ws.close();
    await once(ws, 'close');
    assert.deepEqual(rig.activity, [['gs-ws', 'ws']]);
  });

  it('passes on an instance that refuses the upgrade', async () => {
    assert.equal(await open(wsUrl(rig.port, '/ws-refuse')), 403);
  });

  it('answers a non-WebSocket upgrade 400 and closes', async () => {
    const reply = await rawExchange(rig.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /"code":"upgrade_refused"/);
  });

  it('refuses a bad path before connecting', async () => {
    // Raw: a WebSocket client would resolve the dots itself.
    const before = backend.seen.length;
    const reply = await rawExchange(rig.port, 'GET /a/%2e%2e/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /"code":"bad_path"/);
    assert.equal(backend.seen.length, before);
  });

  it('answers no-session 401, gone and starting 503', async () => {
    const keep = route;
    try {
      route = { kind: 'no-session' };
      assert.equal(await open(wsUrl(rig.port, '/ws')), 401);
      route = { kind: 'gone', reason: 'released' };
      assert.equal(await open(wsUrl(rig.port, '/ws')), 503);
      route = { kind: 'starting' };
      assert.equal(await open(wsUrl(rig.port, '/ws')), 503);
    } finally {
      route = keep;
    }
  });

  it('a dead instance: 503, one warn line, onGone', async () => {
    const log = captureLog();
    const dead = await startProxy({ kind: 'target', host: '127.0.0.1', port: await freePort(), key: 'gs-dead' }, { logger: log.logger });
    try {
      assert.equal(await open(wsUrl(dead.port, '/ws')), 503);
      assert.deepEqual(dead.gone, ['gs-dead']);
      assert.equal(log.lines.filter((l) => l.severity === 'WARNING').length, 1);
    } finally {
      await dead.close();
    }
  });

  it('close() ends open WebSockets', async () => {
    const other = await startProxy(route);
    const ws = await must(wsUrl(other.port, '/ws'));
    const closed = once(ws, 'close');
    await other.close();
    await closed;
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });
});
