import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from './names.ts';

test('qualified names: the Kubernetes rules, the same answer the second time (valid keys are remembered)', () => {
  const cases: [string, number][] = [
    ['agones.dev/fleet', 0],
    ['app', 0],
    ['sdfleet.dev/user', 0],
    ['Example.com/x', 1], // prefix must be lower case
    ['/x', 1],
    ['a/', 1],
    ['a/b/c', 1],
    ['-bad', 1],
    ['x'.repeat(64), 1],
    ['', 1],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [key, errors] of cases) assert.equal(qualifiedNameErrors(key).length, errors, `${round}: ${JSON.stringify(key)}`);
  }
  assert.match(qualifiedNameErrors('a/b/c')[0]!, /qualified name/);
  assert.deepEqual(qualifiedNameErrors('Example.com/x'), ['prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character']);
});

test('qualified names: a full memory of valid keys is cleared, answers stay right', () => {
  for (let i = 0; i < 10_000; i++) assert.deepEqual(qualifiedNameErrors(`k${i}.example.com/v`), []);
  assert.deepEqual(qualifiedNameErrors('k1.example.com/v'), []);
  assert.equal(qualifiedNameErrors('k1.example.com/-v').length, 1);
  // An answer is a fresh array: a caller that adds to it changes nothing remembered.
  const a = qualifiedNameErrors('app');
  a.push('x');
  assert.deepEqual(qualifiedNameErrors('app'), []);
});

test('label values and subdomains', () => {
  assert.deepEqual(labelValueErrors(''), []);
  assert.equal(labelValueErrors('a b').length, 1);
  assert.equal(labelValueErrors('x'.repeat(64)).length, 1);
  assert.deepEqual(dns1123SubdomainErrors('a.b-c'), []);
  assert.equal(dns1123SubdomainErrors('A').length, 1);
});
