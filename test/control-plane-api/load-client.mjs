// Load generator for perf-baseline.ts, plain JavaScript in its own process so that it
// neither shares the server's event loop nor pays for a TypeScript loader.
//   node load-client.mjs <baseUrl> <get|patch|allocate> <requests> <rate/s, 0 = closed loop> <connections>
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const [base, mode, nText, rateText, concText] = process.argv.slice(2);
const n = Number(nText);
const rate = Number(rateText);
const concurrency = Number(concText ?? 50);
const url = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const P = '/apis/agones.dev/v1/namespaces/default/gameservers';
const gsa = JSON.stringify({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'webui' } }] } });

function make(i) {
  if (mode === 'get') return ['GET', `${P}/gs-${i % 5000}`];
  if (mode === 'patch') return ['PATCH', `${P}/gs-${i % 5000}`, JSON.stringify({ metadata: { labels: { 'sdfleet.dev/user': `u${i}` } } }), 'application/merge-patch+json'];
  return ['POST', '/apis/allocation.agones.dev/v1/namespaces/default/gameserverallocations', gsa, 'application/json'];
}

function send(i) {
  return new Promise((resolve, reject) => {
    const [method, path, body, type] = make(i);
    const req = http.request({ host: url.hostname, port: url.port, method, path, agent, headers: body ? { 'content-type': type } : {} }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`${method} ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const lat = [];
let inFlight = 0;
const t0 = performance.now();
if (rate > 0) {
  // Open loop: request i is due at t0 + i/rate; its latency counts from when it was due.
  const waiters = [];
  const all = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    while (inFlight >= concurrency) await new Promise((r) => waiters.push(r));
    inFlight++;
    all.push(send(i).then(() => {
      lat.push(performance.now() - due);
      inFlight--;
      waiters.shift()?.();
    }));
  }
  await Promise.all(all);
} else {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const s0 = performance.now();
      await send(i);
      lat.push(performance.now() - s0);
    }
  }));
}
const secs = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const q = (x) => lat[Math.min(lat.length - 1, Math.floor(lat.length * x))].toFixed(2);
const label = `${mode}${rate > 0 ? ` open loop at ${rate}/s` : ' closed loop'}`;
process.stdout.write(`  ${label.padEnd(40)} ${(n / secs).toFixed(0).padStart(7)} req/s  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  max ${lat[lat.length - 1].toFixed(1)} ms\n`);
agent.destroy();
