/**
 * A ReplyWriter that builds the reply as a value tree, for `redis.call` (and tests). With
 * protocol 2 it folds RESP3-only shapes the way a RESP2 connection receives them (maps and sets
 * as flat arrays, doubles as bulk strings, booleans as integers), so a script sees what Redis's
 * Lua client sees.
 */
import type { ReplyWriter } from '../types.js';
import { formatG } from './format.js';

/** One reply. `null` is a null bulk (RESP2) or null (RESP3). */
export type ReplyNode =
  | number
  | bigint
  | Buffer
  | null
  | { readonly kind: 'status' | 'error' | 'verbatim'; readonly text: string }
  | { readonly kind: 'nullArray' }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'array' | 'map' | 'set' | 'push'; readonly items: ReplyNode[] };

const NULL_ARRAY: ReplyNode = { kind: 'nullArray' };

/** A double as a RESP2 bulk string (Redis 7.0's `%.17g`). */
export function doubleText(value: number): string {
  return formatG(value, 17);
}

/** Builds one reply tree; read it from `root` once the command has written it. */
export class TreeWriter implements ReplyWriter {
  readonly protocol: 2 | 3;
  root: ReplyNode | undefined;
  #open: { items: ReplyNode[]; remaining: number }[] = [];

  constructor(protocol: 2 | 3 = 2) {
    this.protocol = protocol;
  }

  #add(node: ReplyNode): void {
    const open = this.#open;
    const top = open[open.length - 1];
    if (top === undefined) {
      this.root = node;
      return;
    }
    top.items.push(node);
    top.remaining--;
    while (open.length > 0 && open[open.length - 1]!.remaining === 0) open.pop();
  }

  #aggregate(kind: 'array' | 'map' | 'set' | 'push', count: number): void {
    const items: ReplyNode[] = [];
    this.#add({ kind, items });
    if (count > 0) this.#open.push({ items, remaining: count });
  }

  simple(text: string): void {
    this.#add({ kind: 'status', text });
  }
  error(message: string): void {
    this.#add({ kind: 'error', text: message });
  }
  integer(value: number | bigint): void {
    this.#add(value);
  }
  bulk(value: Buffer | string): void {
    this.#add(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
  }
  nullBulk(): void {
    this.#add(null);
  }
  nullArray(): void {
    this.#add(this.protocol === 2 ? NULL_ARRAY : null);
  }
  array(length: number): void {
    this.#aggregate('array', length);
  }
  map(length: number): void {
    if (this.protocol === 2) this.#aggregate('array', length * 2);
    else this.#aggregate('map', length * 2);
  }
  set(length: number): void {
    this.#aggregate(this.protocol === 2 ? 'array' : 'set', length);
  }
  double(value: number): void {
    if (this.protocol === 2) this.#add(Buffer.from(doubleText(value), 'latin1'));
    else this.#add({ kind: 'double', value });
  }
  boolean(value: boolean): void {
    if (this.protocol === 2) this.#add(value ? 1 : 0);
    else this.#add({ kind: 'boolean', value });
  }
  push(length: number): void {
    this.#aggregate(this.protocol === 2 ? 'array' : 'push', length);
  }
  verbatim(text: string): void {
    if (this.protocol === 2) this.#add(Buffer.from(text, 'utf8'));
    else this.#add({ kind: 'verbatim', text });
  }
}
