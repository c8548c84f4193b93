import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nginxConfig } from './proxy-targets.ts';
import { hasCommand, parseWrk } from './proxy-tools.ts';
import { goals, type HttpCase } from './proxy.ts';

const WRK = `Running 5s test @ http://127.0.0.1:9101/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   690.55us  325.10us  12.75ms   93.12%
    Req/Sec    72.82k     2.18k   75.40k    84.00%
  Latency Distribution
     50%  593.00us
     75%  700.00us
     90%    1.02ms
     99%    1.92ms
  362297 requests in 5.00s, 792.09MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  72442.00
Transfer/sec:    158.36MB
`;

describe('bench proxy: wrk output and goals', () => {
  it('reads rate, percentiles in mixed units, and errors', () => {
    assert.deepEqual(parseWrk(WRK), { requests: 362297, rps: 72442, p50Us: 593, p99Us: 1920, errors: 3, non2xx: 7 });
    assert.equal(parseWrk(WRK.replace('1.92ms', '1.50s')).p99Us, 1_500_000);
    assert.ok(Number.isNaN(parseWrk('garbage').rps));
  });

  it('judges the issue\'s targets from the cases', () => {
    const c = (target: HttpCase['target'], connections: number, rps: number, p50Us: number, round = 0): HttpCase =>
      ({ target, connections, round, rps, p50Us, p99Us: 0, requests: 0, errors: 0, non2xx: 0, upstreamConnections: 0 });
    const g = goals([c('direct', 50, 40_000, 0), c('sdfleet', 50, 21_000, 0), c('configurable-http-proxy', 50, 5000, 0), c('direct', 1, 0, 20), c('sdfleet', 1, 0, 200)]);
    assert.deepEqual(g.map((x) => [x.met, x.value]), [[true, '0.53×'], [false, '4.20×'], [false, '180 µs']]);
    // Within rounds, then the median: a slow round of the baseline does not flatter the proxy.
    const rounds = [
      c('direct', 1, 0, 20, 0), c('sdfleet', 1, 0, 90, 0),
      c('direct', 1, 0, 70, 1), c('sdfleet', 1, 0, 150, 1),
      c('direct', 1, 0, 20, 2), c('sdfleet', 1, 0, 100, 2),
    ];
    assert.equal(goals(rounds)[0]!.value, '80 µs');
  });

  it('writes an nginx config that nginx accepts', { skip: hasCommand('nginx') ? false : 'nginx is not installed (the bench installs it)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdfleet-nginx-test-'));
    try {
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, 1, 2));
      const r = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
