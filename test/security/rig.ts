/**
 * The security tests' rig: an embedded control plane whose instances show what reached
 * them (instance.mjs), an allocator in front, browsers, and raw sockets for requests that
 * no HTTP client would send as written.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { IdentityOptions } from '../../allocator/identity/index.ts';
import type { RunningAllocator } from '../../allocator/server.ts';
import { allocatorOn, Browser } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready, type EmbeddedRig } from '../helpers/embedded.ts';

export const INSTANCE = fileURLToPath(new URL('./instance.mjs', import.meta.url));

export interface Seen {
  gs: string;
  method: string;
  url: string;
  /** Raw header list as the instance received it. */
  headers: string[];
}

export interface SecurityRig {
  rig: EmbeddedRig;
  alloc: RunningAllocator;
  /** host:port of the allocator, for Host headers. */
  host: string;
  browser(name: string): Browser;
  /** Sends bytes as written; resolves with everything read until the peer closes or `ms` pass. */
  raw(text: string | Buffer, ms?: number): Promise<string>;
}

/** Closers registered by the file; its after() runs them in reverse. */
export type Closers = (() => Promise<void> | void)[];

export async function securityRig(closers: Closers, o: { replicas: number; range: number; identity?: Partial<IdentityOptions> }): Promise<SecurityRig> {
  const rig = await embeddedRig({ portRange: { min: o.range, max: o.range + 999 } });
  closers.push(() => rig.close());
  rig.e.controlPlane.store.create('fleets.agones.dev', fleetOf('sd-webui', o.replicas, [process.execPath, INSTANCE]));
  // Generous: other work on a 2-core machine can slow process start-up a lot.
  await rig.until((g) => ready(g).length === o.replicas, `${o.replicas} Ready`, 40_000);
  const alloc = await allocatorOn(rig, o.identity ? { identity: o.identity } : {});
  closers.push(() => alloc.stop());
  return {
    rig,
    alloc,
    host: `127.0.0.1:${alloc.port}`,
    browser: (name) => {
      const b = new Browser(alloc.url, name);
      closers.push(() => b.close());
      return b;
    },
    raw: (text, ms) => rawExchange(alloc.port, text, ms),
  };
}

export function rawExchange(port: number, text: string | Buffer, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(out);
    };
    const t = setTimeout(done, ms);
    s.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    s.on('close', done);
    s.on('error', done);
    s.write(text);
  });
}

/** The status code of the first response in a raw reply (0 when there is none). */
export const statusOf = (reply: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);

/** The body of the first response of a raw reply that carried Content-Length (enough for JSON answers). */
export function bodyOf(reply: string): string {
  const i = reply.indexOf('\r\n\r\n');
  if (i === -1) return '';
  const len = /\r\ncontent-length: *(\d+)/i.exec(reply.slice(0, i));
  const rest = reply.slice(i + 4);
  return len ? rest.slice(0, Number(len[1])) : rest;
}

/** What the instance reported in a raw reply (its JSON body), or undefined when no instance answered. */
export function seenIn(reply: string): Seen | undefined {
  const body = bodyOf(reply);
  try {
    const v = JSON.parse(body) as Partial<Seen>;
    return typeof v.gs === 'string' && Array.isArray(v.headers) ? (v as Seen) : undefined;
  } catch {
    return undefined;
  }
}

/** A WebSocket handshake request (raw), with the given extra header lines. */
export function wsHandshake(path: string, host: string, extra: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', ...extra, '', ''].join('\r\n');
}

/** The instance's first WebSocket frame in a raw reply after a 101, parsed. */
export function wsSeen(reply: string): Seen | undefined {
  if (statusOf(reply) !== 101) return undefined;
  const i = reply.indexOf('\r\n\r\n');
  const frame = Buffer.from(reply.slice(i + 4), 'latin1');
  if (frame.length < 4 || frame[0] !== 0x81 || frame[1] !== 126) return undefined;
  const len = frame.readUInt16BE(2);
  return JSON.parse(frame.subarray(4, 4 + len).toString('utf8')) as Seen;
}

/** Values of a header (any case) in a raw header list. */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** What reached the instance of the browser's user (the instance's own log of request lines). */
export async function arrivals(b: Browser): Promise<{ gs: string; arrivals: string[] }> {
  const r = await b.fetch('GET', '/__arrivals');
  return (await r.json()) as { gs: string; arrivals: string[] };
}
