/**
 * The WebSocket load side of `sdfleet bench proxy`, in its own process (forked with IPC):
 * for each `WsPhase` it receives, opens `connections` WebSockets and has each send a
 * message and wait for its echo, again and again, for `durationSec`; answers `WsResult`.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

export interface WsPhase {
  url: string;
  connections: number;
  durationSec: number;
  /** Message size, bytes. */
  size: number;
}

export interface WsResult {
  messages: number;
  /** Round trips per second, all connections together. */
  rate: number;
  /** Round-trip time percentiles, µs. */
  p50Us: number;
  p99Us: number;
  errors: number;
}

function percentileOf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runWsPhase(p: WsPhase): Promise<WsResult> {
  const payload = Buffer.alloc(p.size, 'm').toString();
  const rtts: number[] = [];
  let errors = 0;
  const sockets = await Promise.all(
    Array.from({ length: p.connections }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(p.url, { perMessageDeflate: false, handshakeTimeout: 5000 });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })),
  );
  const end = performance.now() + p.durationSec * 1000;
  const start = performance.now();
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
    let sentAt = 0;
    const send = (): void => {
      if (performance.now() >= end) {
        resolve();
        return;
      }
      sentAt = performance.now();
      ws.send(payload);
    };
    ws.on('message', () => {
      rtts.push((performance.now() - sentAt) * 1000);
      send();
    });
    ws.on('error', () => { errors++; resolve(); });
    ws.on('close', () => resolve());
    send();
  })));
  const elapsed = (performance.now() - start) / 1000;
  for (const ws of sockets) ws.terminate();
  const sorted = Float64Array.from(rtts).sort();
  return { messages: rtts.length, rate: rtts.length / elapsed, p50Us: percentileOf(sorted, 50), p99Us: percentileOf(sorted, 99), errors };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('message', (m: WsPhase) => {
    runWsPhase(m).then(
      (r) => process.send?.({ ok: r }),
      (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
