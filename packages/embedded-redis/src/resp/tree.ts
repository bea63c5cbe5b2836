import type { ReplyWriter } from '../types.js';

/** A decoded reply, as `TreeWriter` builds it (Lua's `redis.call`, tests). */
export type ReplyValue =
  | { kind: 'simple'; value: string }
  | { kind: 'error'; value: string }
  | { kind: 'integer'; value: number | bigint }
  | { kind: 'bulk'; value: Buffer }
  | { kind: 'null' }
  | { kind: 'nullArray' }
  | { kind: 'array' | 'set' | 'push'; items: ReplyValue[] }
  /** `items` alternates keys and values. */
  | { kind: 'map'; items: ReplyValue[] }
  | { kind: 'double'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'verbatim'; value: string };

type Aggregate = { items: ReplyValue[]; left: number };

/**
 * A ReplyWriter that builds `ReplyValue`s instead of bytes. `replies` holds every complete
 * top-level reply in order.
 */
export class TreeWriter implements ReplyWriter {
  readonly protocol: 2 | 3;
  readonly replies: ReplyValue[] = [];
  readonly #stack: Aggregate[] = [];

  constructor(protocol: 2 | 3 = 2) {
    this.protocol = protocol;
  }

  /** Removes and returns the first complete reply. */
  shift(): ReplyValue | undefined {
    return this.replies.shift();
  }

  #add(value: ReplyValue): void {
    let v = value;
    for (;;) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) {
        this.replies.push(v);
        return;
      }
      top.items.push(v);
      top.left--;
      if (top.left > 0) return;
      this.#stack.pop();
      v = (top as Aggregate & { value: ReplyValue }).value;
    }
  }

  #open(kind: 'array' | 'set' | 'push' | 'map', count: number): void {
    const items: ReplyValue[] = [];
    const value = { kind, items } as ReplyValue;
    if (count <= 0) {
      this.#add(value);
      return;
    }
    this.#stack.push({ items, left: count, value } as Aggregate);
  }

  simple(text: string): void {
    this.#add({ kind: 'simple', value: text });
  }
  error(message: string): void {
    this.#add({ kind: 'error', value: message });
  }
  integer(value: number | bigint): void {
    this.#add({ kind: 'integer', value });
  }
  bulk(value: Buffer | string): void {
    this.#add({ kind: 'bulk', value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });
  }
  nullBulk(): void {
    this.#add({ kind: 'null' });
  }
  nullArray(): void {
    this.#add({ kind: 'nullArray' });
  }
  array(length: number): void {
    this.#open('array', length);
  }
  map(length: number): void {
    this.#open('map', length * 2);
  }
  set(length: number): void {
    this.#open('set', length);
  }
  double(value: number): void {
    this.#add({ kind: 'double', value });
  }
  boolean(value: boolean): void {
    this.#add({ kind: 'boolean', value });
  }
  push(length: number): void {
    this.#open('push', length);
  }
  verbatim(text: string): void {
    this.#add({ kind: 'verbatim', value: text });
  }
}
