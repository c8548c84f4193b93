import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from './errors.ts';
import { COMMON_FIELDS, labelSelectorFromObject, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { KubeObject } from './types.ts';

const labels = { app: 'sd', tier: 'gpu', 'agones.dev/fleet': 'webui' };

describe('label selectors', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=sd', true],
    ['app==sd', true],
    ['app!=sd', false],
    ['app=other', false],
    ['app in (sd, x)', true],
    ['app in (x,y)', false],
    ['app notin (x)', true],
    ['app notin (sd)', false],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=sd,tier=gpu', true],
    ['app=sd,tier=cpu', false],
    ['agones.dev/fleet=webui', true],
    ['missing!=x', true],
    ['missing notin (x)', true],
    ['app=', false],
  ];
  for (const [sel, want] of cases) {
    it(`"${sel}" → ${want}`, () => {
      assert.equal(parseLabelSelector(sel).matches(labels), want);
    });
  }

  it('rejects malformed selectors with a 400 that says what was found', () => {
    for (const bad of ['app in sd', 'app in ()', '=x', 'a b', 'bad key!=x', 'app=bad value!', 'app,,', 'a (b)']) {
      assert.throws(
        () => parseLabelSelector(bad),
        (err: unknown) => isApiError(err, 'BadRequest') && err.code === 400 && err.message.length > 10,
        bad,
      );
    }
  });

  it('matchLabels/matchExpressions objects convert to the same matcher', () => {
    const s = labelSelectorFromObject({ matchLabels: { app: 'sd' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['gpu'] }, { key: 'x', operator: 'DoesNotExist' }] });
    assert.equal(s.matches(labels), true);
    assert.equal(s.matches({ app: 'sd' }), false);
    assert.throws(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), /not a valid label selector operator/);
  });
});

describe('field selectors', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' }, involvedObject: { name: 'gs-1' } };
  const fields = { ...COMMON_FIELDS, 'involvedObject.name': (o: KubeObject) => (o.involvedObject as { name?: string }).name };

  it('=, ==, != over the supported fields', () => {
    assert.equal(parseFieldSelector('metadata.name=e1', fields).matches(obj), true);
    assert.equal(parseFieldSelector('metadata.name==e1,metadata.namespace=default', fields).matches(obj), true);
    assert.equal(parseFieldSelector('metadata.name!=e1', fields).matches(obj), false);
    assert.equal(parseFieldSelector('involvedObject.name=gs-1', fields).matches(obj), true);
    assert.equal(parseFieldSelector('involvedObject.name=gs-2', fields).matches(obj), false);
  });

  it('an unknown field is a 400 naming it', () => {
    assert.throws(() => parseFieldSelector('spec.foo=x', COMMON_FIELDS, 'fleets'), (err: unknown) => isApiError(err, 'BadRequest') && /"spec.foo" is not a known field selector/.test(err.message));
    assert.throws(() => parseFieldSelector('garbage', COMMON_FIELDS), (err: unknown) => isApiError(err, 'BadRequest'));
  });
});
