import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoscalerReport, parseColdStart, runAutoscalerBench } from './bench.ts';

describe('bench autoscaler', () => {
  it('cold starts: fixed, a range, a log-normal; a bad one says what to give', () => {
    assert.equal(parseColdStart('180', 1)(), 180);
    const u = parseColdStart('120-240', 1);
    for (let i = 0; i < 100; i++) {
      const v = u();
      assert.ok(v >= 120 && v <= 240);
    }
    const ln = parseColdStart('lognormal:180:0.3', 1);
    const xs = Array.from({ length: 2000 }, () => ln()).sort((a, b) => a - b);
    assert.ok(Math.abs(xs[1000]! - 180) < 15, `median ${xs[1000]}`);
    assert.throws(() => parseColdStart('soon', 1), /give seconds \(180\), a range \(120-240\) or lognormal/);
  });

  it('compares the policies on a trace, finds the Buffer to beat and says whether the goal is met', async () => {
    const r = await runAutoscalerBench({ traces: ['gen:office,seed=2'], coldStart: '180', syncSeconds: 30, policies: ['buffer:4', 'sdfleet'] });
    const run = r.runs[0]!;
    assert.deepEqual(run.policies.map((p) => p.name), ['buffer:4', 'sdfleet']);
    assert.ok(run.cheapestBuffer && /^buffer:\d+$/.test(run.cheapestBuffer.name));
    assert.ok(run.cheapestBuffer.warmPct >= 99);
    for (const p of run.policies) assert.equal(p.served + p.unserved, p.sessions);
    const text = autoscalerReport(r);
    assert.match(text, /\| sdfleet \| \d+ \| 0 \| \d+\.\d \|/);
    assert.match(text, /sdfleet's [\d.]+ idle GPU-h: [\d.]+ starting and [\d.]+ Ready for the instances users took, [\d.]+ on ones scaled away unused \([\d.]+ of it Ready\), [\d.]+ still warm at the end; [\d.]+ of it outside 08:00–19:00; \d+ session ends not refilled \(release-time shrink\); \d+ arrivals grew the Fleet at once \(grow on arrival\)\./);
    const sd = run.policies.find((p) => p.name === 'sdfleet')!;
    assert.ok(sd.releaseShrinks > 0, 'release-time shrink is on by default');
    assert.ok(sd.arrivalGrows > 0, 'grow on arrival is on by default');
    assert.ok(Math.abs(Object.values(sd.idleBy).reduce((a, x) => a + x, 0) - sd.idleGpuHours) < 1e-6);
    assert.match(text, /sdfleet: [\d.]+ % warm at [\d.]+× the idle GPU-hours of buffer:\d+ .*goal ≥ 99 % at ≤ 0\.5×: (met|not met)\./);
  });

  it('a perfect history (rate:SHAPE): the profile of the expected rate of the shape, read like a learned one; it stands alone', async () => {
    const r = await runAutoscalerBench({ traces: ['gen:office,seed=2'], coldStart: '180', syncSeconds: 30, policies: ['sdfleet'], history: ['rate:office'] });
    assert.match(autoscalerReport(r), /day profile is the expected rate of office \(a perfect history\)/);
    const none = await runAutoscalerBench({ traces: ['gen:office,seed=2'], coldStart: '180', syncSeconds: 30, policies: ['sdfleet'] });
    assert.notDeepEqual(r.runs[0]!.policies[0]!.idleGpuHours, none.runs[0]!.policies[0]!.idleGpuHours, 'the profile changes the decisions');
    await assert.rejects(runAutoscalerBench({ traces: ['gen:flat'], coldStart: '180', syncSeconds: 30, policies: ['sdfleet'], history: ['rate:office', 'gen:office'] }), /a rate stands alone/);
    await assert.rejects(runAutoscalerBench({ traces: ['gen:flat'], coldStart: '180', syncSeconds: 30, policies: ['sdfleet'], history: ['rate:party'] }), /^Error: --history rate:party: unknown shape "party"; shapes are office/);
  });

  it('refuses an unknown policy before running anything', async () => {
    await assert.rejects(runAutoscalerBench({ traces: ['gen:flat'], coldStart: '180', syncSeconds: 30, policies: ['hpa'] }), /policy "hpa": expected buffer:N or sdfleet/);
    await assert.rejects(runAutoscalerBench({ traces: ['/nonexistent.csv'], coldStart: '180', syncSeconds: 30, policies: ['buffer:1'] }), /trace \/nonexistent.csv: .*give a CSV file/);
  });
});
