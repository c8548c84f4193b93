import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SortedList } from './sorted-list.ts';

interface Item {
  k: number;
  id: number;
}

describe('SortedList', () => {
  it('stays sorted through random inserts and removals, equal items in insertion order', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const list = new SortedList<Item>((a, b) => a.k - b.k);
    const model: Item[] = [];
    for (let step = 0; step < 5000; step++) {
      if (model.length > 0 && rnd(3) === 0) {
        const victim = model[rnd(model.length)]!;
        assert.equal(list.remove(victim), true);
        model.splice(model.indexOf(victim), 1);
      } else {
        const item = { k: rnd(50), id: step };
        list.insert(item);
        // After every item of the same key already there.
        let at = model.length;
        while (at > 0 && model[at - 1]!.k > item.k) at--;
        model.splice(at, 0, item);
      }
      if (step % 250 === 0) assert.deepEqual([...list], model);
    }
    assert.deepEqual([...list], model);
    assert.equal(list.size, model.length);
    assert.deepEqual(list.first(3), model.slice(0, 3));
  });

  it('replace keeps the place; removing what is not there is false', () => {
    const list = new SortedList<Item>((a, b) => a.k - b.k);
    const a = { k: 1, id: 1 };
    const b = { k: 2, id: 2 };
    list.insert(b);
    list.insert(a);
    const a2 = { k: 1, id: 3 };
    assert.equal(list.replace(a, a2), true);
    assert.deepEqual([...list], [a2, b]);
    assert.equal(list.remove(a), false);
    assert.equal(list.replace(a, a2), false);
    assert.equal(list.remove(a2), true);
    assert.equal(list.remove(b), true);
    assert.equal(list.size, 0);
    assert.deepEqual([...list], []);
  });

  it('finds an item even when its key changed under it (a comparator that is not a function of the item)', () => {
    const list = new SortedList<Item>((a, b) => a.k - b.k);
    const items = Array.from({ length: 300 }, (_, i) => ({ k: i, id: i }));
    for (const x of items) list.insert(x);
    items[150]!.k = -1;
    assert.equal(list.remove(items[150]!), true);
    assert.equal(list.size, 299);
  });
});
