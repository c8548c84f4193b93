/**
 * Index values made once. An index's `keysOf` runs on every write of its kind (an
 * allocation writes a GameServer, and three indexes ask for its values): built with a
 * template string, each value is a new string to flatten and hash for the index's maps,
 * in a new array, compared with the last version's by content. `KeyJoiner` gives the same
 * one-element array, and so the same string with its hash already computed, for the same
 * parts: equal values are then the same value, and the store sees an unchanged one at
 * once (`sameValues`).
 */
export class KeyJoiner {
  readonly #sep: string;
  readonly #max: number;
  readonly #byFirst = new Map<string, Map<string, readonly [string]>>();
  #size = 0;

  /** `max`: joined values remembered at most; past it the memory starts again. */
  constructor(sep: string, max = 16_384) {
    this.#sep = sep;
    this.#max = max;
  }

  /** `[a + sep + b]`: the same frozen array each time for the same parts. */
  one(a: string, b: string): readonly [string] {
    let v = this.#byFirst.get(a)?.get(b);
    if (v !== undefined) return v;
    if (this.#size >= this.#max) {
      this.#byFirst.clear();
      this.#size = 0;
    }
    let bySecond = this.#byFirst.get(a);
    if (bySecond === undefined) {
      bySecond = new Map();
      this.#byFirst.set(a, bySecond);
    }
    v = Object.freeze([a + this.#sep + b] as [string]);
    bySecond.set(b, v);
    this.#size++;
    return v;
  }

  /** `a + sep + b`, the remembered string. */
  text(a: string, b: string): string {
    return this.one(a, b)[0];
  }
}
