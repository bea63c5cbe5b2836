/**
 * A table of values by string id for the hot paths of transports and runtimes, where entries
 * come and go with every message and the table lives as long as the subscription.
 *
 * It keeps the entries on a null-prototype object rather than in a `Map`. Measured on Node 20
 * (docs/performance.md, "Garbage that outlives its message"): a long-lived `Map` or `Set` that
 * gains and loses an entry per message made objects of short-lived messages survive
 * young-generation collections and reach the old generation, which lengthened every
 * collection's pause, while the same churn on a dictionary object did not.
 *
 * Ids must be strings that are not array indices ("1700000000000-0", "msg-1"): indices would
 * still work but lose insertion order.
 */
export class IdTable<V> {
  #entries: Record<string, V> = Object.create(null) as Record<string, V>;
  #size = 0;

  /** Entries in the table. */
  get size(): number {
    return this.#size;
  }

  get(id: string): V | undefined {
    return this.#entries[id];
  }

  has(id: string): boolean {
    return this.#entries[id] !== undefined;
  }

  /** Adds or replaces the value of `id` (`undefined` is not a value: use `delete`). */
  set(id: string, value: V): void {
    if (value === undefined) throw new TypeError(`IdTable.set(${JSON.stringify(id)}): value is undefined`);
    if (this.#entries[id] === undefined) this.#size++;
    this.#entries[id] = value;
  }

  /** Removes `id`; true if it was there. */
  delete(id: string): boolean {
    if (this.#entries[id] === undefined) return false;
    delete this.#entries[id];
    this.#size--;
    return true;
  }

  /** A snapshot of the values, in the order their ids were first added. */
  values(): V[] {
    return Object.values(this.#entries);
  }

  clear(): void {
    this.#entries = Object.create(null) as Record<string, V>;
    this.#size = 0;
  }
}
