import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { broadcastTimes, clockOffset, ephemeralPorts, fanoutSummary, openFilesLimit, socketLimitProblem, splitRange } from './fanout-stats.ts';
import { fanoutReport, type FanoutBenchResult, type FanoutRun } from './fanout.ts';
import { summarize } from './stats.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('bench fanout: clocks, limits, ranges', () => {
  it('takes the offset from the ping with the shortest round trip', () => {
    const r = clockOffset([
      { sentAt: 100, remoteAt: 160, receivedAt: 110 }, // rtt 10
      { sentAt: 200, remoteAt: 251, receivedAt: 202 }, // rtt 2: offset 251 − 201 = 50
      { sentAt: 300, remoteAt: 390, receivedAt: 306 },
    ]);
    assert.deepEqual(r, { offsetMs: 50, rttMs: 2 });
    assert.throws(() => clockOffset([]), /at least one ping/);
  });

  it('reads the soft open-files limit and the ephemeral port range', () => {
    assert.equal(openFilesLimit(LIMITS), 20000);
    assert.equal(openFilesLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited')), undefined);
    assert.equal(openFilesLimit(''), undefined);
    assert.equal(ephemeralPorts('32768\t60999\n'), 28232);
    assert.equal(ephemeralPorts('garbage'), undefined);
  });

  it('says what to do when descriptors or ports are too few, and nothing otherwise', () => {
    assert.equal(socketLimitProblem({ clients: 10_000, openFiles: 20_000, ports: 28_232 }), undefined);
    assert.equal(socketLimitProblem({ clients: 10_000, openFiles: undefined, ports: undefined }), undefined);
    assert.match(socketLimitProblem({ clients: 10_000, openFiles: 1024, ports: 28_232 })!, /ulimit -n 10512.*--clients 512 or fewer/);
    assert.match(socketLimitProblem({ clients: 10_000, openFiles: 65_536, ports: 5000 })!, /ip_local_port_range.*--clients 4000 or fewer/);
  });

  it('splits clients over processes, never into empty parts', () => {
    assert.deepEqual(splitRange(10, 2), [[0, 5], [5, 10]]);
    assert.deepEqual(splitRange(5, 2), [[0, 3], [3, 5]]);
    assert.deepEqual(splitRange(1, 2), [[0, 1]]);
  });
});

describe('bench fanout: latencies and report', () => {
  it('moves each process\'s arrivals into the bench clock and counts what went missing', () => {
    // Process 0 runs 1000 ms ahead, process 1 50 ms behind.
    const s = fanoutSummary([
      { changedAt: 10_000, arrivals: [[11_010, 11_030], [9_970, null]] },
      { changedAt: 20_000, arrivals: [[21_005, null], [19_960, 19_990]] },
    ], [1000, -50]);
    assert.equal(s.delivery.n, 6);
    assert.equal(s.expected, 8);
    assert.equal(s.missedDeliveries, 2);
    assert.equal(s.clientsMissing, 2);
    assert.deepEqual(summarizeBack(s.first), [5, 10]);
    assert.deepEqual(summarizeBack(s.last), [30, 40]);
    assert.equal(s.delivery.max, 40);
    assert.equal(s.delivery.min, 5);
    assert.throws(() => fanoutSummary([{ changedAt: 0, arrivals: [[1], [2]] }], [0]), /no clock offset for client process 1/);
  });

  it('reports the targets as met or not, with the ratio to the bare server', () => {
    const run = (p99: number, missed: number): FanoutRun => ({
      fanout: { delivery: summarize([10, 20, p99]), first: summarize([10]), last: summarize([p99]), expected: 30, missedDeliveries: missed, clientsMissing: missed },
      connected: 10, rssMb: 600, heapMb: 200, extraEvents: 0, stateEvents: 0,
    });
    const r: FanoutBenchResult = {
      clients: 10, updates: 3, clientProcesses: 2, client: 'lean',
      setup: { readySeconds: 1, sessionsSeconds: 2, sessionsStarted: 10, sessionFailures: {}, connectSeconds: 0.5, connectFailures: {} },
      allocatorRssSessionsMb: 500, sdfleet: run(150, 0), toInformer: summarize([3]), queuedState: { latency: summarize([4, 6, 9]), missed: 0 }, allocatorLoopDelay: { p50: 10, p99: 20, max: 30 },
      broadcast: { start: summarize([2, 4, 30]), writes: summarize([120, 130, 140]) },
      bare: run(50, 0), bareBroadcast: { start: summarize([1, 1, 1]), writes: summarize([100, 110, 150]) }, clocks: [{ offsetMs: 0.1, rttMs: 0.2 }], payloadBytes: 300, controlPlaneRssMb: 400, seconds: 20,
    };
    const text = fanoutReport(r);
    assert.match(text, /allocator RSS ≤ 1024 MB: met \(600 MB\)/);
    assert.match(text, /fan-out p99 ≤ 200 ms with none missed: met \(150\.0 ms, 0 missed\)/);
    assert.match(text, /\| sdfleet: change → the waiting user's own `state` \(3 of 3\) \| 6\.0 \|/);
    assert.match(text, /0 `state` events to the clients \(all holding a session\)/);
    assert.match(text, /\| sdfleet: change → the allocator starts writing `fleet` \(3 of 3\) \| 4\.0 \|/);
    assert.match(text, /\| sdfleet: the allocator writing `fleet` to every socket \| 130\.0 \|/);
    assert.match(text, /\| bare socket\.io: writing `fleet` to every socket \| 110\.0 \|/);
    assert.match(text, /2 client processes holding lean protocol clients/);
    assert.match(fanoutReport({ ...r, client: 'socket.io' }), /2 client processes holding socket\.io-client sockets/);
    assert.match(text, /\| ratio sdfleet \/ bare, change → each client \| 1\.0× \| 3\.0× \| 3\.0× \| 3\.0× \|/);
    assert.match(fanoutReport({ ...r, sdfleet: run(150, 1) }), /NOT met \(150\.0 ms, 1 missed\)/);
    assert.match(fanoutReport({ ...r, sdfleet: run(250, 0) }), /NOT met \(250\.0 ms/);
    const { bare: _bare, ...alone } = r;
    assert.doesNotMatch(fanoutReport(alone), /ratio/);
  });
});

describe('broadcastTimes', () => {
  it('takes, per update, the first broadcast after its change and before the next, in the bench\'s clock', () => {
    // Server clock = bench clock + 1000.
    const updates = [{ changedAt: 0 }, { changedAt: 1000 }, { changedAt: 2000 }];
    const broadcasts = [
      { start: 1005, end: 1125 }, // update 0: 5 ms after its change, 120 ms of writes
      { start: 1900, end: 1910 }, // a second one before update 1: not the first, ignored
      { start: 2010, end: 2140 }, // update 1
      // update 2: none (its broadcast was coalesced away): left out, not counted as 0
    ];
    const t = broadcastTimes(updates, broadcasts, 1000);
    assert.deepEqual(summarizeBack(t.start), [5, 10]);
    assert.equal(t.start.n, 2);
    assert.deepEqual(summarizeBack(t.writes), [120, 130]);
  });
});

function summarizeBack(s: { min: number; max: number }): [number, number] {
  return [s.min, s.max];
}
