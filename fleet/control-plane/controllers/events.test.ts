import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../common/log.ts';
import { RESOURCES } from '../resources/registry.ts';
import { openStore } from '../store/open-store.ts';
import { EventRecorder } from './events.ts';

describe('EventRecorder', () => {
  it('keeps at most `limit` events a namespace, the newest, listing them once per tenth of the limit', () => {
    const store = openStore({ logger: silentLogger() });
    const events = new EventRecorder({ store, component: 't', log: silentLogger(), limit: 20 });
    let lists = 0;
    const list = store.list.bind(store);
    store.list = ((...args: Parameters<typeof store.list>) => {
      lists++;
      return list(...args);
    }) as typeof store.list;
    const obj = { apiVersion: 'v1', kind: 'Thing', metadata: { name: 'x', namespace: 'default', uid: 'u1' } };
    for (let i = 0; i < 100; i++) {
      events.record(obj, 'Normal', 'Step', `step ${i}`);
      assert.ok(store.count(RESOURCES.events, 'default') <= 20, `at most 20 after event ${i}`);
    }
    store.list = list;
    const messages = store.list(RESOURCES.events, { namespace: 'default' }).items.map((e) => e.message as string);
    assert.ok(messages.includes('step 99') && !messages.includes('step 70'), `the newest kept: ${messages.join(', ')}`);
    assert.ok(lists <= 100 / 2, `listed ${lists} times for 100 events`);
  });

  it('repeats bump one Event\'s count; the aggregation keys of Events dropped go with them', () => {
    const store = openStore({ logger: silentLogger() });
    const events = new EventRecorder({ store, component: 't', log: silentLogger(), limit: 20 });
    const obj = { apiVersion: 'v1', kind: 'Thing', metadata: { name: 'x', namespace: 'default', uid: 'u1' } };
    events.record(obj, 'Normal', 'Step', 'again');
    events.record(obj, 'Normal', 'Step', 'again');
    const counts = () => store.list(RESOURCES.events, { namespace: 'default' }).items.map((e) => [e.message, e.count]);
    assert.deepEqual(counts(), [['again', 2]]);
    for (let i = 0; i < 100; i++) {
      events.record(obj, 'Normal', 'Step', `step ${i}`);
      const kept = store.count(RESOURCES.events, 'default');
      assert.ok(events.aggregating <= kept, `after event ${i}: ${events.aggregating} keys for ${kept} Events`);
    }
    // The first Event was dropped: a repeat of it starts a new one.
    events.record(obj, 'Normal', 'Step', 'again');
    assert.deepEqual(counts().at(-1), ['again', 1]);
    events.record(obj, 'Normal', 'Step', 'again');
    assert.deepEqual(counts().at(-1), ['again', 2]);
  });
});
