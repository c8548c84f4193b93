/**
 * The instance stand-in of `sdfleet bench proxy`, in its own process (forked with IPC;
 * sends `{ port }` once listening): `/` answers 2 KB of text, `/image.png` 8 MiB of
 * PNG-like bytes, `/bytes/<n>` n bytes, `/upload` reads a body and answers its length;
 * WebSocket `/ws` echoes. Answers the IPC message `'stats'` with `{ connections }` (TCP
 * connections accepted so far). Exits when its parent does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';

export const SMALL_BYTES = 2048;
export const IMAGE_BYTES = 8 * 1024 * 1024;

/** A PNG signature and IHDR, then bytes that do not compress (as a real image's would not). */
function pngLike(size: number): Buffer {
  const b = Buffer.alloc(size);
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(b);
  let x = 2463534242;
  for (let i = 16; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function main(): void {
  const small = Buffer.alloc(SMALL_BYTES, 'a');
  const image = pngLike(IMAGE_BYTES);
  const chunk = Buffer.alloc(64 * 1024, 1);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/image.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': image.length });
      res.end(image);
      return;
    }
    const bytes = /^\/bytes\/(\d+)$/.exec(url);
    if (bytes) {
      const total = Number(bytes[1]);
      let sent = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (url === '/upload') {
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => res.end(JSON.stringify({ bytes: n })));
      return;
    }
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': small.length });
    res.end(small);
  });
  server.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  let connections = 0;
  server.on('connection', () => { connections++; });
  process.on('message', (m) => { if (m === 'stats') process.send?.({ connections }); });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
