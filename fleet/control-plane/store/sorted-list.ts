/**
 * A list kept sorted by a comparator, in chunks of at most `CHUNK` items, so that an
 * insert or a removal finds its place in O(log n) comparisons and moves at most a chunk's
 * worth of items (a plain sorted array moves up to n; the Ready pool of an ordered
 * index is thousands long and changes with every allocation). Equal items keep the
 * order in which they were inserted. Items are found for removal by identity.
 */
const CHUNK = 64;

export class SortedList<T> {
  readonly #cmp: (a: T, b: T) => number;
  #chunks: T[][] = [];
  #size = 0;

  constructor(cmp: (a: T, b: T) => number) {
    this.#cmp = cmp;
  }

  get size(): number {
    return this.#size;
  }

  insert(item: T): void {
    const chunks = this.#chunks;
    this.#size++;
    if (chunks.length === 0) {
      chunks.push([item]);
      return;
    }
    // Items often come in order (GameServers allocated oldest first): one comparison appends.
    const tail = chunks[chunks.length - 1]!;
    if (this.#cmp(tail[tail.length - 1]!, item) <= 0) {
      tail.push(item);
      if (tail.length > CHUNK) chunks.push(tail.splice(CHUNK >>> 1));
      return;
    }
    // The first chunk whose last item is greater; past all of them: the last chunk.
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      if (this.#cmp(c[c.length - 1]!, item) > 0) hi = mid;
      else lo = mid + 1;
    }
    const c = chunks[lo]!;
    let a = 0;
    let b = c.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.#cmp(c[mid]!, item) <= 0) a = mid + 1;
      else b = mid;
    }
    c.splice(a, 0, item);
    if (c.length > CHUNK) chunks.splice(lo + 1, 0, c.splice(CHUNK >>> 1));
  }

  /** Removes `item` (the same object); false when it is not there. */
  remove(item: T): boolean {
    const at = this.#find(item);
    if (!at) return false;
    const c = this.#chunks[at[0]]!;
    c.splice(at[1], 1);
    if (c.length === 0) this.#chunks.splice(at[0], 1);
    this.#size--;
    return true;
  }

  /** Puts `next` where `prev` is; the caller knows they compare equal. False when `prev` is not there. */
  replace(prev: T, next: T): boolean {
    const at = this.#find(prev);
    if (!at) return false;
    this.#chunks[at[0]]![at[1]] = next;
    return true;
  }

  /** [chunk, position] of `item`. */
  #find(item: T): [number, number] | undefined {
    const chunks = this.#chunks;
    if (chunks.length === 0) return undefined;
    // The first and the last are the usual ones (the oldest Ready is allocated; the newest is updated).
    if (chunks[0]![0] === item) return [0, 0];
    const tail = chunks[chunks.length - 1]!;
    if (tail[tail.length - 1] === item) return [chunks.length - 1, tail.length - 1];
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      if (this.#cmp(c[c.length - 1]!, item) >= 0) hi = mid;
      else lo = mid + 1;
    }
    for (let ci = lo; ci < chunks.length; ci++) {
      const c = chunks[ci]!;
      let i = 0;
      if (ci === lo) {
        let b = c.length;
        while (i < b) {
          const mid = (i + b) >>> 1;
          if (this.#cmp(c[mid]!, item) < 0) i = mid + 1;
          else b = mid;
        }
      }
      for (; i < c.length; i++) {
        if (c[i] === item) return [ci, i];
        if (this.#cmp(c[i]!, item) !== 0) return this.#scan(item);
      }
    }
    return this.#scan(item);
  }

  /** A comparator that changed its mind about an item (it must not) could hide it: look everywhere. */
  #scan(item: T): [number, number] | undefined {
    for (let ci = 0; ci < this.#chunks.length; ci++) {
      const i = this.#chunks[ci]!.indexOf(item);
      if (i >= 0) return [ci, i];
    }
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const c of this.#chunks) for (let i = 0; i < c.length; i++) yield c[i]!;
  }

  /** The first `n` items. */
  first(n: number): T[] {
    const out: T[] = [];
    for (const c of this.#chunks) {
      for (let i = 0; i < c.length; i++) {
        if (out.length >= n) return out;
        out.push(c[i]!);
      }
    }
    return out;
  }
}
