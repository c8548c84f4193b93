import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, parseDays, parseTimeOfDay } from './clock.ts';
import { compileRules, ruleActiveAt, scheduleFloor } from './schedule.ts';

const H = 3_600_000;
const MIN = 60_000;
/** Monday 2024-01-08 00:00 UTC. */
const MONDAY = Date.UTC(2024, 0, 8);

describe('clock', () => {
  it('weekday and minute in UTC and in a zone with daylight saving', () => {
    const utc = new Clock('UTC');
    assert.deepEqual({ ...utc.local(MONDAY + 9.5 * H), localDay: 0 }, { weekday: 1, minute: 570, localDay: 0 });
    const berlin = new Clock('Europe/Berlin');
    assert.equal(berlin.local(Date.UTC(2024, 0, 8, 8, 0)).minute, 540, 'winter: UTC+1');
    assert.equal(berlin.local(Date.UTC(2024, 6, 8, 8, 0)).minute, 600, 'summer: UTC+2');
    assert.equal(berlin.local(Date.UTC(2024, 0, 7, 23, 30)).weekday, 1, 'Sunday 23:30 UTC is Monday in Berlin');
    assert.equal(new Clock('Asia/Kolkata').local(MONDAY).minute, 330);
  });

  it('refuses an unknown zone, naming it', () => {
    assert.throws(() => new Clock('Mars/Olympus'), /time zone "Mars\/Olympus" is not an IANA time zone/);
  });

  it('parses days and times', () => {
    assert.deepEqual([...parseDays('Mon-Fri')].sort(), [1, 2, 3, 4, 5]);
    assert.deepEqual([...parseDays('Fri-Mon')].sort(), [0, 1, 5, 6]);
    assert.deepEqual([...parseDays('sat, Sunday')].sort(), [0, 6]);
    assert.equal(parseDays('*').size, 7);
    assert.throws(() => parseDays('Mon-Funday'), /days "Mon-Funday": expected day names/);
    assert.equal(parseTimeOfDay('08:30'), 510);
    assert.equal(parseTimeOfDay('24:00'), 1440);
    assert.throws(() => parseTimeOfDay('8h30'), /expected HH:MM/);
    assert.throws(() => parseTimeOfDay('25:00'), /expected HH:MM/);
  });
});

describe('schedule rules', () => {
  const clock = new Clock('UTC');
  it('a window on weekdays, and one through midnight', () => {
    const [day, night] = compileRules([
      { days: 'Mon-Fri', from: '08:00', to: '18:00', minReplicas: 4 },
      { days: 'Fri', from: '22:00', to: '06:00', minWarm: 1 },
    ], clock);
    assert.equal(ruleActiveAt(day!, MONDAY + 8 * H), true);
    assert.equal(ruleActiveAt(day!, MONDAY + 18 * H), false, 'the end is open');
    assert.equal(ruleActiveAt(day!, MONDAY + 5 * 24 * H + 9 * H), false, 'Saturday');
    const friday = MONDAY + 4 * 24 * H;
    assert.equal(ruleActiveAt(night!, friday + 23 * H), true);
    assert.equal(ruleActiveAt(night!, friday + 24 * H + 5 * H), true, 'Saturday 05:00 belongs to Friday night');
    assert.equal(ruleActiveAt(night!, friday + 5 * H), false, 'Friday 05:00 belongs to Thursday night');
  });

  it('floors apply a lead ahead; caps only while open', () => {
    const rules = compileRules([
      { name: 'class', days: 'Mon', from: '10:00', to: '10:15', minReplicas: 60 },
      { name: 'nights', days: '*', from: '20:00', to: '07:00', maxWarm: 0 },
    ], clock);
    assert.deepEqual(scheduleFloor(rules, MONDAY + 10 * H - 4 * MIN, 195_000), { minReplicas: 0, minWarm: 0, maxWarm: Infinity, rules: [] });
    assert.deepEqual(scheduleFloor(rules, MONDAY + 10 * H - 3 * MIN, 195_000), { minReplicas: 60, minWarm: 0, maxWarm: Infinity, rules: ['class'] });
    assert.equal(scheduleFloor(rules, MONDAY + 20 * H - MIN, 195_000).maxWarm, Infinity, 'not shed ahead of time');
    assert.deepEqual(scheduleFloor(rules, MONDAY + 21 * H, 195_000), { minReplicas: 0, minWarm: 0, maxWarm: 0, rules: ['nights'] });
  });

  it('a rule in its own zone', () => {
    const [r] = compileRules([{ days: 'Mon-Fri', from: '09:00', to: '17:00', minReplicas: 2, timeZone: 'America/New_York' }], clock);
    assert.equal(ruleActiveAt(r!, MONDAY + 13 * H), false, '08:00 in New York');
    assert.equal(ruleActiveAt(r!, MONDAY + 15 * H), true, '10:00 in New York');
  });

  it('refuses rules that ask for nothing or are malformed, saying which', () => {
    assert.throws(() => compileRules([{ days: 'Mon', from: '08:00', to: '09:00' }], clock), /schedule\[0\]: a rule needs minReplicas, minWarm or maxWarm/);
    assert.throws(() => compileRules([{ name: 'x', days: 'Mon', from: '8', to: '09:00', minWarm: 1 }], clock), /schedule\[0\] \(x\): time "8"/);
    assert.throws(() => compileRules([{ days: 'Mon', from: '08:00', to: '09:00', minWarm: 3, maxWarm: 1 }], clock), /minWarm \(3\) is above maxWarm \(1\)/);
  });
});
