/**
 * The floor of a proxy written in Node, for `sdfleet bench proxy --targets …,node-relay`
 * (in its own process, forked with IPC; sends `{ port }` once listening). Requests are
 * parsed with Node's own HTTP parser (llhttp, as `_http_common` exposes it), sent on one
 * upstream connection per client connection with Host and X-Forwarded-For rewritten and
 * the framing set, and the instance's bytes are piped back unparsed. Nothing is checked,
 * nobody is identified, nothing is counted: the least a Node process can do per proxied
 * request, to set the sdfleet proxy against. Not a product component: it would be unsafe
 * as one. Environment: TARGET_PORT (the backend on 127.0.0.1). Exits when its parent does.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { methodName } from '../../allocator/proxy/llhttp.ts';

/** The parts of Node's internal HTTPParser binding used here (Node 20–24). */
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  [slot: number]: unknown;
}
interface ParserClass {
  new (): Parser;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass };

/** Not forwarded: the connection's own, and what is set here. */
const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'x-forwarded-for']);

function relay(client: net.Socket, port: number): void {
  const up = net.connect({ host: '127.0.0.1', port, noDelay: true });
  client.setNoDelay(true);
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
  let chunked = false;
  let piping = false; // after an Upgrade: bytes both ways, unparsed
  const toUp = (b: Buffer | string): void => {
    if (!up.write(b)) {
      client.pause();
      up.once('drain', () => client.resume());
    }
  };
  parser[HTTPParser.kOnHeaders] = (): void => undefined;
  parser[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[], method: number, url: string, _s: number, _m: string, upgrade: boolean): number => {
    let head = `${methodName(method)} ${url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
    let length: string | undefined;
    chunked = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const lower = name.toLowerCase();
      if (lower === 'content-length') length = headers[i + 1];
      else if (lower === 'transfer-encoding') chunked = true;
      if (DROP.has(lower) && !(upgrade && (lower === 'connection' || lower === 'upgrade'))) continue;
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    head += `X-Forwarded-For: ${client.remoteAddress ?? 'unknown'}\r\n`;
    if (chunked) head += 'Transfer-Encoding: chunked\r\n';
    else if (length !== undefined) head += `Content-Length: ${length}\r\n`;
    toUp(`${head}\r\n`);
    if (upgrade) piping = true;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer): void => {
    if (chunked) toUp(`${b.length.toString(16)}\r\n`);
    toUp(b);
    if (chunked) toUp('\r\n');
  };
  parser[HTTPParser.kOnMessageComplete] = (): void => {
    if (chunked) toUp('0\r\n\r\n');
  };
  client.on('data', (d: Buffer) => {
    if (piping) {
      toUp(d);
      return;
    }
    const n = parser.execute(d);
    if (n instanceof Error) {
      client.destroy();
      return;
    }
    if (piping && n < d.length) toUp(d.subarray(n));
  });
  up.on('data', (d: Buffer) => {
    if (!client.write(d)) {
      up.pause();
      client.once('drain', () => up.resume());
    }
  });
  client.on('close', () => up.destroy());
  up.on('close', () => client.destroy());
  client.on('error', () => undefined);
  up.on('error', () => undefined);
}

function main(): void {
  const port = Number(process.env.TARGET_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`TARGET_PORT must be the backend's port, got ${String(process.env.TARGET_PORT)}`);
  const server = net.createServer((c) => relay(c, port));
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as net.AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
