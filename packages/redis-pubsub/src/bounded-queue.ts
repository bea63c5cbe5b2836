import type { OverflowPolicy } from './options.js';

/** What `BoundedQueue.push` did with an item. */
export type PushOutcome = 'queued' | 'dropped-oldest' | 'dropped-newest' | 'ended';

/**
 * A single-consumer async queue holding at most `capacity` items. When full, `push` drops the
 * oldest buffered item (`drop-oldest`) or the new one (`drop-newest`), and counts it. Items are
 * turned into what the consumer sees by `map` only when pulled, so dropped items cost nothing more.
 *
 * Storage is a ring that grows by doubling up to `capacity`, so an idle subscription with a large
 * capacity holds a small array.
 */
export class BoundedQueue<T, R> implements AsyncIterable<R> {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  readonly #map: (item: T) => R;
  #ring: Array<T | undefined>;
  #head = 0;
  #size = 0;
  #waiter: ((result: IteratorResult<R>) => void) | undefined;
  #ended = false;
  #dropped = 0;
  #pulled = 0;

  constructor(capacity: number, policy: OverflowPolicy, map: (item: T) => R) {
    this.capacity = capacity;
    this.policy = policy;
    this.#map = map;
    this.#ring = new Array(Math.min(capacity, 16));
  }

  /** Items buffered and not yet pulled. */
  get size(): number {
    return this.#size;
  }

  /** Items dropped by the overflow policy so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Items handed to the consumer so far. */
  get pulled(): number {
    return this.#pulled;
  }

  /** True once `end()` or `close()` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds an item, or hands it straight to a waiting consumer. */
  push(item: T): PushOutcome {
    if (this.#ended) return 'ended';
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#pulled++;
      waiter({ value: this.#map(item), done: false });
      return 'queued';
    }
    if (this.#size === this.capacity) {
      this.#dropped++;
      if (this.policy === 'drop-newest') return 'dropped-newest';
      this.#ring[this.#head] = item;
      this.#head = (this.#head + 1) % this.#ring.length;
      return 'dropped-oldest';
    }
    if (this.#size === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#size) % this.#ring.length] = item;
    this.#size++;
    return 'queued';
  }

  /** Ends the iteration after the buffered items have been pulled. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wakeIfDrained();
  }

  /** Ends the iteration now, discarding what was buffered; returns how many items were discarded. */
  close(): number {
    const discarded = this.#size;
    this.#ring = [];
    this.#head = 0;
    this.#size = 0;
    this.#ended = true;
    this.#wakeIfDrained();
    return discarded;
  }

  /**
   * Takes the next buffered item synchronously, or returns `undefined` when none is buffered (or
   * the queue was closed). Draws from the same buffer as `next()`, in the same order.
   */
  poll(): R | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#ring[this.#head] as T;
    this.#ring[this.#head] = undefined;
    this.#head = this.#head + 1 === this.#ring.length ? 0 : this.#head + 1;
    this.#size--;
    this.#pulled++;
    return this.#map(item);
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#size > 0) return Promise.resolve({ value: this.poll() as R, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error('BoundedQueue has one consumer; next() was called concurrently'));
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<R> {
    return { next: () => this.next() };
  }

  #grow(): void {
    const length = this.#ring.length;
    const grown: Array<T | undefined> = new Array(Math.min(this.capacity, Math.max(16, length * 2)));
    for (let i = 0; i < this.#size; i++) grown[i] = this.#ring[(this.#head + i) % length];
    this.#ring = grown;
    this.#head = 0;
  }

  #wakeIfDrained(): void {
    const waiter = this.#waiter;
    if (waiter === undefined || this.#size > 0) return;
    this.#waiter = undefined;
    waiter({ value: undefined, done: true });
  }
}
