import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Engine } from './engine.ts';
import type { HangSwitch } from './hang-switch.ts';
import type { ProgressResponse } from './job-state.ts';

/** Where the page's WebSocket connects (relative to the page, so it works behind a proxy). */
export const PROGRESS_SOCKET_PATH = '/sim/ws/progress';

/**
 * A message on the progress socket: what `GET /sdapi/v1/progress?skip_current_image=true`
 * answers, plus `type: "progress"`. One is sent on connect, then one per job start, step
 * and end.
 */
export type ProgressMessage = { type: 'progress' } & ProgressResponse;

/** Serves the progress WebSocket on an HTTP server's upgrade requests. */
export class ProgressSocket {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly pending = new Set<Duplex>();
  private readonly unsubscribe: () => void;
  private readonly engine: Engine;
  private readonly hang: HangSwitch;

  constructor(engine: Engine, hang: HangSwitch) {
    this.engine = engine;
    this.hang = hang;
    this.unsubscribe = engine.onProgress((p) => this.broadcast(p));
  }

  /** The HTTP server's `upgrade` listener. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    if (path !== PROGRESS_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"detail":"Not Found"}');
      return;
    }
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    // A hung sim accepts the connection but completes no handshake until the hang ends.
    void this.hang.whenFree().then(() => {
      if (socket.destroyed) return;
      this.pending.delete(socket);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.welcome(ws));
    });
  };

  /** Drops every socket at once, as a process that exits would. */
  close(): void {
    this.unsubscribe();
    for (const s of this.pending) s.destroy();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private welcome(ws: WebSocket): void {
    ws.send(JSON.stringify(message(this.engine.progress(true))));
  }

  private broadcast(p: ProgressResponse): void {
    // A hung process sends nothing; clients see silence, not an error.
    if (this.hang.hung) return;
    const text = JSON.stringify(message(p));
    for (const ws of this.wss.clients) {
      if (ws.readyState === ws.OPEN) ws.send(text);
    }
  }
}

function message(p: ProgressResponse): ProgressMessage {
  return { type: 'progress', ...p };
}
