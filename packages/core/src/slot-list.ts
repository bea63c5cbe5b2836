/** What a `SlotList` item carries: where the list keeps it (-1 while not listed). */
export interface Slotted {
  slot: number;
}

/**
 * An unordered set of objects, each of which records its own index: O(1) add and delete with no
 * hash table (delete moves the last item into the freed index). For the hot paths of transports
 * and runtimes, where an item comes and goes with every message and the set lives as long as the
 * subscription.
 *
 * Why not a `Set` or `Map`: measured on Node 20 (docs/performance.md, "Garbage that outlives its
 * message"), a long-lived `Set`/`Map` that gained and lost an entry per message, or was cleared
 * every few milliseconds, made the objects of short-lived messages survive young-generation
 * collections, which lengthened every collection's pause. A dictionary object keyed by fresh id
 * strings avoided that but cost more per operation (every new key is internalized).
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
