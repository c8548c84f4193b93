import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  countGrowth, everyNth, median, quietOf, rssGrowth, soakVerdict, soakWindows, tcpKind, SOAK_TARGETS,
  type QuietSample, type SoakPhase, type SoakSample,
} from './soak-analysis.ts';

/** A sample at `t` with both processes at `rss` MB (the control plane at `cpRss` when given). */
function at(t: number, rss: number, phase: SoakPhase = 'measure', cpRss = rss): SoakSample {
  return {
    t, phase, instanceProcesses: 10, gameServers: { Ready: 5 }, sessions: 0, errors: 0,
    allocator: { rssMb: rss, fds: 40, tcp: 20 }, controlPlane: { rssMb: cpRss, fds: 60, tcp: 30 },
  };
}

const quiet = (fds: number, tcp: number, instances = 10): QuietSample => ({
  allocator: { rssMb: 100, fds, tcp }, controlPlane: { rssMb: 150, fds: fds + 20, tcp: tcp + 10 }, instanceProcesses: instances,
});

describe('bench soak: windows and verdicts', () => {
  it('puts the windows past the 5-minute history fill: minutes 6–7 and the last 10 % of a 30-minute run', () => {
    assert.deepEqual(soakWindows(1800), { warmupSec: 360, baseline: [360, 420], end: [1620, 1800] });
    // 3 minutes: the warm-up is a fifth (36 s), the baseline a tenth (18 s).
    assert.deepEqual(soakWindows(180), { warmupSec: 36, baseline: [36, 54], end: [162, 180] });
  });

  it('takes medians, so one spike does not decide', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  const w = soakWindows(180);
  const run = (base: number[], end: number[], extra: SoakSample[] = []): SoakSample[] => [
    ...extra,
    ...base.map((rss, i) => at(37 + i * 3, rss)),
    at(100, 500),
    ...end.map((rss, i) => at(164 + i * 4, rss)),
  ];

  it('judges RSS growth per process on the medians of the two windows', () => {
    const ok = rssGrowth(run([100, 101, 300, 99, 100], [108, 109, 110, 400, 105]), 'allocator', w);
    assert.equal(ok.baselineMb, 100);
    assert.equal(ok.endMb, 109);
    assert.ok(Math.abs(ok.growth - 0.09) < 1e-9);
    assert.deepEqual(ok.samples, { baseline: 5, end: 5 });
    assert.equal(ok.met, true);
    const grown = rssGrowth(run([100, 100, 100], [111, 112, 113]), 'allocator', w);
    assert.equal(grown.met, false, '12 % is over the 10 % target');
    assert.equal(rssGrowth(run([100], [112]), 'allocator', w, 0.15).met, true, 'the limit is a parameter');
  });

  it('ignores what was not measured (warm-up, pause) and fails a window with no sample', () => {
    const samples = run([100, 100], [100, 100], [at(5, 1000, 'warmup'), at(56, 1000, 'pause')]);
    assert.equal(rssGrowth(samples, 'allocator', w).baselineMb, 100);
    const empty = rssGrowth(run([100, 100], []), 'allocator', w);
    assert.ok(Number.isNaN(empty.growth));
    assert.equal(empty.met, false, 'no end sample: not met, not silently passed');
  });

  it('looks at each process on its own', () => {
    const samples = [...[38, 42, 46].map((t) => at(t, 100, 'measure', 200)), ...[166, 170].map((t) => at(t, 100, 'measure', 260))];
    const v = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20), quietEnd: quiet(40, 20), leftovers: [] });
    assert.equal(v.allocator.rss.met, true);
    assert.equal(v.controlPlane.rss.met, false);
    assert.ok(Math.abs(v.controlPlane.rss.growth - 0.3) < 1e-9);
    assert.equal(v.met, false);
  });

  it('allows descriptors and sockets to grow by the slack and no more', () => {
    assert.deepEqual(countGrowth(40, 48, 8), { start: 40, end: 48, growth: 8, slack: 8, met: true });
    assert.equal(countGrowth(40, 49, 8).met, false);
    assert.equal(countGrowth(40, 30, 0).met, true, 'fewer is fine');
    const samples = run([100, 100], [100, 100]);
    const leak = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20), quietEnd: quiet(40 + SOAK_TARGETS.fdSlack + 1, 20), leftovers: [] });
    assert.equal(leak.allocator.fds.met, false);
    assert.equal(leak.allocator.tcp.met, true);
    assert.equal(leak.met, false);
    const tcp = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20), quietEnd: quiet(40, 20 + SOAK_TARGETS.tcpSlack + 1), leftovers: [] });
    assert.equal(tcp.controlPlane.tcp.met, false);
    const fine = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20), quietEnd: quiet(42, 21), leftovers: [] });
    assert.equal(fine.met, true);
  });

  it('fails on an instance process more at rest, or anything of the bench left running', () => {
    const samples = run([100, 100], [100, 100]);
    const extra = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20, 10), quietEnd: quiet(40, 20, 11), leftovers: [] });
    assert.equal(extra.instances.met, false);
    assert.equal(extra.met, false);
    const left = soakVerdict({ samples, windows: w, quietStart: quiet(40, 20), quietEnd: quiet(40, 20), leftovers: ['4242: node sdfleet sim-webui'] });
    assert.deepEqual(left.leftovers, ['4242: node sdfleet sim-webui']);
    assert.equal(left.met, false);
  });

  it('takes the median of quiet samples field by field', () => {
    const q = quietOf([quiet(40, 20), quiet(90, 21), quiet(41, 50)]);
    assert.deepEqual(q.allocator, { rssMb: 100, fds: 41, tcp: 21 });
    assert.equal(q.controlPlane.fds, 61);
  });

  it('picks about one row per step for the table, and always the last', () => {
    const samples = [0, 2, 4, 9, 11, 19, 21, 23].map((t) => ({ t }));
    assert.deepEqual(everyNth(samples, 10).map((s) => s.t), [0, 11, 21, 23]);
    assert.deepEqual(everyNth([], 10), []);
  });

  it('tells TCP sockets apart by peer, with the state when not established', () => {
    const ports = { allocator: 8080, controlPlane: 6443, instances: [45000, 45999] as [number, number] };
    const sock = (localPort: number, remotePort: number, state = 'ESTABLISHED') => ({ localPort, remotePort, state });
    const none = new Set<number>();
    assert.equal(tcpKind(sock(8080, 0, 'LISTEN'), 8080, none, ports), 'listening');
    assert.equal(tcpKind(sock(8080, 51000), 8080, none, ports), 'inbound');
    assert.equal(tcpKind(sock(51001, 6443), 8080, none, ports), 'to the control plane');
    assert.equal(tcpKind(sock(51002, 45007, 'CLOSE_WAIT'), 8080, none, ports), 'to instances CLOSE_WAIT');
    assert.equal(tcpKind(sock(6443, 51003), 6443, none, ports), 'inbound');
    assert.equal(tcpKind(sock(40001, 51005), 6443, new Set([40001]), ports), 'inbound (other ports)', 'an SDK server of the control plane');
    assert.equal(tcpKind(sock(51004, 9999), 6443, none, ports), 'other');
  });
});
