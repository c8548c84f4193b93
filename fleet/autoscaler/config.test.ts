import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, parseKeyValues, parsePolicyConfig, policyForFleet, POLICY_DEFAULTS } from './config.ts';

describe('policy settings', () => {
  it('defaults, and a checked parse that names the field', () => {
    assert.deepEqual(parsePolicyConfig({}), POLICY_DEFAULTS);
    assert.equal(parsePolicyConfig({ maxWarm: 3 }).maxWarm, 3);
    assert.throws(() => parsePolicyConfig({ maxWarm: -1 }), /autoscaler policy: maxWarm:/);
    assert.throws(() => parsePolicyConfig({ warmTarget: 1 }), /warmTarget/);
    assert.throws(() => parsePolicyConfig({ nope: 1 }), /autoscaler policy: .*nope/);
    assert.throws(() => parsePolicyConfig({ minReplicas: 5, maxReplicas: 2 }), /minReplicas \(5\) is above maxReplicas \(2\)/);
  });

  it('the ConfigMap text: shared settings, per-fleet overrides, and a broken text left out with the reason', () => {
    const text = 'maxReplicas: 20\nschedule:\n  - days: Mon-Fri\n    from: "08:00"\n    to: "18:00"\n    minReplicas: 4\nfleets:\n  sd-webui:\n    maxWarm: 2\n';
    const a = policyForFleet(text, 'sd-webui', POLICY_DEFAULTS);
    assert.equal(a.problem, undefined);
    assert.equal(a.config.maxReplicas, 20);
    assert.equal(a.config.maxWarm, 2);
    assert.equal(a.config.schedule.length, 1);
    assert.equal(policyForFleet(text, 'other', POLICY_DEFAULTS).config.maxWarm, POLICY_DEFAULTS.maxWarm);
    const bad = policyForFleet('maxReplicas: many', 'sd-webui', POLICY_DEFAULTS);
    assert.deepEqual(bad.config, POLICY_DEFAULTS);
    assert.match(bad.problem!, /maxReplicas.*ignored until fixed/);
    assert.deepEqual(policyForFleet(undefined, 'x', POLICY_DEFAULTS).config, POLICY_DEFAULTS);
  });

  it('compiles the zone and the rules; refuses bad ones', () => {
    const c = compilePolicy(parsePolicyConfig({ timeZone: 'Europe/Berlin', schedule: [{ days: 'Mon', from: '08:00', to: '09:00', minWarm: 1 }] }));
    assert.equal(c.clock.timeZone, 'Europe/Berlin');
    assert.equal(c.rules.length, 1);
    assert.throws(() => compilePolicy(parsePolicyConfig({ timeZone: 'Nowhere/Town' })), /not an IANA time zone/);
  });

  it('key=value lists for the simulator', () => {
    assert.deepEqual(parseKeyValues('coldStartCost=4, scaleToZero=false,rateWindowsMinutes=60/15,timeZone=UTC'), { coldStartCost: 4, scaleToZero: false, rateWindowsMinutes: [60, 15], timeZone: 'UTC' });
    assert.throws(() => parseKeyValues('oops'), /expected key=value/);
  });
});
