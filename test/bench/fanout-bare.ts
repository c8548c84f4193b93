/**
 * The baseline of `sdfleet bench fanout`: a bare socket.io server (no authentication, no
 * state) in a process of its own that broadcasts one payload to every client when told,
 * as the allocator's `fleet` event. Same path and defaults as the allocator's socket.io.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { preciseNow } from './fanout-stats.ts';

export type ToFanoutBare = { type: 'broadcast'; payload: unknown } | { type: 'rss' } | { type: 'ping'; id: number } | { type: 'broadcasts' };
export type FromFanoutBare = { type: 'ready'; url: string } | { type: 'rss'; rssMb: number; heapMb: number } | { type: 'pong'; id: number; at: number }
  /** The broadcasts made since the last ask: start and end of their writes, this process's clock. */
  | { type: 'broadcasts'; broadcasts: { start: number; end: number }[] };

const server = http.createServer();
const io = new Server(server, { path: '/_sdfleet/socket.io', serveClient: false });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const send = (m: FromFanoutBare): void => void process.send!(m);
send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
let broadcasts: { start: number; end: number }[] = [];
process.on('message', (m: ToFanoutBare) => {
  const mb = (n: number): number => Math.round(n / 1048576);
  if (m.type === 'broadcast') {
    const start = preciseNow();
    io.emit('fleet', m.payload);
    broadcasts.push({ start, end: preciseNow() });
  }
  if (m.type === 'broadcasts') {
    send({ type: 'broadcasts', broadcasts });
    broadcasts = [];
  }
  if (m.type === 'rss') send({ type: 'rss', rssMb: mb(process.memoryUsage.rss()), heapMb: mb(process.memoryUsage().heapUsed) });
  if (m.type === 'ping') send({ type: 'pong', id: m.id, at: preciseNow() });
});
const stop = (): void => void io.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
