import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedRate, generateTrace, parseGeneratorSpec, SHAPES } from './generate.ts';
import { parseTraceCsv, traceToCsv } from './trace.ts';

describe('trace generator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    assert.deepEqual(generateTrace({ shape: 'office', seed: 4 }), generateTrace({ shape: 'office', seed: 4 }));
    assert.notDeepEqual(generateTrace({ shape: 'office', seed: 4 }).sessions, generateTrace({ shape: 'office', seed: 5 }).sessions);
  });

  it('office: about 320 a weekday, most in office hours, sessions around half an hour, weekends quiet', () => {
    const t = generateTrace({ shape: 'office', seed: 9, days: 7 });
    const perDay = Array.from({ length: 7 }, (_, d) => t.sessions.filter((s) => s.arrival >= d * 86_400 && s.arrival < (d + 1) * 86_400));
    for (const d of perDay.slice(0, 5)) assert.ok(d.length > 270 && d.length < 370, `weekday: ${d.length}`);
    for (const d of perDay.slice(5)) assert.ok(d.length < 60, `weekend: ${d.length}`);
    const office = perDay[0]!.filter((s) => s.arrival >= 8.5 * 3600 && s.arrival < 18.5 * 3600).length;
    assert.ok(office / perDay[0]!.length > 0.95);
    const mean = t.sessions.reduce((a, s) => a + s.duration, 0) / t.sessions.length / 60;
    assert.ok(mean > 22 && mean < 40, `mean session ${mean} min`);
    for (let i = 1; i < t.sessions.length; i++) assert.ok(t.sessions[i]!.arrival >= t.sessions[i - 1]!.arrival);
  });

  it('expected rate: the rate the arrivals are drawn from, and its day sums to what the draws average', () => {
    const office = expectedRate({ shape: 'office' });
    assert.equal(office(10 * 3600), 36); // Monday 10:00
    assert.equal(office(5 * 86_400 + 10 * 3600), 3.6); // Saturday: a tenth
    assert.equal(office(3 * 3600), 0.35);
    assert.equal(expectedRate({ shape: 'office', scale: 2 })(10 * 3600), 72);
    let day = 0;
    for (let s = 30; s < 86_400; s += 60) day += office(s) / 60;
    const drawn = Array.from({ length: 40 }, (_, i) => generateTrace({ shape: 'office', seed: 500 + i }).sessions.length);
    const mean = drawn.reduce((a, b) => a + b, 0) / drawn.length;
    assert.ok(Math.abs(mean - day) < 3 * Math.sqrt(day / drawn.length) + 1, `drawn ${mean} a day, expected ${day}`);
    // The zones' offices add up, each on its own clock: Monday 04:31 UTC is 05:31 in the
    // UTC+1 office (night), 10:01 in the UTC+5:30 one (peak), Sunday 23:31 in the UTC−5 one.
    const zones = expectedRate({ shape: 'zones' });
    assert.ok(Math.abs(zones(4.5 * 3600 + 60) - (0.4 * 0.35 + 0.3 * 36 + 0.4 * 0.35 * 0.1)) < 1e-9, String(zones(4.5 * 3600 + 60)));
  });

  it('burst: 60 within 3 minutes at 10:00', () => {
    const t = generateTrace({ shape: 'burst' });
    assert.equal(t.sessions.length, 60);
    assert.ok(t.sessions.every((s) => s.arrival >= 36_000 && s.arrival < 36_180));
  });

  it('every shape draws something, and a trace survives CSV', () => {
    for (const shape of SHAPES) {
      const t = generateTrace({ shape, seed: 2 });
      assert.ok(t.sessions.length > 20, `${shape}: ${t.sessions.length}`);
      const back = parseTraceCsv(traceToCsv(t));
      assert.equal(back.sessions.length, t.sessions.length);
    }
  });

  it('specs, and what is wrong with a bad one', () => {
    assert.deepEqual(parseGeneratorSpec('gen:burst,background=0.2,seed=3'), { shape: 'burst', background: 0.2, seed: 3 });
    assert.throws(() => parseGeneratorSpec('gen:party'), /unknown shape "party"; shapes are office, burst/);
    assert.throws(() => parseGeneratorSpec('gen:office,sead=3'), /"sead=3" is not one of seed=/);
    assert.throws(() => parseGeneratorSpec('gen:office,days=0'), /days takes a whole number/);
  });

  it('CSV: header, order and bad lines', () => {
    assert.throws(() => parseTraceCsv('a,b,c\n'), /line 1 must be the header/);
    assert.throws(() => parseTraceCsv('arrival_s,session_s,user\n1,0,u\n'), /line 2: expected arrival_s ≥ 0, session_s > 0/);
    const t = parseTraceCsv('arrival_s,session_s,user\n5,10,b\n1,10,a\n');
    assert.deepEqual(t.sessions.map((s) => s.user), ['a', 'b']);
  });
});
