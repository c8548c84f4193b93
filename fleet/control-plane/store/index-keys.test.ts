import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyJoiner } from './index-keys.ts';

test('KeyJoiner: the joined text, the same array for the same parts, different for others', () => {
  const j = new KeyJoiner('/');
  const a = j.one('default', 'Ready');
  assert.deepEqual(a, ['default/Ready']);
  assert.equal(j.one('default', 'Ready'), a, 'the same array the second time');
  assert.ok(Object.isFrozen(a));
  assert.notEqual(j.one('default', 'Allocated'), a);
  assert.deepEqual(j.one('team', 'Ready'), ['team/Ready']);
  assert.equal(j.text('default', 'Ready'), 'default/Ready');
  // The parts are not confused by where the separator falls.
  assert.deepEqual(j.one('a/b', 'c'), ['a/b/c']);
  assert.deepEqual(j.one('a', 'b/c'), ['a/b/c']);
  assert.notEqual(j.one('a/b', 'c'), j.one('a', 'b/c'));
  assert.deepEqual(new KeyJoiner('\0').one('x', 'é'), ['x\0é']);
});

test('KeyJoiner: bounded; past the bound it starts again and answers stay right', () => {
  const j = new KeyJoiner(':', 10);
  const first = j.one('k', '0');
  for (let i = 0; i < 100; i++) assert.deepEqual(j.one(`k${i % 3}`, String(i)), [`k${i % 3}:${i}`]);
  const again = j.one('k', '0');
  assert.deepEqual(again, ['k:0']);
  assert.notEqual(again, first, 'forgotten after the memory started again');
  assert.equal(j.one('k', '0'), again);
});
