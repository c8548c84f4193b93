// A GameServer process for the security tests: like test/fixtures/ready-server.mjs (Ready
// through the SDK's HTTP gateway, health every second, exits on SIGTERM), but it shows
// what reached it. Every HTTP answer is JSON {gs, method, url, headers} (raw header list);
// GET /__arrivals lists every request line seen so far (to prove a refused request never
// arrived); GET /__set-cookie answers with Set-Cookie headers for the allocator's cookie
// and another one. A WebSocket upgrade is accepted and sends one text frame with the same
// JSON as an HTTP answer.
import { createHash } from 'node:crypto';
import http from 'node:http';

const sdk = `http://127.0.0.1:${process.env.AGONES_SDK_HTTP_PORT}`;
const post = (path) => fetch(sdk + path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
const port = Number(process.env.SDFLEET_WEBUI_PORT ?? 0);
const gs = process.env.SDFLEET_GAMESERVER;
const arrivals = [];

const seen = (req) => JSON.stringify({ gs, method: req.method, url: req.url, headers: req.rawHeaders });

const server = http.createServer((req, res) => {
  if (req.url === '/__arrivals') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ gs, arrivals }));
    return;
  }
  arrivals.push(`${req.method} ${req.url}`);
  req.resume();
  req.on('end', () => {
    if (req.url === '/__set-cookie') {
      res.setHeader('set-cookie', ['sdfleet_session=planted; Path=/', '__Host-sdfleet_session=planted; Path=/; Secure', 'webui_pref=dark; Path=/']);
    }
    res.setHeader('content-type', 'application/json');
    res.end(seen(req));
  });
});

server.on('upgrade', (req, socket) => {
  arrivals.push(`UPGRADE ${req.url}`);
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const payload = Buffer.from(seen(req));
  // One unmasked text frame (server to client), 16-bit length form.
  const head = Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  socket.write(Buffer.concat([head, payload]));
  socket.on('error', () => socket.destroy());
  socket.on('data', () => undefined);
  socket.on('end', () => socket.end());
});

server.listen(port, '127.0.0.1', async () => {
  console.log(`ready on ${port} pid=${process.pid}`);
  await post('/ready');
});
setInterval(() => post('/health').catch(() => undefined), 1000);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
