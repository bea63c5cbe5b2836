import { type Database, type Entry, type ValueType, WrongTypeError } from './types.js';

/** What a database needs from its server. */
export interface DatabaseHost {
  now(): number;
  /** A key was touched with `ready`: wake clients blocked on it. */
  keyReady(db: number, key: string): void;
  /** Something changed (the dirty counter: AOF and WATCH bookkeeping). */
  modified(): void;
  /** A key was found expired and removed (propagated as a DEL). */
  expired(db: number, key: string): void;
}

/**
 * One logical database: a Map of entries with lazy expiry on access, a set of keys with a TTL for
 * active expiry, and per-key versions for WATCH (kept only for keys someone asked the version of).
 */
export class KeyspaceDatabase implements Database {
  readonly index: number;
  readonly #host: DatabaseHost;
  readonly #entries = new Map<string, Entry>();
  /** Keys that had an expiry when last stored or touched (a superset of the volatile keys). */
  readonly #volatile = new Set<string>();
  #volatileCursor: IterableIterator<string> | undefined;
  /** WATCHed keys' versions; a key appears once its version was asked for. */
  readonly #versions = new Map<string, number>();
  static #versionCounter = 0;

  constructor(index: number, host: DatabaseHost) {
    this.index = index;
    this.#host = host;
  }

  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#host.now()) {
      this.#expire(key);
      return undefined;
    }
    return entry;
  }

  /** The entry even when expired but not yet reaped (for diagnostics and AOF rewrite). */
  peek(key: string): Entry | undefined {
    return this.#entries.get(key);
  }

  getTyped(key: string, type: ValueType): Entry | undefined {
    const entry = this.get(key);
    if (entry !== undefined && entry.type !== type) throw new WrongTypeError();
    return entry;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, entry: Entry, keepTtl?: boolean): void {
    if (keepTtl) {
      const old = this.get(key);
      entry.expiresAt = old?.expiresAt;
    }
    this.#entries.set(key, entry);
    if (entry.expiresAt !== undefined) this.#volatile.add(key);
    // touch(key, true), knowing the entry.
    this.#bump(key);
    this.#host.modified();
    this.#host.keyReady(this.index, key);
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    if (entry.expiresAt !== undefined) {
      this.#volatile.delete(key);
      if (entry.expiresAt <= this.#host.now()) {
        this.#bump(key);
        this.#host.expired(this.index, key);
        return false;
      }
    }
    this.touch(key);
    return true;
  }

  size(): number {
    return this.#entries.size;
  }

  /** Number of keys with an expiry (for INFO keyspace). */
  volatileCount(): number {
    let n = 0;
    for (const key of this.#volatile) if (this.#entries.get(key)?.expiresAt !== undefined) n++;
    return n;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Live and not-yet-reaped entries, in insertion order. */
  entries(): IterableIterator<[string, Entry]> {
    return this.#entries.entries();
  }

  clear(): void {
    for (const key of this.#versions.keys()) if (this.#entries.has(key)) this.#bump(key);
    this.#entries.clear();
    this.#volatile.clear();
    this.#volatileCursor = undefined;
    this.#host.modified();
  }

  touch(key: string, ready?: boolean): void {
    this.#bump(key);
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined) this.#volatile.add(key);
    this.#host.modified();
    if (ready && entry !== undefined) this.#host.keyReady(this.index, key);
  }

  version(key: string): number {
    let v = this.#versions.get(key);
    if (v === undefined) {
      v = ++KeyspaceDatabase.#versionCounter;
      this.#versions.set(key, v);
    }
    return v;
  }

  /** Forgets a key's WATCH version when nobody watches it any more. */
  forgetVersion(key: string): void {
    this.#versions.delete(key);
  }

  /**
   * Active expiry: examines up to `budget` keys with a TTL (round robin across calls) and removes
   * the expired ones. Returns the number removed.
   */
  expireSome(budget: number): number {
    if (this.#volatile.size === 0) return 0;
    const now = this.#host.now();
    let removed = 0;
    let cursor = this.#volatileCursor ?? this.#volatile.values();
    for (let i = 0; i < budget; i++) {
      let step = cursor.next();
      if (step.done) {
        cursor = this.#volatile.values();
        step = cursor.next();
        if (step.done) break;
      }
      const key = step.value;
      const entry = this.#entries.get(key);
      if (entry === undefined || entry.expiresAt === undefined) {
        this.#volatile.delete(key);
      } else if (entry.expiresAt <= now) {
        this.#expire(key);
        removed++;
      }
    }
    this.#volatileCursor = cursor;
    return removed;
  }

  #expire(key: string): void {
    this.#entries.delete(key);
    this.#volatile.delete(key);
    this.#bump(key);
    this.#host.modified();
    this.#host.expired(this.index, key);
  }

  #bump(key: string): void {
    if (this.#versions.size > 0 && this.#versions.has(key))
      this.#versions.set(key, ++KeyspaceDatabase.#versionCounter);
  }
}
