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

/** What a `SlotList` item carries: where the list keeps it (-1 while not listed). */
export interface Slotted {
  slot: number;
}

/**
 * An unordered set of objects, each of which records its own index, for the same hot paths as
 * `IdTable` when the items are objects rather than ids: O(1) add and delete with no hash table
 * (delete moves the last item into the freed index).
 */
export class SlotList<T extends Slotted> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** Adds `item`; false if it is listed already. */
  add(item: T): boolean {
    if (item.slot >= 0) return false;
    item.slot = this.#items.length;
    this.#items.push(item);
    return true;
  }

  has(item: T): boolean {
    return item.slot >= 0 && this.#items[item.slot] === item;
  }

  /** Removes `item`; false if it was not listed. */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const index = item.slot;
    item.slot = -1;
    const last = this.#items.pop() as T;
    if (last !== item) {
      this.#items[index] = last;
      last.slot = index;
    }
    return true;
  }

  /** A snapshot of the items (in no particular order). */
  values(): T[] {
    return [...this.#items];
  }
}
