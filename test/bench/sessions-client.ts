/**
 * The load side of `sdfleet bench sessions`, in its own process: signs users in (not
 * measured), then, `concurrency` at a time, each user POSTs /sessions and GETs / through
 * the proxy; the time from the POST to the proxied 200 is one sample. A `baseline` run
 * GETs the stand-in WebUI directly, as many times at the same concurrency: the bare
 * loopback round trip of the same machine, in the same run.
 */
import http from 'node:http';
import { devSignIn } from './bench-http.ts';
import { LeanPool } from './lean-http.ts';

export type ToClient =
  | { type: 'run'; base: string; users: number; concurrency: number; prefix: string }
  | { type: 'baseline'; url: string; requests: number; concurrency: number };
export type FromClient =
  | { type: 'signed-in'; users: number }
  | { type: 'done'; startToRoutable: number[]; post: number[]; failures: Record<string, number>; wallMs: number }
  | { type: 'baseline-done'; samples: number[]; failures: number; wallMs: number };

/** For the sign-ins (not measured). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/**
 * The measured requests go through the lean client (lean-http.ts): Node's http.request
 * costs ~70 µs of this process's CPU a request, on the same two cores as the allocator and
 * the control plane it measures.
 */
const pools = new Map<string, LeanPool>();
function poolFor(base: string): LeanPool {
  let p = pools.get(base);
  if (!p) {
    p = new LeanPool(new URL(base), 256);
    pools.set(base, p);
  }
  return p;
}

/** `count` jobs, `concurrency` at a time. */
async function jobs(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    for (let i = next++; i < count; i = next++) await job(i);
  }));
  return performance.now() - t0;
}

async function run(m: Extract<ToClient, { type: 'run' }>): Promise<void> {
  const users: { cookie: string; csrf: string }[] = [];
  for (let i = 0; i < m.users; i++) {
    users.push(await devSignIn(agent, m.base, `${m.prefix}${i}`));
  }
  process.send!({ type: 'signed-in', users: users.length } satisfies FromClient);
  const startToRoutable: number[] = [];
  const post: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (what: string): void => void (failures[what] = (failures[what] ?? 0) + 1);
  const pool = poolFor(m.base);
  const wallMs = await jobs(users.length, m.concurrency, async (i) => {
    const u = users[i]!;
    const a = performance.now();
    const r = await pool.request(pool.requestBytes('POST', '/_sdfleet/api/v1/sessions', { cookie: u.cookie, 'x-sdfleet-csrf': u.csrf, origin: m.base, 'content-type': 'application/json' }, '{}'));
    const b = performance.now();
    if (r.status !== 201) return fail(`POST ${r.status || r.error}`);
    const g = await pool.request(pool.requestBytes('GET', '/', { cookie: u.cookie }));
    const c = performance.now();
    if (g.status !== 200) return fail(`GET / ${g.status || g.error}`);
    post.push(b - a);
    startToRoutable.push(c - a);
  });
  process.send!({ type: 'done', startToRoutable, post, failures, wallMs } satisfies FromClient);
}

async function baseline(m: Extract<ToClient, { type: 'baseline' }>): Promise<void> {
  const samples: number[] = [];
  let failures = 0;
  const pool = poolFor(m.url);
  const get = pool.getBytes('/');
  const wallMs = await jobs(m.requests, m.concurrency, async () => {
    const a = performance.now();
    const r = await pool.request(get);
    if (r.status === 200) samples.push(performance.now() - a);
    else failures++;
  });
  process.send!({ type: 'baseline-done', samples, failures, wallMs } satisfies FromClient);
}

process.on('message', (m: ToClient) => {
  const job = m.type === 'run' ? run(m) : m.type === 'baseline' ? baseline(m) : undefined;
  job?.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
