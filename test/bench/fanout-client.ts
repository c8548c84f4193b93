/**
 * A client process of `sdfleet bench fanout`: signs its share of the users in and starts
 * their sessions (not measured), then holds one socket.io client per user, connected as
 * that user, and records when each socket's `fleet` event of an armed update arrives, and
 * counts the `state` events that came meanwhile (these users hold a session: a queue
 * change must not send them one). Times are `preciseNow()` in this process's clock; the
 * bench corrects them by the offset it measures with `ping`.
 */
import http from 'node:http';
import { devSignIn, request } from './bench-http.ts';
import { io, type Socket } from 'socket.io-client';
import { preciseNow } from './fanout-stats.ts';
import { leanSocket } from './fanout-lean-socket.ts';

export type ToFanoutClient =
  | { type: 'sessions'; base: string; prefix: string; from: number; to: number; concurrency: number }
  /** `cookies`: as the users signed in (the allocator); without, anonymous (the bare server). */
  /** `lean`: the minimal protocol client (fanout-lean-socket.ts) instead of socket.io-client. */
  | { type: 'connect'; url: string; path: string; cookies: boolean; concurrency: number; lean: boolean }
  | { type: 'arm'; k: number }
  | { type: 'collect'; k: number }
  | { type: 'close' }
  | { type: 'ping'; id: number };

export type FromFanoutClient =
  | { type: 'sessions-done'; started: number; failures: Record<string, number> }
  /** `sample`: the first `fleet` event a socket got (on connecting), null if none did. */
  | { type: 'connected'; connected: number; failures: Record<string, number>; sample: unknown }
  | { type: 'armed'; k: number }
  /**
   * Per socket, when the update's `fleet` arrived (null: not yet). `extra`: the most
   * further `fleet` events one socket got while armed; `states`: `state` events while armed, all sockets.
   */
  | { type: 'arrivals'; k: number; arrivals: (number | null)[]; extra: number; states: number }
  | { type: 'closed' }
  | { type: 'pong'; id: number; at: number };

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });


const send = (m: FromFanoutClient): void => void process.send!(m);
const count = (f: Record<string, number>, key: string): void => void (f[key] = (f[key] ?? 0) + 1);

/** `n` tasks, `concurrency` at a time. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    for (let i = next++; i < n; i = next++) await task(i);
  }));
}

/** Session cookies of this process's users, in user order ('' where sign-in failed). */
let cookies: string[] = [];
/** A connected client, socket.io-client's or the lean one. */
interface Held {
  close(): void;
}

let sockets: Held[] = [];
let armed = -1;
let arrivals: (number | null)[] = [];
let received = 0;
/** Per socket, `fleet` events beyond the first while armed. */
let extras: number[] = [];
let states = 0;
let reported = true;
/** Sockets connected so far in the current `connect`: the next one's index. */
let connectedCount = 0;
/** The first `fleet` payload a socket of the current `connect` got (null: none yet). */
let sample: unknown = null;
const socketIndex = new WeakMap<object, number>();

function report(k: number): void {
  if (reported || k !== armed) return;
  reported = true;
  send({ type: 'arrivals', k, arrivals, extra: Math.max(0, ...extras), states });
}

function onFleet(i: number): void {
  const at = preciseNow();
  if (reported || i < 0) return;
  if (arrivals[i] !== null) {
    extras[i]!++;
    return;
  }
  arrivals[i] = at;
  if (++received === sockets.length) report(armed);
}

async function startSessions(m: Extract<ToFanoutClient, { type: 'sessions' }>): Promise<void> {
  const failures: Record<string, number> = {};
  cookies = new Array<string>(m.to - m.from).fill('');
  let started = 0;
  await pool(m.to - m.from, m.concurrency, async (i) => {
    try {
      const { cookie, csrf } = await devSignIn(agent, m.base, `${m.prefix}${m.from + i}`);
      const s = await request(agent, m.base, 'POST', '/_sdfleet/api/v1/sessions', { cookie, 'x-sdfleet-csrf': csrf, origin: m.base }, '{}');
      if (s.status !== 201) return count(failures, `POST /sessions ${s.status}`);
      cookies[i] = cookie;
      started++;
    } catch (err) {
      count(failures, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  });
  send({ type: 'sessions-done', started, failures });
}

async function connect(m: Extract<ToFanoutClient, { type: 'connect' }>): Promise<void> {
  const failures: Record<string, number> = {};
  connectedCount = 0;
  sample = null;
  const origin = new URL(m.url).origin;
  const open: Held[] = [];
  await pool(cookies.length, m.concurrency, async (i) => {
    if (m.cookies && !cookies[i]) return count(failures, 'no session cookie (sign-in failed)');
    const headers = { origin, ...(m.cookies ? { cookie: cookies[i]! } : {}) };
    try {
      open.push(m.lean ? await connectLean(m, headers) : await connectSocketIo(m, headers));
    } catch (err) {
      count(failures, (err as Error).message);
    }
  });
  sockets = open;
  send({ type: 'connected', connected: open.length, failures, sample });
}

/** One socket.io-client, as a browser page holds it. */
function connectSocketIo(m: Extract<ToFanoutClient, { type: 'connect' }>, headers: Record<string, string>): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(m.url, {
      path: m.path,
      transports: ['websocket'],
      // One connection per user, as in as many browsers (the default shares one per URL).
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
      extraHeaders: headers,
    });
    socket.on('fleet', (payload: unknown) => {
      sample ??= payload;
      onFleet(socketIndex.get(socket) ?? -1);
    });
    socket.on('state', () => {
      if (!reported) states++;
    });
    socket.once('connect', () => {
      socketIndex.set(socket, connectedCount++);
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** The lean protocol client: events by name, the first payload decoded for the sample. */
async function connectLean(m: Extract<ToFanoutClient, { type: 'connect' }>, headers: Record<string, string>): Promise<Held> {
  const key = {};
  const held = await leanSocket({
    url: m.url, path: m.path, headers,
    onEvent: (name, payload) => {
      if (name === 'fleet') {
        if (sample === null) sample = payload();
        onFleet(socketIndex.get(key) ?? -1);
      } else if (name === 'state' && !reported) states++;
    },
  });
  socketIndex.set(key, connectedCount++);
  return held;
}

process.on('message', (m: ToFanoutClient) => {
  switch (m.type) {
    case 'sessions':
      return void startSessions(m).catch(die);
    case 'connect':
      return void connect(m).catch(die);
    case 'arm':
      arrivals = new Array<number | null>(sockets.length).fill(null);
      received = 0;
      extras = new Array<number>(sockets.length).fill(0);
      states = 0;
      armed = m.k;
      reported = false;
      send({ type: 'armed', k: m.k });
      if (sockets.length === 0) report(m.k);
      return;
    case 'collect':
      return report(m.k);
    case 'close':
      for (const s of sockets) s.close();
      sockets = [];
      armed = -1;
      reported = true;
      return send({ type: 'closed' });
    case 'ping':
      return send({ type: 'pong', id: m.id, at: preciseNow() });
  }
});

function die(err: unknown): void {
  console.error(err);
  process.exit(1);
}
