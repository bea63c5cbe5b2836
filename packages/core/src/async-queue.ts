/**
 * A single-consumer async queue: producers `push`, one `for await` loop pulls. Built for
 * transports: the subscription's fetch loop pushes deliveries, the application iterates.
 *
 * `end()` finishes the iteration once it has been drained; `close()` ends it at once and hands
 * back what was still buffered, so the transport can return those deliveries to the group.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  #failed = false;
  #spaceWaiters: Array<() => void> = [];

  /** Items buffered and not yet pulled. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** True once `end()` or `close()` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds an item; returns false (and drops nothing) if the queue already ended. */
  push(item: T): boolean {
    if (this.#ended) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
    return true;
  }

  /** Ends the iteration after the buffered items have been pulled. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wakeAfterEnd();
  }

  /** Ends the iteration with an error thrown into the consumer's loop (after buffered items). */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#failed = true;
    this.#error = error;
    this.end();
  }

  /** Ends the iteration now; returns the items that were buffered and never pulled. */
  close(): T[] {
    const left = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#ended = true;
    this.#wakeAfterEnd();
    return left;
  }

  /** Resolves when the buffer holds fewer than `limit` items (or the queue ended). */
  waitForSpace(limit: number): Promise<void> {
    if (this.size < limit || this.#ended) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  /** Takes the next buffered item synchronously, or returns `undefined` when none is buffered. */
  poll(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const value = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      // Drained: reuse the array from its start instead of letting it grow.
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#releaseSpace();
    return value;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      return Promise.resolve({ value: this.poll() as T, done: false });
    }
    if (this.#ended) {
      if (this.#failed) {
        this.#failed = false;
        return Promise.reject(this.#error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    this.#releaseSpace();
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }

  #releaseSpace(): void {
    const waiters = this.#spaceWaiters;
    if (waiters.length === 0) return;
    this.#spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  #wakeAfterEnd(): void {
    this.#releaseSpace();
    const waiter = this.#waiter;
    if (waiter === undefined || this.#head < this.#items.length) return;
    this.#waiter = undefined;
    if (this.#failed) {
      this.#failed = false;
      waiter.reject(this.#error);
      return;
    }
    waiter.resolve({ value: undefined, done: true });
  }
}
