// A bounded cache that lets the least recently used entries go first (leaf).

/**
 * At most `maxItems` entries and, when `weigh` is given, at most `maxWeight` of their summed weight.
 * A hit only stamps its entry, so the map changes on inserts alone (a cache read by every report of a
 * burst stays cheap); an insert past a bound removes the entries used longest ago, never the new one.
 */
export class Lru<K, V> {
  readonly #items = new Map<K, { value: V; used: number; weight: number }>();
  #clock = 0;
  #weight = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxWeight = Infinity,
    private readonly weigh: (value: V) => number = () => 0,
  ) {}

  get(key: K): V | undefined {
    const item = this.#items.get(key);
    if (item === undefined) return undefined;
    item.used = ++this.#clock;
    return item.value;
  }

  set(key: K, value: V): void {
    const old = this.#items.get(key);
    if (old !== undefined) this.#weight -= old.weight;
    const weight = this.weigh(value);
    this.#items.set(key, { value, used: ++this.#clock, weight });
    this.#weight += weight;
    while (this.#items.size > 1 && (this.#items.size > this.maxItems || this.#weight > this.maxWeight)) {
      let oldest: K | undefined;
      let oldestUse = Infinity;
      for (const [k, item] of this.#items) {
        if (k !== key && item.used < oldestUse) {
          oldest = k;
          oldestUse = item.used;
        }
      }
      this.#weight -= this.#items.get(oldest as K)!.weight;
      this.#items.delete(oldest as K);
    }
  }

  get size(): number {
    return this.#items.size;
  }
}
