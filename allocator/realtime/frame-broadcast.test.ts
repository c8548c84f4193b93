import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { broadcastFrame, textFrame } from './frame-broadcast.ts';

describe('textFrame: a WebSocket text frame from a server (RFC 6455 §5.2)', () => {
  const cases: [string, number, number[]][] = [
    ['short: the length in the second byte', 5, [0x81, 5]],
    ['125 bytes: still one byte', 125, [0x81, 125]],
    ['126 bytes: 126, then 16 bits', 126, [0x81, 126, 0, 126]],
    ['65,535 bytes: 16 bits', 65535, [0x81, 126, 0xff, 0xff]],
    ['65,536 bytes: 127, then 64 bits', 65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
  ];
  for (const [what, n, head] of cases) {
    it(what, () => {
      const f = textFrame('x'.repeat(n));
      assert.deepEqual([...f.subarray(0, head.length)], head);
      assert.equal(f.length, head.length + n);
      assert.equal(f.subarray(head.length).toString(), 'x'.repeat(n));
    });
  }
  it('counts UTF-8 bytes, not characters', () => {
    const f = textFrame('é'.repeat(100));
    assert.deepEqual([...f.subarray(0, 4)], [0x81, 126, 0, 200]);
  });
});

describe('broadcastFrame: one event to every socket of a room', () => {
  let server: http.Server;
  let io: Server;
  let url: string;
  const clients: ClientSocket[] = [];

  before(async () => {
    server = http.createServer();
    io = new Server(server, { path: '/rt' });
    io.on('connection', (s) => {
      if (s.handshake.auth.room !== false) void s.join('all');
      s.on('poke', (ack: () => void) => ack());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await new Promise<void>((r) => io.close(() => r()));
  });

  const open = async (o: { transports: ('websocket' | 'polling')[]; room?: boolean }): Promise<{ c: ClientSocket; got: [string, unknown][] }> => {
    const c = connect(url, { path: '/rt', transports: o.transports, upgrade: false, reconnection: false, auth: { room: o.room ?? true } });
    clients.push(c);
    const got: [string, unknown][] = [];
    c.onAny((event: string, data: unknown) => got.push([event, data]));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', resolve);
      c.once('connect_error', reject);
    });
    // Joined on the server (the connection handler ran) once an acknowledged event returns.
    await c.timeout(2000).emitWithAck('poke');
    return { c, got };
  };
  const until = async (f: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(f(), 'timed out waiting');
  };

  it('WebSocket clients get the frame, a long-polling one the ordinary emit; each gets the same event once', async () => {
    const ws1 = await open({ transports: ['websocket'] });
    const ws2 = await open({ transports: ['websocket'] });
    const poll = await open({ transports: ['polling'] });
    const outside = await open({ transports: ['websocket'], room: false });
    const data = { ready: 3, text: 'é'.repeat(70), nested: { list: [1, 2, 3] }, big: 'y'.repeat(70_000) };
    const r = broadcastFrame(io, 'all', 'fleet', data);
    assert.deepEqual(r, { framedSockets: 2, emittedSockets: 1 });
    await until(() => ws1.got.length === 1 && ws2.got.length === 1 && poll.got.length === 1);
    for (const x of [ws1, ws2, poll]) assert.deepEqual(x.got, [['fleet', data]]);
    await new Promise((r2) => setTimeout(r2, 50));
    assert.deepEqual(outside.got, [], 'a socket outside the room gets nothing');
  });

  it('a socket with a send of its own in flight gets the ordinary emit, after it: the order holds', async () => {
    const a = await open({ transports: ['websocket'] });
    const socket = io.sockets.sockets.get(a.c.id!)!;
    // Same turn: engine.io's transport is not writable again until the first send's
    // callback, so the second waits in engine.io's buffer.
    socket.emit('state', { n: 1 });
    socket.emit('state', { n: 2 });
    const r = broadcastFrame(io, 'all', 'fleet', { n: 3 });
    assert.ok(r.emittedSockets >= 1, 'the socket with a send in flight took the ordinary path');
    socket.emit('state', { n: 4 });
    await until(() => a.got.length === 4);
    assert.deepEqual(a.got, [['state', { n: 1 }], ['state', { n: 2 }], ['fleet', { n: 3 }], ['state', { n: 4 }]]);
  });

  it('binary data takes the ordinary path for every socket', async () => {
    const b = await open({ transports: ['websocket'] });
    const r = broadcastFrame(io, 'all', 'blob', { bytes: Buffer.from([1, 2, 3]) });
    assert.equal(r.framedSockets, 0);
    await until(() => b.got.length === 1);
    assert.deepEqual([...(b.got[0]![1] as { bytes: Uint8Array }).bytes], [1, 2, 3]);
  });

  it('an empty or unknown room sends nothing', () => {
    assert.deepEqual(broadcastFrame(io, 'nobody', 'fleet', {}), { framedSockets: 0, emittedSockets: 0 });
  });
});
