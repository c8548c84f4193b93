import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
/** Values on, between, below and above the bounds. */
const SEEN = [0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 1, 3, 120];

/** The same observations through prom-client's own metrics and through the hot ones. */
function both(seen: readonly number[] = SEEN, type: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE): { theirs: Registry<RegistryContentType>; ours: Registry<RegistryContentType> } {
  const theirs = new Registry<RegistryContentType>();
  const ours = new Registry<RegistryContentType>();
  theirs.setContentType(type);
  ours.setContentType(type);
  const c = new Counter({ name: 'x_requests_total', help: 'h', labelNames: ['code'] as const, registers: [theirs] });
  const h = new Histogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registers: [theirs] });
  const hc = new HotCounter({ name: 'x_requests_total', help: 'h', label: 'code', values: ['2xx', '4xx', '5xx'], registry: ours });
  const hh = new HotHistogram({ name: 'x_seconds', help: 'h', buckets: BUCKETS, registry: ours });
  const plain = new Counter({ name: 'x_plain_total', help: 'h', registers: [theirs] });
  const hotPlain = new HotCounter({ name: 'x_plain_total', help: 'h', registry: ours });
  for (let i = 0; i < seen.length; i++) {
    plain.inc();
    hotPlain.add(0);
  }
  for (const v of seen) {
    h.observe(v);
    hh.observe(v);
  }
  c.inc({ code: '2xx' }, 3);
  c.inc({ code: '5xx' });
  hc.add(hc.index('2xx'), 3);
  hc.add(hc.index('5xx'));
  return { theirs, ours };
}

describe('hot metrics', () => {
  it("expose exactly what prom-client's own counter and histogram expose for the same observations", async () => {
    const fresh = both([]);
    assert.equal(await fresh.ours.metrics(), await fresh.theirs.metrics(), 'before any observation');
    const { theirs, ours } = both();
    assert.equal(await ours.metrics(), await theirs.metrics());
    const open = both(SEEN, Registry.OPENMETRICS_CONTENT_TYPE);
    assert.equal(await open.ours.metrics(), await open.theirs.metrics(), 'OpenMetrics');
  });

  it('read as JSON and reset like prom-client metrics', async () => {
    const { theirs, ours } = both();
    // As sent (prom-client leaves `exemplar: undefined` on a histogram's sum and count).
    const json = async (r: Registry<RegistryContentType>): Promise<unknown> => JSON.parse(JSON.stringify(await r.getMetricsAsJSON()));
    assert.deepEqual(await json(ours), await json(theirs));
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  it('refuse a label value not declared, and a second metric of the same name', () => {
    const r = new Registry();
    const c = new HotCounter({ name: 'y_total', help: 'h', label: 'code', values: ['2xx'], registry: r });
    assert.throws(() => c.index('9xx'), /code="9xx" is not one of 2xx/);
    assert.throws(() => new HotHistogram({ name: 'y_total', help: 'h', buckets: [1], registry: r }), /already been registered/);
  });
});
