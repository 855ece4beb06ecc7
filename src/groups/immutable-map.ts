const ABSENT = Symbol('absent');

/**
 * A map that never changes: `set` and `delete` answer a new one and leave this one as it was.
 * A group's state is folded one event at a time over thousands of members; copying a Map per
 * event would make loading a large group quadratic. This keeps a shared base that is never
 * written and a small delta copied per change, merged into a new base once it outgrows the
 * square root of the base: O(√n) per change, lookups O(1).
 */
export class ImmutableMap<K, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly delta: ReadonlyMap<K, V | typeof ABSENT>,
    readonly size: number,
  ) {}

  static empty<K, V>(): ImmutableMap<K, V> {
    return new ImmutableMap<K, V>(new Map(), new Map(), 0);
  }

  static of<K, V>(entries: Iterable<readonly [K, V]>): ImmutableMap<K, V> {
    const base = new Map<K, V>();
    for (const [key, value] of entries) base.set(key, value);
    return new ImmutableMap<K, V>(base, new Map(), base.size);
  }

  get(key: K): V | undefined {
    if (this.delta.has(key)) {
      const value = this.delta.get(key);
      return value === ABSENT ? undefined : value;
    }
    return this.base.get(key);
  }

  has(key: K): boolean {
    if (this.delta.has(key)) return this.delta.get(key) !== ABSENT;
    return this.base.has(key);
  }

  set(key: K, value: V): ImmutableMap<K, V> {
    const size = this.has(key) ? this.size : this.size + 1;
    return this.with(new Map(this.delta).set(key, value), size);
  }

  delete(key: K): ImmutableMap<K, V> {
    if (!this.has(key)) return this;
    const delta = new Map(this.delta);
    if (this.base.has(key)) delta.set(key, ABSENT);
    else delta.delete(key);
    return this.with(delta, this.size - 1);
  }

  private with(delta: Map<K, V | typeof ABSENT>, size: number): ImmutableMap<K, V> {
    if (delta.size <= Math.max(32, Math.sqrt(this.base.size))) {
      return new ImmutableMap(this.base, delta, size);
    }
    return ImmutableMap.of(new ImmutableMap(this.base, delta, size).entries());
  }

  *entries(): MapIterator<[K, V]> {
    for (const [key, value] of this.base) {
      if (!this.delta.has(key)) yield [key, value];
      else {
        const changed = this.delta.get(key);
        if (changed !== ABSENT) yield [key, changed as V];
      }
    }
    for (const [key, value] of this.delta)
      if (value !== ABSENT && !this.base.has(key)) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}
