/**
 * One socket.io event to every socket of a room, written as one ready-made WebSocket frame.
 *
 * socket.io's own broadcast (`io.to(room).emit`) already encodes the packet and its
 * WebSocket frame once, but each socket still goes through engine.io's packet buffer, a
 * flush, the transport's send with its callbacks and 'drain' events: ~10 µs a socket, most
 * of the ~100 ms a broadcast to 10,000 sockets holds the event loop. Here the frame goes to
 * each socket's WebSocket sender directly, as engine.io itself sends a pre-encoded frame
 * (`sender.sendFrame`), when nothing of engine.io's is waiting to be written on that
 * socket; every other socket (long-polling, upgrading, a send in flight, packets
 * buffered) gets the ordinary `socket.emit`, so the order of what a client receives never
 * changes. If engine.io's or ws's internals are not as expected (another version), every
 * socket takes the ordinary path: `framedSockets` in the result says how many did not.
 * Only this process's sockets are reached, as with the in-memory adapter the allocator
 * uses (each replica broadcasts to its own sockets); it is not for a cluster adapter.
 */
import type { Server, Socket } from 'socket.io';

export interface FrameBroadcastResult {
  /** Sockets sent the ready-made frame. */
  framedSockets: number;
  /** Sockets sent the event through socket.io (`socket.emit`). */
  emittedSockets: number;
}

/** What this module reads of engine.io's socket and transport, and of ws's sender. */
interface EngineInternals {
  readyState?: string;
  upgrading?: boolean;
  writeBuffer?: unknown[];
  transport?: {
    name?: string;
    writable?: boolean;
    opts?: { perMessageDeflate?: unknown };
    socket?: { readyState?: number; _sender?: { sendFrame?: (list: Buffer[], cb?: () => void) => void } };
  };
}

const WS_OPEN = 1;

/** The WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked from a server) carrying `text`. */
export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const n = payload.length;
  let head: Buffer;
  if (n < 126) {
    head = Buffer.from([0x81, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x81;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/**
 * The engine.io packet text of a socket.io event on the main namespace: engine.io's
 * message type (`4`), then socket.io's own encoding of the event (its encoder: `2[…]`).
 * Undefined for what does not encode as one text packet (binary data).
 */
function eventText(io: Server, event: string, data: unknown): string | undefined {
  const encoded = io.encoder.encode({ type: 2, nsp: '/', data: [event, data] });
  if (encoded.length !== 1 || typeof encoded[0] !== 'string') return undefined;
  return `4${encoded[0]}`;
}

type FrameSender = { sendFrame: (list: Buffer[], cb?: () => void) => void };

/** The socket's WebSocket sender, when nothing of engine.io's waits on this socket. */
function directSender(socket: Socket): FrameSender | undefined {
  const conn = socket.conn as unknown as EngineInternals;
  const t = conn.transport;
  if (!socket.connected || conn.readyState !== 'open' || conn.upgrading) return undefined;
  if (!Array.isArray(conn.writeBuffer) || conn.writeBuffer.length > 0) return undefined;
  if (!t || t.name !== 'websocket' || t.writable !== true || t.opts?.perMessageDeflate) return undefined;
  const ws = t.socket;
  const sender = ws?._sender;
  if (!ws || ws.readyState !== WS_OPEN || typeof sender?.sendFrame !== 'function') return undefined;
  return sender as FrameSender;
}

/** `event` with `data` to every connected socket of `room` on the main namespace. */
export function broadcastFrame(io: Server, room: string, event: string, data: unknown): FrameBroadcastResult {
  const ids = io.sockets.adapter.rooms.get(room);
  const result: FrameBroadcastResult = { framedSockets: 0, emittedSockets: 0 };
  if (!ids || ids.size === 0) return result;
  const text = eventText(io, event, data);
  const frame = text === undefined ? undefined : [textFrame(text)];
  // A copy: a socket whose send fails may leave the room while this loop runs.
  for (const id of [...ids]) {
    const socket = io.sockets.sockets.get(id);
    if (!socket) continue;
    const sender = frame ? directSender(socket) : undefined;
    if (sender) {
      sender.sendFrame(frame!);
      result.framedSockets++;
    } else {
      socket.emit(event, data);
      result.emittedSockets++;
    }
  }
  return result;
}
