/**
 * The load side of `sdfleet bench allocation`, in its own process (forked by
 * allocation.ts) so that it never shares the server's event loop or core. It POSTs
 * GameServerAllocations over keep-alive HTTP, closed loop (C clients, each sending the
 * next request when the previous one answers) or open loop (a fixed rate over C
 * connections, latency counted from when each request was due), and reports counts and
 * latency percentiles of the Allocated answers.
 *
 * The pool of Ready GameServers is finite: when a phase has sent as many requests as the
 * server said it can allocate (`quota`), it lets every request in flight answer, asks the
 * parent to refill the pool (`refill`), and goes on. Time spent refilling is not measured.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeanPool, type LeanAnswer } from './lean-http.ts';
import { summarize, type Summary } from './stats.ts';

export interface PhaseSpec {
  id: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The POST path. */
  path: string;
  mode: 'closed' | 'open';
  /** Clients (closed loop) or connections (open loop). */
  concurrency: number;
  /** Requests per second (open loop). */
  rate: number;
  /** Measured time to run, not counting refills. */
  durationMs: number;
  /** Stop after this many requests (0 = no limit). */
  count: number;
  /** Requests the server can answer with Allocated before a refill; null = no limit. */
  quota: number | null;
  /** The Fleet whose GameServers are asked for (label agones.dev/fleet). */
  fleet: string;
  /**
   * The HTTP client: `lean` (lean-http.ts: a few µs of this process's CPU a request) or
   * `node-http` (Node's http.request and Agent, ~70 µs: with 50 answers arriving together
   * its own event loop adds to the latency it measures). Default lean.
   */
  client?: 'lean' | 'node-http';
}

export interface PhaseResult {
  id: number;
  /** Answers with status.state Allocated: the only ones whose latency is kept. */
  allocated: number;
  unallocated: number;
  /** Non-2xx answers and network errors. */
  errors: number;
  firstError?: string;
  /** Measured wall time (refills excluded). */
  elapsedMs: number;
  /** Refills of the pool during the phase. */
  refills: number;
  /** Latency of Allocated answers, ms. */
  latency: Summary & { p999: number };
  /** Bytes of the last Allocated answer (to size the baseline's answer alike). */
  answerBytes: number;
  /** CPU this client used in the measured time, ms. */
  cpuMs: number;
}

/** parent → child */
export type ToClient = { type: 'run'; spec: PhaseSpec } | { type: 'refilled'; quota: number | null } | { type: 'exit' };
/** child → parent */
export type FromClient = { type: 'refill'; id: number } | { type: 'result'; result: PhaseResult } | { type: 'failed'; message: string };

/** How long answers may still come after a run's measured time is up; the rest are cut off (errors). */
export const DRAIN_MS = 10_000;
const ALLOCATED = '"state":"Allocated"';
const UNALLOCATED = '"state":"UnAllocated"';

/** The clock of `allocated-at`, read once a second: the client's CPU goes to sending. */
let nowText = '';
let nowUntil = 0;

/**
 * What the allocator will send: its Fleet as selector, the user's label and annotations.
 * Built as text (all values are plain ASCII): the same bytes as JSON.stringify of the
 * object, for less of the client's CPU.
 */
export function allocationBody(fleet: string, i: number): string {
  const user = (0x9e3779b1 * (i + 1)) >>> 0;
  const t = Date.now();
  if (t >= nowUntil) {
    nowText = new Date(t).toISOString();
    nowUntil = t + 1000;
  }
  return (
    `{"apiVersion":"allocation.agones.dev/v1","kind":"GameServerAllocation","metadata":{"namespace":"default"},` +
    `"spec":{"selectors":[{"matchLabels":{"agones.dev/fleet":${JSON.stringify(fleet)}}}],"scheduling":"Packed",` +
    `"metadata":{"labels":{"sdfleet.dev/user":"u-${user.toString(16).padStart(8, '0')}"},` +
    `"annotations":{"sdfleet.dev/user-id":"user${i}@example.com","sdfleet.dev/session":"s-${i.toString(36)}-${user.toString(36)}","sdfleet.dev/allocated-at":"${nowText}"}}}}`
  );
}

interface Answer {
  kind: 'allocated' | 'unallocated' | 'error';
  error?: string;
  bytes: number;
}

function classify(status: number, text: string, error?: string): Answer {
  if (status === 0) return { kind: 'error', error: error ?? 'no answer', bytes: 0 };
  if (status < 200 || status >= 300) return { kind: 'error', error: `HTTP ${status}: ${text.slice(0, 300)}`, bytes: text.length };
  if (text.includes(ALLOCATED)) return { kind: 'allocated', bytes: text.length };
  if (text.includes(UNALLOCATED)) return { kind: 'unallocated', bytes: text.length };
  return { kind: 'error', error: `an answer without status.state: ${text.slice(0, 300)}`, bytes: text.length };
}

/** POSTs a body and classifies the answer: through Node's http client or the lean one. */
type Poster = (body: string) => Promise<Answer>;

function nodeHttpPost(agent: http.Agent, url: URL, path: string, body: string, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        agent,
        signal,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(classify(res.statusCode ?? 0, text, 'an answer without a status code')));
        res.on('error', (err) => resolve({ kind: 'error', error: err.message, bytes: 0 }));
      },
    );
    req.on('error', (err) => resolve({ kind: 'error', error: signal.aborted ? `no answer within ${DRAIN_MS / 1000} s after the run's time was up` : err.message, bytes: 0 }));
    req.end(body);
  });
}

/**
 * Opens the run's connections before it is measured (a GET of /healthz on each): a run
 * measures requests, not TCP handshakes of a couple of hundred connections at once.
 */
async function openConnections(agent: http.Agent | LeanPool, url: URL, n: number): Promise<void> {
  if (agent instanceof LeanPool) {
    const get = agent.getBytes('/healthz');
    await Promise.all(Array.from({ length: n }, () => agent.request(get)));
    return;
  }
  const signal = AbortSignal.timeout(DRAIN_MS);
  setMaxListeners(Infinity, signal);
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const req = http.request({ host: url.hostname, port: url.port, method: 'GET', path: '/healthz', agent, signal }, (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        });
        req.on('error', () => resolve());
        req.end();
      }),
    ),
  );
}

/** Asks the parent to refill the Ready pool; resolves with the next quota. */
type Refill = () => Promise<number | null>;

export async function runPhase(spec: PhaseSpec, refill: Refill): Promise<PhaseResult> {
  const url = new URL(spec.url);
  const agent = (spec.client ?? 'lean') === 'lean' ? new LeanPool(url, spec.concurrency) : new http.Agent({ keepAlive: true, maxSockets: spec.concurrency, maxFreeSockets: spec.concurrency });
  const latencies: number[] = [];
  const r = { allocated: 0, unallocated: 0, errors: 0, firstError: undefined as string | undefined, answerBytes: 0 };
  let quota = spec.quota ?? Infinity;
  let sentInRound = 0;
  let sent = 0;
  let refills = 0;
  let measuredMs = 0;
  await openConnections(agent, url, spec.concurrency);
  let roundStart = performance.now();
  const limit = spec.count > 0 ? spec.count : Infinity;
  const measured = (): number => measuredMs + (performance.now() - roundStart);
  const done = (): boolean => sent >= limit || measured() >= spec.durationMs;
  const record = (a: Answer, ms: number): void => {
    if (a.kind === 'allocated') {
      r.allocated++;
      latencies.push(ms);
      r.answerBytes = a.bytes;
    } else if (a.kind === 'unallocated') r.unallocated++;
    else {
      r.errors++;
      r.firstError ??= a.error;
    }
  };
  let cpuUs = 0;
  let cpuFrom = process.cpuUsage();
  const newRound = async (): Promise<void> => {
    measuredMs += performance.now() - roundStart;
    const c = process.cpuUsage(cpuFrom);
    cpuUs += c.user + c.system;
    refills++;
    quota = (await refill()) ?? Infinity;
    sentInRound = 0;
    cpuFrom = process.cpuUsage();
    roundStart = performance.now();
  };

  // A server that stops answering must not hold the run forever.
  const abort = new AbortController();
  const signal = abort.signal;
  setMaxListeners(Infinity, signal); // every request in flight listens to it
  const post: Poster =
    agent instanceof LeanPool
      ? (body) => agent.request(agent.postBytes(spec.path, body)).then((a: LeanAnswer) => classify(a.status, a.body, a.error))
      : (body) => nodeHttpPost(agent, url, spec.path, body, signal);
  signal.addEventListener('abort', () => {
    if (agent instanceof LeanPool) agent.close(`no answer within ${DRAIN_MS / 1000} s after the run's time was up`);
  });
  let allSentAt = Infinity;
  const watchdog = setInterval(() => {
    if (sent >= limit && allSentAt === Infinity) allSentAt = measured();
    if (measured() > Math.min(spec.durationMs, allSentAt) + DRAIN_MS) abort.abort();
  }, 200);
  try {
    if (spec.mode === 'closed') {
      // Clients that find the round's quota used up wait; when every client still running
      // waits, the pool is refilled and they all go on.
      let active = spec.concurrency;
      let waiting = 0;
      let ending = false;
      let round: { promise: Promise<void>; resolve: () => void } | undefined;
      const maybeEndRound = (): void => {
        if (!round || ending || waiting < active) return;
        ending = true;
        const over = round;
        void (done() ? Promise.resolve() : newRound()).then(() => {
          waiting = 0;
          round = undefined;
          ending = false;
          over.resolve();
        });
      };
      const client = async (): Promise<void> => {
        for (;;) {
          if (done()) return;
          if (sentInRound >= quota) {
            if (!round) {
              let resolve!: () => void;
              const promise = new Promise<void>((res) => (resolve = res));
              round = { promise, resolve };
            }
            const wait = round.promise;
            waiting++;
            maybeEndRound();
            await wait;
            continue;
          }
          const i = sent++;
          sentInRound++;
          const t0 = performance.now();
          record(await post(allocationBody(spec.fleet, i)), performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: spec.concurrency }, () => client().finally(() => {
        active--;
        maybeEndRound();
      })));
    } else {
      const pending = new Set<Promise<void>>();
      let base = performance.now();
      let k = 0;
      while (!done()) {
        if (sentInRound >= quota) {
          await Promise.all(pending);
          await newRound();
          base = performance.now();
          k = 0;
          continue;
        }
        const now = performance.now();
        const due = base + (k * 1000) / spec.rate;
        if (due > now) {
          await sleep(Math.max(0, due - now - 0.5));
          continue;
        }
        const i = sent++;
        sentInRound++;
        k++;
        const p = post(allocationBody(spec.fleet, i)).then((a) => {
          record(a, performance.now() - due);
          pending.delete(p);
        });
        pending.add(p);
        // A burst of due requests must not starve the answers' callbacks.
        if (sent % 64 === 0) await new Promise((res) => setImmediate(res));
      }
      await Promise.all(pending);
    }
  } finally {
    clearInterval(watchdog);
    if (agent instanceof LeanPool) agent.close();
    else agent.destroy();
  }
  const elapsedMs = measured();
  const c = process.cpuUsage(cpuFrom);
  cpuUs += c.user + c.system;
  latencies.sort((a, b) => a - b);
  const s = summarize(latencies);
  const p999 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(0.999 * latencies.length) - 1)]! : NaN;
  return { id: spec.id, ...r, elapsedMs, refills, latency: { ...s, p999 }, answerBytes: r.answerBytes, cpuMs: cpuUs / 1000 };
}

// Run as a forked child: phases come over IPC, one at a time.
if (process.send) {
  const send = (m: FromClient): void => {
    process.send!(m);
  };
  let onRefilled: ((q: number | null) => void) | undefined;
  process.on('message', (m: ToClient) => {
    if (m.type === 'exit') process.exit(0);
    if (m.type === 'refilled') {
      onRefilled?.(m.quota);
      onRefilled = undefined;
      return;
    }
    const spec = m.spec;
    runPhase(spec, () => {
      send({ type: 'refill', id: spec.id });
      return new Promise((res) => (onRefilled = res));
    }).then(
      (result) => send({ type: 'result', result }),
      (err: unknown) => send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
