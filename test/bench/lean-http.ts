/**
 * A load client's HTTP/1.1 over keep-alive sockets, lean: a request is one write of
 * ready-made bytes, an answer is read by its status line and Content-Length, no more.
 * `sdfleet bench allocation` measures a server at ~8k requests/s from a client on the same
 * two cores; Node's http.request costs that client ~70 µs of CPU per request, and with 50
 * answers arriving together the last of them waits for the 49 before it in the client's own
 * event loop before its latency is taken. This one costs a few µs, so the figure is the
 * server's (wrk and its kind are written in C for the same reason; wrk cannot refill the
 * bench's pool between rounds, hence this).
 *
 * One request at a time per connection (no pipelining), like http.Agent with
 * `maxSockets`: requests beyond the pool's connections wait for a free one, in order.
 * What it does not read (chunked answers, 1xx, no Content-Length) is an error answer,
 * named, never a guess.
 */
import net from 'node:net';

export interface LeanAnswer {
  /** HTTP status; 0 when there was no answer (then `error` says why). */
  status: number;
  body: string;
  error?: string;
}

interface Pending {
  bytes: string;
  resolve: (a: LeanAnswer) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;
const CLOSE = /\r\nconnection:[ \t]*close/i;
const JSON_HEADERS: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
const NO_HEADERS: Record<string, string> = {};

/** One keep-alive connection; `send` must not be called while a request is in flight. */
class LeanConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: net.Socket | undefined;
  #buf: Buffer | undefined;
  #current: Pending | undefined;
  /** The answer's status and where its body ends in #buf, once the head is read. */
  #status = 0;
  #bodyStart = -1;
  #bodyEnd = -1;
  #closeAfter = false;
  readonly #onIdle: (c: LeanConnection) => void;

  constructor(host: string, port: number, onIdle: (c: LeanConnection) => void) {
    this.#host = host;
    this.#port = port;
    this.#onIdle = onIdle;
  }

  send(p: Pending): void {
    this.#current = p;
    const s = this.#socket ?? this.#connect();
    s.write(p.bytes, 'utf8');
  }

  destroy(reason: string): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
    this.#fail(reason);
  }

  #connect(): net.Socket {
    const s = net.connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#socket = s;
    this.#buf = undefined;
    // Events of a socket already given up (destroyed, replaced) concern no request.
    s.on('data', (chunk: Buffer) => {
      if (this.#socket === s) this.#onData(chunk);
    });
    s.on('error', (err) => {
      if (this.#socket !== s) return;
      this.#socket = undefined;
      this.#fail(err.message);
    });
    s.on('close', () => {
      if (this.#socket !== s) return;
      this.#socket = undefined;
      this.#fail('the server closed the connection before answering');
    });
    return s;
  }

  #fail(error: string): void {
    const p = this.#current;
    if (!p) return;
    this.#current = undefined;
    this.#bodyStart = -1;
    this.#buf = undefined;
    // Free again: its next request opens a new connection.
    this.#onIdle(this);
    p.resolve({ status: 0, body: '', error });
  }

  #onData(chunk: Buffer): void {
    const buf = this.#buf ? Buffer.concat([this.#buf, chunk]) : chunk;
    this.#buf = buf;
    if (!this.#current) {
      this.destroy('bytes from the server with no request in flight');
      return;
    }
    if (this.#bodyStart < 0) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end + 2);
      const status = Number(head.slice(9, 12));
      const cl = CONTENT_LENGTH.exec(head);
      if (!head.startsWith('HTTP/1.') || !(status >= 200) || CHUNKED.test(head) || !cl) {
        this.destroy(`an answer this client does not read (it needs a status ≥ 200 and a Content-Length): ${head.slice(0, 200)}`);
        return;
      }
      this.#status = status;
      this.#closeAfter = CLOSE.test(head);
      this.#bodyStart = end + 4;
      this.#bodyEnd = this.#bodyStart + Number(cl[1]);
    }
    if (buf.length < this.#bodyEnd) return;
    if (buf.length > this.#bodyEnd) {
      this.destroy('more bytes than the answer’s Content-Length');
      return;
    }
    const p = this.#current;
    const answer: LeanAnswer = { status: this.#status, body: buf.toString('utf8', this.#bodyStart, this.#bodyEnd) };
    this.#current = undefined;
    this.#buf = undefined;
    this.#bodyStart = -1;
    if (this.#closeAfter) {
      this.#socket?.destroy();
      this.#socket = undefined;
    }
    this.#onIdle(this);
    p.resolve(answer);
  }
}

/** Up to `size` keep-alive connections to one server; requests wait for a free one in order. */
export class LeanPool {
  readonly #free: LeanConnection[] = [];
  readonly #all: LeanConnection[] = [];
  readonly #waiting: Pending[] = [];
  #waitHead = 0;
  readonly #hostHeader: string;
  #closed = false;

  constructor(url: URL, size: number) {
    this.#hostHeader = url.host;
    for (let i = 0; i < size; i++) {
      const c = new LeanConnection(url.hostname, Number(url.port), (idle) => this.#idle(idle));
      this.#all.push(c);
      this.#free.push(c);
    }
  }

  /** The bytes of a request with a JSON body (Content-Type, Accept, Content-Length). */
  postBytes(path: string, body: string): string {
    return this.requestBytes('POST', path, JSON_HEADERS, body);
  }

  getBytes(path: string): string {
    return this.requestBytes('GET', path, NO_HEADERS);
  }

  /** Any request: `headers` as given (names and values without CR or LF), a body with its Content-Length. */
  requestBytes(method: string, path: string, headers: Record<string, string>, body?: string): string {
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new Error(`a header with CR or LF: ${JSON.stringify(k)}`);
      head += `${k}: ${v}\r\n`;
    }
    if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    return `${head}\r\n${body ?? ''}`;
  }

  /** Sends a request built by postBytes/getBytes (written as UTF-8, as postBytes counts the body) on a free connection. */
  request(bytes: string): Promise<LeanAnswer> {
    return new Promise((resolve) => {
      if (this.#closed) {
        resolve({ status: 0, body: '', error: 'the pool is closed' });
        return;
      }
      const p: Pending = { bytes, resolve };
      const c = this.#free.pop();
      if (c) c.send(p);
      else this.#waiting.push(p);
    });
  }

  #idle(c: LeanConnection): void {
    if (this.#closed) return;
    if (this.#waitHead < this.#waiting.length) {
      const p = this.#waiting[this.#waitHead]!;
      this.#waiting[this.#waitHead++] = undefined as unknown as Pending;
      if (this.#waitHead === this.#waiting.length) {
        this.#waiting.length = 0;
        this.#waitHead = 0;
      }
      // After the current answer's callbacks: the connection is free only once they ran.
      queueMicrotask(() => c.send(p));
      return;
    }
    this.#free.push(c);
  }

  /** Closes every connection: requests in flight and waiting answer with `reason`. */
  close(reason = 'the pool was closed'): void {
    this.#closed = true;
    for (const c of this.#all) c.destroy(reason);
    for (let i = this.#waitHead; i < this.#waiting.length; i++) this.#waiting[i]!.resolve({ status: 0, body: '', error: reason });
    this.#waiting.length = 0;
    this.#waitHead = 0;
  }
}
