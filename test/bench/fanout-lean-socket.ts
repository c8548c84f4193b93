/**
 * A minimal socket.io v4 client for `sdfleet bench fanout --client lean`: the engine.io
 * protocol over a bare WebSocket (ws), enough to hold a connection and hear events —
 * open, CONNECT to the main namespace, answer pings, and report each EVENT by name
 * without decoding its payload. 10,000 socket.io-client instances in two processes on the
 * machine that also runs the server spend more CPU decoding than the server spends
 * sending; a browser decodes on its own CPU. The server side is the same either way.
 */
import WebSocket from 'ws';

export interface LeanSocketOptions {
  /** http(s)://host:port of the server. */
  url: string;
  /** socket.io's path, e.g. /socket.io. */
  path: string;
  headers: Record<string, string>;
  /** An event arrived: its name, and (when `decode` says so) its payload parsed. */
  onEvent: (name: string, payload: () => unknown) => void;
}

/** Opens the socket; resolves once the namespace is joined (socket.io CONNECT answered), rejects on refusal. */
export function leanSocket(o: LeanSocketOptions): Promise<{ close(): void }> {
  const target = new URL(o.url);
  target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
  target.pathname = `${o.path.replace(/\/$/, '')}/`;
  target.search = '?EIO=4&transport=websocket';
  const ws = new WebSocket(target, { headers: o.headers, perMessageDeflate: false, skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    let joined = false;
    const fail = (why: string): void => {
      if (!joined) reject(new Error(why));
      ws.terminate();
    };
    ws.on('error', (err) => fail(err.message));
    ws.on('close', () => fail('closed before the namespace was joined'));
    ws.on('message', (data: Buffer) => {
      const type = data[0];
      if (type === 0x32 /* '2' ping */) return void ws.send('3');
      if (type === 0x30 /* '0' open */) return void ws.send('40');
      if (type !== 0x34 /* '4' message */) return;
      const sio = data[1];
      if (sio === 0x32 /* '2' EVENT: 42["name",payload] */) {
        const q = data.indexOf(0x22, 4);
        const name = data.toString('latin1', 4, q);
        o.onEvent(name, () => (JSON.parse(data.toString('utf8', 2)) as unknown[])[1]);
      } else if (sio === 0x30 /* '0' CONNECT ack */) {
        joined = true;
        resolve({ close: () => ws.close() });
      } else if (sio === 0x34 /* '4' CONNECT_ERROR */) {
        const msg = (() => {
          try {
            return (JSON.parse(data.toString('utf8', 2)) as { message?: string }).message ?? 'refused';
          } catch {
            return 'refused';
          }
        })();
        fail(msg);
      }
    });
  });
}
