import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Server } from 'socket.io';
import { leanSocket } from './fanout-lean-socket.ts';

const PATH = '/_sdfleet/socket.io';

async function server(o: { refuse?: boolean } = {}) {
  const httpServer = http.createServer();
  // Pings every 50 ms, dropped after 100 ms without a pong: a client that does not answer is gone quickly.
  const io = new Server(httpServer, { path: PATH, serveClient: false, pingInterval: 50, pingTimeout: 100 });
  const cookies: (string | undefined)[] = [];
  io.use((socket, next) => {
    cookies.push(socket.request.headers.cookie);
    next(o.refuse ? new Error('unauthenticated: sign in first') : undefined);
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  return { io, cookies, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => void io.close(() => r())) };
}

describe('the lean socket.io protocol client of bench fanout', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('joins the namespace with its headers, answers pings, and names each event (payload decoded on request)', async () => {
    const s = await server();
    closers.push(s.close);
    const events: { name: string; payload: unknown }[] = [];
    const held = await leanSocket({ url: s.url, path: PATH, headers: { cookie: 'sdfleet_session=abc' }, onEvent: (name, payload) => events.push({ name, payload: payload() }) });
    assert.deepEqual(s.cookies, ['sdfleet_session=abc']);
    // Several ping intervals later it is still connected: it answered every ping.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(s.io.sockets.sockets.size, 1, 'still connected after 8 pings');
    s.io.emit('fleet', { ready: 3, waiting: 1 });
    s.io.emit('state', { queue: null });
    const until = Date.now() + 2000;
    while (events.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, [{ name: 'fleet', payload: { ready: 3, waiting: 1 } }, { name: 'state', payload: { queue: null } }]);
    held.close();
  });

  it('a refusal at the handshake rejects with the server\'s message', async () => {
    const s = await server({ refuse: true });
    closers.push(s.close);
    await assert.rejects(leanSocket({ url: s.url, path: PATH, headers: {}, onEvent: () => undefined }), /unauthenticated: sign in first/);
  });
});
