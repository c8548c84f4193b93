/**
 * The load side of `sdfleet bench sessions`, in its own process: signs users in (not
 * measured), then, `concurrency` at a time, each user POSTs /sessions and GETs / through
 * the proxy; the time from the POST to the proxied 200 is one sample.
 */
import http from 'node:http';
import { devSignIn, request } from './bench-http.ts';

export type ToClient = { type: 'run'; base: string; users: number; concurrency: number; prefix: string };
export type FromClient =
  | { type: 'signed-in'; users: number }
  | { type: 'done'; startToRoutable: number[]; post: number[]; failures: Record<string, number>; wallMs: number };

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });


async function run(m: ToClient): Promise<void> {
  const users: { cookie: string; csrf: string }[] = [];
  for (let i = 0; i < m.users; i++) {
    users.push(await devSignIn(agent, m.base, `${m.prefix}${i}`));
  }
  process.send!({ type: 'signed-in', users: users.length } satisfies FromClient);
  const startToRoutable: number[] = [];
  const post: number[] = [];
  const failures: Record<string, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: m.concurrency }, async () => {
    for (;;) {
      const u = users[next++];
      if (!u) return;
      const a = performance.now();
      const r = await request(agent, m.base, 'POST', '/_sdfleet/api/v1/sessions', { cookie: u.cookie, 'x-sdfleet-csrf': u.csrf, origin: m.base }, '{}');
      const b = performance.now();
      if (r.status !== 201) {
        failures[`POST ${r.status}`] = (failures[`POST ${r.status}`] ?? 0) + 1;
        continue;
      }
      const g = await request(agent, m.base, 'GET', '/', { cookie: u.cookie });
      const c = performance.now();
      if (g.status !== 200) {
        failures[`GET / ${g.status}`] = (failures[`GET / ${g.status}`] ?? 0) + 1;
        continue;
      }
      post.push(b - a);
      startToRoutable.push(c - a);
    }
  }));
  process.send!({ type: 'done', startToRoutable, post, failures, wallMs: performance.now() - t0 } satisfies FromClient);
}

process.on('message', (m: ToClient) => {
  if (m.type === 'run') run(m).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
