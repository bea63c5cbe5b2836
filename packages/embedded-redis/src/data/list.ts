import { compact, type Stored, sameStored, stored } from './string.js';

/**
 * The value of a `list` key: a growable ring buffer of elements, O(1) at both ends and O(1) by
 * index, O(n) for inserts and removals in the middle (as Redis's quicklist is, in effect).
 * Index 0 is the head (left, where LPUSH adds), `length - 1` the tail (right).
 *
 * Elements go in and come out as Buffers; inside, a short element is kept as a latin1 string
 * (`compact`), which costs a fraction of a Buffer's memory and nothing to the garbage collector's
 * array-buffer tracking. The `…Item` methods hand out that stored form for replies.
 */
export class List {
  #items: (Stored | undefined)[];
  #head = 0;
  #length = 0;

  constructor(values: Iterable<Buffer> = []) {
    this.#items = new Array<Stored | undefined>(8);
    for (const value of values) this.pushRight(value);
  }

  /** Number of elements. */
  get length(): number {
    return this.#length;
  }

  #slot(index: number): number {
    return (this.#head + index) & (this.#items.length - 1);
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<Stored | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }

  #shrinkIfSparse(): void {
    // Keep memory proportional to the contents after a big list drains.
    if (this.#items.length > 64 && this.#length < this.#items.length >>> 2) {
      const old = this.#items;
      let capacity = old.length;
      while (capacity > 8 && this.#length < capacity >>> 1) capacity >>>= 1;
      const next = new Array<Stored | undefined>(capacity);
      for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
      this.#items = next;
      this.#head = 0;
    }
  }

  /** Adds a copy of `value` at the head (a view of a request is fine). */
  pushLeft(value: Buffer): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = compact(value);
    this.#length++;
  }

  /** Adds a copy of `value` at the tail (a view of a request is fine). */
  pushRight(value: Buffer): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[this.#slot(this.#length)] = compact(value);
    this.#length++;
  }

  /** Removes and returns the head, or undefined when empty. */
  popLeft(): Buffer | undefined {
    const item = this.popLeftItem();
    return item === undefined ? undefined : stored(item);
  }

  /** Removes and returns the tail, or undefined when empty. */
  popRight(): Buffer | undefined {
    const item = this.popRightItem();
    return item === undefined ? undefined : stored(item);
  }

  /** As `popLeft`, in the stored form. */
  popLeftItem(): Stored | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    this.#shrinkIfSparse();
    return value;
  }

  /** As `popRight`, in the stored form. */
  popRightItem(): Stored | undefined {
    if (this.#length === 0) return undefined;
    const slot = this.#slot(this.#length - 1);
    const value = this.#items[slot];
    this.#items[slot] = undefined;
    this.#length--;
    this.#shrinkIfSparse();
    return value;
  }

  /** The element at `index` (0-based from the head), or undefined when out of range. */
  at(index: number): Buffer | undefined {
    const item = this.itemAt(index);
    return item === undefined ? undefined : stored(item);
  }

  /** As `at`, in the stored form. */
  itemAt(index: number): Stored | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[this.#slot(index)];
  }

  /** Replaces the element at `index`, which must be in range, with a copy of `value`. */
  setAt(index: number, value: Buffer): void {
    this.#items[this.#slot(index)] = compact(value);
  }

  /** Inserts `value` so that it ends up at `index` (0..length). */
  insertAt(index: number, value: Buffer): void {
    const item = compact(value);
    if (index <= 0) {
      this.pushLeft(value);
      return;
    }
    if (index >= this.#length) {
      this.pushRight(value);
      return;
    }
    if (this.#length === this.#items.length) this.#grow();
    if (index < this.#length >>> 1) {
      // Shift the front part one slot towards the head.
      this.#head = (this.#head - 1) & (this.#items.length - 1);
      for (let i = 0; i < index; i++) this.#items[this.#slot(i)] = this.#items[this.#slot(i + 1)];
    } else {
      for (let i = this.#length; i > index; i--) this.#items[this.#slot(i)] = this.#items[this.#slot(i - 1)];
    }
    this.#items[this.#slot(index)] = item;
    this.#length++;
  }

  /** Removes the element at `index`, which must be in range. */
  removeAt(index: number): void {
    if (index < this.#length >>> 1) {
      for (let i = index; i > 0; i--) this.#items[this.#slot(i)] = this.#items[this.#slot(i - 1)];
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) & (this.#items.length - 1);
    } else {
      for (let i = index; i < this.#length - 1; i++)
        this.#items[this.#slot(i)] = this.#items[this.#slot(i + 1)];
      this.#items[this.#slot(this.#length - 1)] = undefined;
    }
    this.#length--;
    this.#shrinkIfSparse();
  }

  /**
   * Removes elements equal to `value`: the first `count` from the head when count > 0, the last
   * `-count` from the tail when count < 0, all when 0. Returns how many were removed. One pass.
   */
  remove(value: Buffer, count: number): number {
    const target = compact(value);
    const limit = count === 0 ? Number.POSITIVE_INFINITY : Math.abs(count);
    const length = this.#length;
    const mask = this.#items.length - 1;
    const items = this.#items;
    let removed = 0;
    if (count >= 0) {
      // Compact towards the head: read index r, write index w.
      let w = 0;
      for (let r = 0; r < length; r++) {
        const item = items[(this.#head + r) & mask] as Stored;
        if (removed < limit && sameStored(item, target)) {
          removed++;
          continue;
        }
        if (w !== r) items[(this.#head + w) & mask] = item;
        w++;
      }
      for (let i = w; i < length; i++) items[(this.#head + i) & mask] = undefined;
      this.#length = w;
    } else {
      // Compact towards the tail.
      let w = length - 1;
      for (let r = length - 1; r >= 0; r--) {
        const item = items[(this.#head + r) & mask] as Stored;
        if (removed < limit && sameStored(item, target)) {
          removed++;
          continue;
        }
        if (w !== r) items[(this.#head + w) & mask] = item;
        w--;
      }
      const drop = w + 1;
      for (let i = 0; i < drop; i++) items[(this.#head + i) & mask] = undefined;
      this.#head = (this.#head + drop) & mask;
      this.#length = length - drop;
    }
    if (removed > 0) this.#shrinkIfSparse();
    return removed;
  }

  /** Keeps only the elements at `start..stop` (inclusive, already clamped: 0 <= start <= stop < length). */
  keep(start: number, stop: number): void {
    const mask = this.#items.length - 1;
    for (let i = 0; i < start; i++) this.#items[(this.#head + i) & mask] = undefined;
    for (let i = stop + 1; i < this.#length; i++) this.#items[(this.#head + i) & mask] = undefined;
    this.#head = (this.#head + start) & mask;
    this.#length = stop - start + 1;
    this.#shrinkIfSparse();
  }

  /** The elements at `start..stop` inclusive (clamped by the caller), head first. */
  range(start: number, stop: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = start; i <= stop; i++) out.push(stored(this.#items[this.#slot(i)] as Stored));
    return out;
  }

  /** Index of the first element equal to `value` from the head, or -1. */
  indexOf(value: Buffer): number {
    const target = compact(value);
    for (let i = 0; i < this.#length; i++)
      if (sameStored(this.#items[this.#slot(i)] as Stored, target)) return i;
    return -1;
  }

  /** All elements, head first. */
  *values(): IterableIterator<Buffer> {
    for (let i = 0; i < this.#length; i++) yield stored(this.#items[this.#slot(i)] as Stored);
  }

  /** An independent copy (COPY, DUMP-like uses); elements are shared, as they are never mutated. */
  clone(): List {
    const copy = new List();
    for (let i = 0; i < this.#length; i++) {
      if (copy.#length === copy.#items.length) copy.#grow();
      copy.#items[copy.#length++] = this.#items[this.#slot(i)];
    }
    return copy;
  }
}
