/**
 * The simulated users of `sdfleet bench soak`. Each one loops until told to stop: signs in,
 * connects socket.io (as the page does), starts a session (waiting in the queue when none
 * is free), then a few times over makes proxied HTTP requests (the page, progress, a tiny
 * txt2img), opens the WebUI's progress WebSocket through the proxy until its first message
 * and closes it, and drops and reopens its socket.io connection; then gives the session back
 * (the instance shuts down and the Fleet starts a new one). Every wait is bounded; a failed
 * step is counted by its message and the user goes on with a fresh sign-in.
 */
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { Browser, until } from '../helpers/allocator.ts';
import { PROGRESS_SOCKET_PATH } from '../../sdk-wrapper/sim-webui/index.ts';

export interface SoakUsersOptions {
  /** The allocator's base URL. */
  base: string;
  users: number;
  /** Seconds each user holds a session, spread over its rounds. */
  holdSec: number;
  /** Rounds per session: proxied requests, a WebSocket, a socket.io reconnect each. */
  rounds: number;
  /** Longest wait in the queue before the user gives up (counted as an error). */
  queueTimeoutSec: number;
}

export interface SoakCounts {
  /** Sessions started and given back. */
  sessions: number;
  /** Of those, served from the wait queue. */
  queued: number;
  /** Proxied HTTP requests answered 200. */
  proxied: number;
  /** WebSockets through the proxy that got their first progress message. */
  websockets: number;
  /** socket.io connections that got their `state`. */
  socketio: number;
  /** Failed steps, by what failed. */
  errors: Record<string, number>;
}

const STEP_MS = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type SessionRef = { id: string; state: string };

/** `until`, asking every `everyMs` (not every 50 ms: each ask is a request to the allocator). */
async function poll<T>(ask: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string, everyMs = 500): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await ask();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The status, the body read (and dropped) so the connection goes back to the pool. */
async function statusOf(res: Response): Promise<number> {
  await res.arrayBuffer();
  return res.status;
}

export const errorCount = (c: SoakCounts): number => Object.values(c.errors).reduce((a, b) => a + b, 0);

/** A short, stable name for a failure: its message up to any details, without the user's name; the cause's code. */
function errorKey(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  const code = e.cause?.code;
  const msg = (e.message ?? String(err)).split(';')[0]!.replace(/soak-user-\d+/g, 'a user').slice(0, 120);
  return code ? `${msg} (${code})` : msg;
}

/** `answered 409 (gone)`: the status and the allocator's error code, nothing that varies. */
const answered = (r: { status: number; body: unknown }): string => `answered ${r.status}${(r.body as { error?: { code?: string } }).error?.code ? ` (${(r.body as { error: { code: string } }).error.code})` : ''}`;

export class SoakUsers {
  readonly counts: SoakCounts = { sessions: 0, queued: 0, proxied: 0, websockets: 0, socketio: 0, errors: {} };
  readonly #o: SoakUsersOptions;
  #stopping = false;
  #loops: Promise<void>[] = [];
  /** The users' HTTP connections (fetch's global dispatcher while they run), and the one before. */
  #agent: Agent | undefined;
  #previous: Dispatcher | undefined;

  constructor(o: SoakUsersOptions) {
    this.#o = o;
  }

  /**
   * Starts every user's loop (users join a few hundred ms apart, not all at once). Their
   * fetches go through an agent of their own, closed when they stop: the allocator keeps an
   * idle connection 65 s, and users that are gone must not leave theirs open at rest.
   */
  start(): void {
    this.#stopping = false;
    this.#previous ??= getGlobalDispatcher();
    this.#agent = new Agent();
    setGlobalDispatcher(this.#agent);
    this.#loops = Array.from({ length: this.#o.users }, (_, i) => this.#loop(`soak-user-${i}`, i * 200));
  }

  /** Lets every user finish the session in hand (given back) and stop; false when some did not within `maxMs`. */
  async stop(maxMs: number): Promise<boolean> {
    this.#stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const over = new Promise<false>((r) => (timer = setTimeout(() => r(false), maxMs)));
    const done = await Promise.race([Promise.all(this.#loops).then(() => true as const), over]);
    clearTimeout(timer);
    if (this.#previous) setGlobalDispatcher(this.#previous);
    await (done ? this.#agent?.close() : this.#agent?.destroy());
    this.#agent = undefined;
    return done;
  }

  #fail(err: unknown): void {
    const key = errorKey(err);
    this.counts.errors[key] = (this.counts.errors[key] ?? 0) + 1;
  }

  async #loop(name: string, delayMs: number): Promise<void> {
    await sleep(delayMs);
    while (!this.#stopping) {
      try {
        await this.#cycle(name);
      } catch (err) {
        this.#fail(err);
        await sleep(1000);
      }
    }
  }

  async #cycle(name: string): Promise<void> {
    const b = await new Browser(this.#o.base, name).signIn();
    let session: SessionRef | undefined;
    try {
      await this.#socketIo(b);
      const r = await b.start();
      if (r.status === 201 || r.status === 200) session = r.body.session;
      else if (r.status === 202) session = await this.#served(b);
      else throw new Error(`POST /sessions ${answered(r)}`);
      if (!session) return;
      if (session.state !== 'active') throw new Error(`POST /sessions gave a session in state ${session.state}`);
      await poll(() => b.fetch('GET', '/', undefined, { accept: 'text/html' }).then(statusOf), (s) => s === 200, 30_000, `the instance of ${name} routable through the proxy`, 200);
      const pause = (this.#o.holdSec * 1000) / this.#o.rounds;
      for (let i = 0; i < this.#o.rounds; i++) {
        await this.#proxied(b, i);
        await this.#webSocket(b);
        if (i > 0) {
          for (const s of b.sockets) s.close();
          await this.#socketIo(b);
        }
        await sleep(pause);
      }
    } finally {
      try {
        if (session) await this.#release(b, session.id);
      } finally {
        b.close();
      }
    }
  }

  /** Waits in the queue (asking for the place renews it) until served; undefined when told to stop meanwhile. */
  async #served(b: Browser): Promise<SessionRef | undefined> {
    const end = Date.now() + this.#o.queueTimeoutSec * 1000;
    for (;;) {
      await sleep(1000);
      const me = await b.api<{ session?: SessionRef; queue?: unknown }>('GET', '/sessions/me');
      if (me.status === 200 && me.body.session) {
        this.counts.queued++;
        return me.body.session;
      }
      if (me.status === 404) {
        // Not queued any more (the place lapsed): ask again.
        const again = await b.start();
        if (again.status === 201 || again.status === 200) return again.body.session;
      }
      if (this.#stopping || Date.now() > end) {
        await b.api('DELETE', '/queue/me');
        // Served in the meantime: that session is given back too.
        const last = await b.api<{ session?: SessionRef }>('GET', '/sessions/me');
        if (last.body.session) return this.#stopping ? (await this.#release(b, last.body.session.id), undefined) : last.body.session;
        if (this.#stopping) return undefined;
        throw new Error(`not served from the queue within ${this.#o.queueTimeoutSec} s`);
      }
    }
  }

  /**
   * Gives the session back and waits until it is over: until then POST /sessions answers
   * with the same (releasing) session, as it does for a user who clicks Start right after Stop.
   */
  async #release(b: Browser, id: string): Promise<void> {
    const d = await b.api('DELETE', `/sessions/${id}`);
    if (d.status !== 202) throw new Error(`DELETE /sessions/:id ${answered(d)}`);
    this.counts.sessions++;
    await poll(() => b.api<{ session?: SessionRef }>('GET', '/sessions/me'), (me) => me.status === 404 || me.body.session?.id !== id || me.body.session.state === 'gone', 60_000, `the released session of ${b.name} to end`);
  }

  async #proxied(b: Browser, round: number): Promise<void> {
    const requests: [string, string, unknown?][] = [
      ['GET', '/sdapi/v1/progress'],
      ['POST', '/sdapi/v1/txt2img', { prompt: `soak ${b.name} ${round}`, steps: 2, width: 64, height: 64, seed: round }],
      ['GET', '/internal/ping'],
    ];
    for (const [method, path, body] of requests) {
      const res = await b.fetch(method, path, body, { 'x-soak': '1' });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`proxied ${method} ${path} answered ${res.status}`);
      this.counts.proxied++;
    }
  }

  /** The WebUI's progress WebSocket through the proxy: open, first message, close. */
  #webSocket(b: Browser): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(b.base.replace(/^http/, 'ws') + PROGRESS_SOCKET_PATH, { headers: { cookie: b.cookie, origin: b.base }, handshakeTimeout: STEP_MS, perMessageDeflate: false });
      const fail = (err: Error): void => {
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`no progress message over the proxied WebSocket within ${STEP_MS} ms`)), STEP_MS);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`the proxied WebSocket upgrade answered ${res.statusCode}`)));
      ws.once('error', fail);
      ws.once('message', () => {
        clearTimeout(timer);
        this.counts.websockets++;
        // A clean close, as a browser leaving the page; bounded should the other side not answer.
        const forced = setTimeout(() => ws.terminate(), 5000);
        ws.once('close', () => {
          clearTimeout(forced);
          resolve();
        });
        ws.close(1000);
      });
    });
  }

  async #socketIo(b: Browser): Promise<void> {
    const { events } = await b.socket();
    await until(() => events.some((e) => e.name === 'state'), Boolean, STEP_MS, `the state event over socket.io for ${b.name}`);
    this.counts.socketio++;
  }
}
