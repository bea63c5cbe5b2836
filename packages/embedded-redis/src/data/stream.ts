/**
 * The stream value type: entries in id order, consumer groups with their pending entries lists
 * (PELs), and the bookkeeping Redis 7.0 keeps for lag (entries added, max deleted id).
 *
 * Entries live in one array in id order, found by binary search. Deleted and trimmed entries are
 * flagged and skipped; the array is compacted lazily (trimming from the front only moves a head
 * index). Entries are grouped into "nodes" the way Redis groups them into listpacks (at most
 * `stream-node-max-entries` entries or about `stream-node-max-bytes` bytes), because approximate
 * trimming (`MAXLEN ~`, `MINID ~`) removes whole nodes only and XINFO reports their count.
 */

import { type Stored, sameStored, stored } from './string.js';

/** A stream entry id: two unsigned 64-bit parts. */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

/** The largest unsigned 64-bit value. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** `0-0` */
export const ZERO_ID: StreamId = Object.freeze({ ms: 0n, seq: 0n });
/** `18446744073709551615-18446744073709551615`, the id `+` stands for. */
export const MAX_ID: StreamId = Object.freeze({ ms: U64_MAX, seq: U64_MAX });

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/** `ms-seq` */
export function idText(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** The id right after `id`, or undefined after the last possible one. */
export function nextId(id: StreamId): StreamId | undefined {
  if (id.seq !== U64_MAX) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms !== U64_MAX) return { ms: id.ms + 1n, seq: 0n };
  return undefined;
}

/** The id right before `id`, or undefined before `0-0`. */
export function previousId(id: StreamId): StreamId | undefined {
  if (id.seq !== 0n) return { ms: id.ms, seq: id.seq - 1n };
  if (id.ms !== 0n) return { ms: id.ms - 1n, seq: U64_MAX };
  return undefined;
}

/** True for `0-0`. */
export function isZeroId(id: StreamId): boolean {
  return id.ms === 0n && id.seq === 0n;
}

/** Decimal text of an unsigned 64-bit part (via a number when exact: much cheaper than BigInt's). */
function u64Text(value: bigint): string {
  return value <= 9007199254740991n ? String(Number(value)) : String(value);
}

/** The last ms part formatted: consecutive ids mostly share it. */
let lastMs = -1n;
let lastMsText = '';

function msText(ms: bigint): string {
  if (ms !== lastMs) {
    lastMsText = u64Text(ms);
    lastMs = ms;
  }
  return lastMsText;
}

/** One listpack-like node: entries appended together, removed together by approximate trims. */
export class StreamNode {
  /** Live entries. */
  valid = 0;
  /** Entries flagged deleted but still counted by the node (as Redis's listpack does). */
  deleted = 0;
  /** Estimated listpack size in bytes. */
  bytes: number;
  /** Id of the last entry appended (live or not), for `MINID ~`. */
  last: StreamId;
  removed = false;

  constructor(
    /** The node's first entry id (Redis's master id). */
    readonly master: StreamId,
    /** The master entry's field names. */
    readonly masterFields: readonly Stored[],
  ) {
    this.last = master;
    // Header (6) + end (1) + master entry: count, deleted, field count, fields, terminator.
    let bytes = 7 + 2 + 2 + integerSize(masterFields.length) + 2;
    for (const field of masterFields) bytes += elementSize(field);
    this.bytes = bytes;
  }
}

/**
 * One stream entry. `fields` is the flat name, value, name, value … list, each in stored form
 * (a latin1 string when short: see data/string.ts).
 */
export class StreamEntry implements StreamId {
  deleted = false;
  #id: string | undefined;

  constructor(
    readonly ms: bigint,
    readonly seq: bigint,
    readonly fields: readonly Stored[],
    readonly node: StreamNode,
  ) {}

  /** The id as `ms-seq`. */
  get id(): string {
    if (this.#id === undefined) this.#id = `${msText(this.ms)}-${u64Text(this.seq)}`;
    return this.#id;
  }
}

/** A pending entry: delivered to a consumer of a group and not acknowledged yet (a NACK). */
export class PendingEntry implements StreamId {
  constructor(
    readonly ms: bigint,
    readonly seq: bigint,
    readonly id: string,
    /** Undefined only for a moment while XCLAIM FORCE creates it. */
    public consumer: Consumer | undefined,
    /** Server-clock ms of the last delivery. */
    public deliveryTime: number,
    public deliveryCount: number,
  ) {}
}

/**
 * Pending entries keyed by id string, with traversal in id order. The ordered array may hold
 * stale items (acknowledged or moved away): an item is live while the map holds that very object.
 */
export class PendingList {
  readonly #map = new Map<string, PendingEntry>();
  #order: PendingEntry[] = [];
  #head = 0;

  get size(): number {
    return this.#map.size;
  }

  get(id: string): PendingEntry | undefined {
    return this.#map.get(id);
  }

  has(id: string): boolean {
    return this.#map.has(id);
  }

  /** Adds `entry` (replacing any item with its id). */
  add(entry: PendingEntry): void {
    this.#map.set(entry.id, entry);
    const order = this.#order;
    const last = order[order.length - 1];
    if (last === undefined || compareIds(last, entry) < 0) {
      order.push(entry);
      return;
    }
    const at = lowerBound(order, this.#head, entry);
    const there = order[at];
    if (there !== undefined && compareIds(there, entry) === 0) order[at] = entry;
    else if (at === this.#head && this.#head > 0) {
      this.#head -= 1;
      order[this.#head] = entry;
    } else order.splice(at, 0, entry);
  }

  /** Removes the item with `id`; true when there was one. */
  delete(id: string): boolean {
    if (!this.#map.delete(id)) return false;
    const order = this.#order;
    // Keep both ends live so first/last and appends stay cheap.
    while (order.length > this.#head && !this.#live(order[order.length - 1] as PendingEntry)) order.pop();
    while (this.#head < order.length && !this.#live(order[this.#head] as PendingEntry)) this.#head += 1;
    if (this.#map.size === 0) {
      this.#order = [];
      this.#head = 0;
    } else if (order.length - this.#head > 2 * this.#map.size + 32) {
      this.#order = order.slice(this.#head).filter((item) => this.#live(item));
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > order.length) {
      this.#order = order.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }

  #live(item: PendingEntry): boolean {
    return this.#map.get(item.id) === item;
  }

  first(): PendingEntry | undefined {
    for (let i = this.#head; i < this.#order.length; i++) {
      const item = this.#order[i] as PendingEntry;
      if (this.#live(item)) return item;
    }
    return undefined;
  }

  last(): PendingEntry | undefined {
    for (let i = this.#order.length - 1; i >= this.#head; i--) {
      const item = this.#order[i] as PendingEntry;
      if (this.#live(item)) return item;
    }
    return undefined;
  }

  /** Live items with ids ≥ `start`, in id order. Safe against deletions while iterating. */
  *from(start: StreamId): Generator<PendingEntry> {
    const order = this.#order;
    let i = lowerBound(order, this.#head, start);
    // A snapshot of the array: deletions replace #order or only pop/advance past items.
    for (; i < order.length; i++) {
      const item = order[i] as PendingEntry;
      if (this.#live(item)) yield item;
    }
  }

  /** Every live item in id order. */
  values(): Generator<PendingEntry> {
    return this.from(ZERO_ID);
  }
}

/** A consumer of a group. */
export class Consumer {
  readonly pending = new PendingList();
  constructor(
    readonly name: string,
    /** Server-clock ms the consumer was last seen (created, read, claimed). */
    public seenTime: number,
  ) {}
}

/** `entries-read` unknown. */
export const ENTRIES_READ_UNKNOWN = -1;

/** A consumer group. */
export class ConsumerGroup {
  readonly pending = new PendingList();
  readonly consumers = new Map<string, Consumer>();
  constructor(
    readonly name: string,
    public lastId: StreamId,
    /** Logical read counter, or `ENTRIES_READ_UNKNOWN`. */
    public entriesRead: number,
  ) {}

  /** The consumer `name`, created when missing; either way its seen time becomes `now`. */
  consumer(name: string, now: number): Consumer {
    let consumer = this.consumers.get(name);
    if (consumer === undefined) {
      consumer = new Consumer(name, now);
      this.consumers.set(name, consumer);
    } else consumer.seenTime = now;
    return consumer;
  }

  /** Drops the pending entry `id` from the group and its consumer; true when it was pending. */
  acknowledge(id: string): boolean {
    const entry = this.pending.get(id);
    if (entry === undefined) return false;
    this.pending.delete(id);
    entry.consumer?.pending.delete(id);
    return true;
  }

  /** Consumers sorted by name (Redis keeps them in a radix tree). */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** Node size limits (`stream-node-max-entries`, `stream-node-max-bytes`). */
export interface NodeLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** How a trim chooses entries. */
export type TrimSpec =
  | { readonly strategy: 'maxlen'; readonly maxLen: number; readonly approx: boolean; readonly limit: number }
  | {
      readonly strategy: 'minid';
      readonly minId: StreamId;
      readonly approx: boolean;
      readonly limit: number;
    };

/** A stream value. */
export class Stream {
  #entries: StreamEntry[] = [];
  /** Entries before this index are gone; `#entries[#head]` is live whenever `length > 0`. */
  #head = 0;
  /** Deleted entries at or after `#head`. */
  #dead = 0;
  #nodes: StreamNode[] = [];
  #nodeHead = 0;
  #tail: StreamNode | undefined;

  /** Live entries. */
  length = 0;
  lastId: StreamId = ZERO_ID;
  maxDeletedId: StreamId = ZERO_ID;
  /** Entries ever added (XSETID may set it). */
  entriesAdded = 0;
  readonly groups = new Map<string, ConsumerGroup>();

  /** The first live entry's id, or `0-0` when empty (XINFO's recorded-first-entry-id). */
  get firstId(): StreamId {
    return this.first() ?? ZERO_ID;
  }

  first(): StreamEntry | undefined {
    return this.length > 0 ? this.#entries[this.#head] : undefined;
  }

  last(): StreamEntry | undefined {
    return this.length > 0 ? this.#entries[this.#entries.length - 1] : undefined;
  }

  /** The last live entry's id, or `0-0` (Redis's streamLastValidID). */
  lastValidId(): StreamId {
    return this.last() ?? ZERO_ID;
  }

  /** Number of nodes (XINFO's radix-tree-keys). */
  nodeCount(): number {
    let count = 0;
    for (let i = this.#nodeHead; i < this.#nodes.length; i++)
      if (!(this.#nodes[i] as StreamNode).removed) count += 1;
    return count;
  }

  /**
   * Appends an entry with `id` (which the caller checked is above `lastId`); `fields` must be
   * owned by the stream (copied from the request).
   */
  append(id: StreamId, fields: readonly Stored[], limits: NodeLimits): StreamEntry {
    let node = this.#tail;
    let raw = 0;
    for (const field of fields) raw += field.length;
    if (node !== undefined) {
      if (node.bytes + raw >= limits.maxBytes) node = undefined;
      else if (limits.maxEntries > 0 && node.valid + node.deleted >= limits.maxEntries) node = undefined;
    }
    if (node === undefined) {
      const names: Stored[] = [];
      for (let i = 0; i < fields.length; i += 2) names.push(fields[i] as Stored);
      node = new StreamNode(id, names);
      this.#nodes.push(node);
      this.#tail = node;
    }
    node.bytes += entrySize(node, id, fields);
    node.valid += 1;
    node.last = id;
    const entry = new StreamEntry(id.ms, id.seq, fields, node);
    this.#entries.push(entry);
    this.length += 1;
    this.entriesAdded += 1;
    this.lastId = id;
    return entry;
  }

  /** The live entry with `id`, if any. */
  find(id: StreamId): StreamEntry | undefined {
    const entries = this.#entries;
    const at = lowerBound(entries, this.#head, id);
    const entry = entries[at];
    if (entry === undefined || entry.deleted || entry.ms !== id.ms || entry.seq !== id.seq) return undefined;
    return entry;
  }

  /** True when a live entry has `id`. */
  has(id: StreamId): boolean {
    return this.find(id) !== undefined;
  }

  /**
   * Live entries with `start ≤ id ≤ end`, at most `count` (0: all), ascending or, with `reverse`,
   * descending from `end`.
   */
  range(start: StreamId, end: StreamId, count: number, reverse: boolean): StreamEntry[] {
    const result: StreamEntry[] = [];
    if (this.length === 0 || compareIds(start, end) > 0) return result;
    const entries = this.#entries;
    if (!reverse) {
      for (let i = lowerBound(entries, this.#head, start); i < entries.length; i++) {
        const entry = entries[i] as StreamEntry;
        if (compareIds(entry, end) > 0) break;
        if (entry.deleted) continue;
        result.push(entry);
        if (count > 0 && result.length >= count) break;
      }
    } else {
      const after = nextId(end);
      const top = after === undefined ? entries.length : lowerBound(entries, this.#head, after);
      for (let i = top - 1; i >= this.#head; i--) {
        const entry = entries[i] as StreamEntry;
        if (compareIds(entry, start) < 0) break;
        if (entry.deleted) continue;
        result.push(entry);
        if (count > 0 && result.length >= count) break;
      }
    }
    return result;
  }

  /** Deletes the entry `id` (XDEL); true when it was live. Updates max-deleted-entry-id. */
  delete(id: StreamId): boolean {
    const entry = this.find(id);
    if (entry === undefined) return false;
    this.#kill(entry);
    if (compareIds(id, this.maxDeletedId) > 0) this.maxDeletedId = { ms: id.ms, seq: id.seq };
    this.#tidy();
    return true;
  }

  #kill(entry: StreamEntry): void {
    entry.deleted = true;
    this.length -= 1;
    this.#dead += 1;
    const node = entry.node;
    node.valid -= 1;
    node.deleted += 1;
    if (node.valid === 0) this.#removeNode(node);
  }

  #removeNode(node: StreamNode): void {
    node.removed = true;
    if (this.#tail === node) this.#tail = undefined;
    const nodes = this.#nodes;
    while (this.#nodeHead < nodes.length && (nodes[this.#nodeHead] as StreamNode).removed)
      this.#nodeHead += 1;
    if (this.#nodeHead > 256 && this.#nodeHead * 2 > nodes.length) {
      this.#nodes = nodes.slice(this.#nodeHead);
      this.#nodeHead = 0;
    }
  }

  /** Keeps both array ends live and compacts when mostly dead. */
  #tidy(): void {
    const entries = this.#entries;
    while (entries.length > this.#head && (entries[entries.length - 1] as StreamEntry).deleted) {
      entries.pop();
      this.#dead -= 1;
    }
    while (this.#head < entries.length && (entries[this.#head] as StreamEntry).deleted) {
      this.#head += 1;
      this.#dead -= 1;
    }
    const span = entries.length - this.#head;
    if (span === 0) {
      this.#entries = [];
      this.#head = 0;
      this.#dead = 0;
    } else if (this.#dead > 64 && this.#dead * 2 > span) {
      this.#entries = entries.slice(this.#head).filter((entry) => !entry.deleted);
      this.#head = 0;
      this.#dead = 0;
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Trims as XADD's and XTRIM's MAXLEN/MINID options do (Redis's streamTrim); returns entries removed. */
  trim(spec: TrimSpec): number {
    let removed = 0;
    const nodes = this.#nodes;
    for (let n = this.#nodeHead; n < nodes.length; n++) {
      const node = nodes[n] as StreamNode;
      if (node.removed) continue;
      if (spec.strategy === 'maxlen' && this.length <= spec.maxLen) break;
      const live = node.valid;
      if (spec.limit > 0 && removed + live > spec.limit) break;
      const whole =
        spec.strategy === 'maxlen'
          ? this.length - live >= spec.maxLen
          : compareIds(node.last, spec.minId) < 0;
      if (whole) {
        removed += this.#dropNode(node);
        continue;
      }
      if (spec.approx) break;
      // Trim entries from within this node, then stop.
      const entries = this.#entries;
      for (let i = this.#head; i < entries.length; i++) {
        const entry = entries[i] as StreamEntry;
        if (entry.node !== node) break;
        const stop =
          spec.strategy === 'maxlen' ? this.length <= spec.maxLen : compareIds(entry, spec.minId) >= 0;
        if (stop) break;
        if (entry.deleted) continue;
        entry.deleted = true;
        this.length -= 1;
        this.#dead += 1;
        node.valid -= 1;
        node.deleted += 1;
        removed += 1;
      }
      break;
    }
    this.#tidy();
    return removed;
  }

  /** Removes a whole node's entries; returns how many were live. */
  #dropNode(node: StreamNode): number {
    let removed = 0;
    const entries = this.#entries;
    // Every node before `node` is removed, so its entries start at the head.
    let i = this.#head;
    for (; i < entries.length; i++) {
      const entry = entries[i] as StreamEntry;
      if (entry.node !== node) break;
      if (entry.deleted) this.#dead -= 1;
      else {
        entry.deleted = true;
        this.length -= 1;
        removed += 1;
      }
    }
    this.#head = i;
    node.valid = 0;
    this.#removeNode(node);
    this.#tidy();
    return removed;
  }

  /** True when `[start, end]` may hold a deleted entry (Redis's streamRangeHasTombstones). */
  rangeHasTombstones(start: StreamId, end: StreamId = MAX_ID): boolean {
    if (this.length === 0 || isZeroId(this.maxDeletedId)) return false;
    if (compareIds(this.firstId, this.maxDeletedId) > 0) return false;
    return compareIds(start, this.maxDeletedId) <= 0 && compareIds(this.maxDeletedId, end) <= 0;
  }

  /** The logical counter of `id` when it can be known, else `ENTRIES_READ_UNKNOWN`. */
  estimateDistance(id: StreamId): number {
    if (this.entriesAdded === 0) return 0;
    if (this.length === 0 && compareIds(id, this.lastId) < 1) return this.entriesAdded;
    const toLast = compareIds(id, this.lastId);
    if (toLast === 0) return this.entriesAdded;
    if (toLast > 0) return ENTRIES_READ_UNKNOWN;
    const toFirst = compareIds(id, this.firstId);
    if (isZeroId(this.maxDeletedId) || compareIds(this.maxDeletedId, this.firstId) < 0) {
      if (toFirst < 0) return this.entriesAdded - this.length;
      if (toFirst === 0) return this.entriesAdded - this.length + 1;
    }
    return ENTRIES_READ_UNKNOWN;
  }

  /** A group's lag, or undefined when it cannot be known (XINFO GROUPS). */
  lag(group: ConsumerGroup): number | undefined {
    if (this.entriesAdded === 0) return 0;
    if (group.entriesRead !== ENTRIES_READ_UNKNOWN && !this.rangeHasTombstones(group.lastId)) {
      return this.entriesAdded - group.entriesRead;
    }
    const read = this.estimateDistance(group.lastId);
    return read === ENTRIES_READ_UNKNOWN ? undefined : this.entriesAdded - read;
  }

  /** A deep copy (COPY): entries, nodes, groups, consumers and pending entries. */
  clone(): Stream {
    const copy = new Stream();
    const nodes = new Map<StreamNode, StreamNode>();
    for (let i = this.#nodeHead; i < this.#nodes.length; i++) {
      const node = this.#nodes[i] as StreamNode;
      if (node.removed) continue;
      const twin = new StreamNode(node.master, node.masterFields);
      twin.valid = node.valid;
      twin.deleted = node.deleted;
      twin.bytes = node.bytes;
      twin.last = node.last;
      nodes.set(node, twin);
      copy.#nodes.push(twin);
    }
    if (this.#tail !== undefined) copy.#tail = nodes.get(this.#tail);
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i] as StreamEntry;
      const node = nodes.get(entry.node);
      if (node === undefined) continue;
      const twin = new StreamEntry(entry.ms, entry.seq, entry.fields, node);
      twin.deleted = entry.deleted;
      if (twin.deleted) copy.#dead += 1;
      copy.#entries.push(twin);
    }
    copy.length = this.length;
    copy.lastId = this.lastId;
    copy.maxDeletedId = this.maxDeletedId;
    copy.entriesAdded = this.entriesAdded;
    for (const group of this.groups.values()) {
      const twin = new ConsumerGroup(group.name, group.lastId, group.entriesRead);
      for (const consumer of group.consumers.values()) {
        twin.consumers.set(consumer.name, new Consumer(consumer.name, consumer.seenTime));
      }
      for (const item of group.pending.values()) {
        const owner = item.consumer === undefined ? undefined : twin.consumers.get(item.consumer.name);
        const pending = new PendingEntry(
          item.ms,
          item.seq,
          item.id,
          owner,
          item.deliveryTime,
          item.deliveryCount,
        );
        twin.pending.add(pending);
        owner?.pending.add(pending);
      }
      copy.groups.set(group.name, twin);
    }
    return copy;
  }

  /**
   * Commands that rebuild this stream under `key` (for an AOF rewrite), as Redis's
   * rewriteStreamObject emits them: XADD per entry (or an empty stream by `MAXLEN 0`), XSETID
   * with the counters, then per group XGROUP CREATE … ENTRIESREAD, XCLAIM … FORCE JUSTID per
   * pending entry and XGROUP CREATECONSUMER for consumers without pending entries.
   */
  rewriteCommands(key: Buffer): Buffer[][] {
    const b = (text: string): Buffer => Buffer.from(text, 'latin1');
    const commands: Buffer[][] = [];
    const live = this.range(ZERO_ID, MAX_ID, 0, false);
    if (live.length === 0) {
      commands.push([b('XADD'), key, b('MAXLEN'), b('0'), b('0-1'), b('x'), b('y')]);
    }
    for (const entry of live) commands.push([b('XADD'), key, b(entry.id), ...entry.fields.map(stored)]);
    commands.push([
      b('XSETID'),
      key,
      b(idText(this.lastId)),
      b('ENTRIESADDED'),
      b(String(this.entriesAdded)),
      b('MAXDELETEDID'),
      b(idText(this.maxDeletedId)),
    ]);
    for (const group of this.groups.values()) {
      const name = b(group.name);
      commands.push([
        b('XGROUP'),
        b('CREATE'),
        key,
        name,
        b(idText(group.lastId)),
        b('ENTRIESREAD'),
        b(String(group.entriesRead)),
      ]);
      for (const item of group.pending.values()) {
        commands.push([
          b('XCLAIM'),
          key,
          name,
          b(item.consumer?.name ?? ''),
          b('0'),
          b(item.id),
          b('TIME'),
          b(String(item.deliveryTime)),
          b('RETRYCOUNT'),
          b(String(item.deliveryCount)),
          b('JUSTID'),
          b('FORCE'),
        ]);
      }
      for (const consumer of group.consumers.values()) {
        if (consumer.pending.size === 0) {
          commands.push([b('XGROUP'), b('CREATECONSUMER'), key, name, b(consumer.name)]);
        }
      }
    }
    return commands;
  }

  /** Groups sorted by name. */
  sortedGroups(): ConsumerGroup[] {
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** First index ≥ `from` whose id is ≥ `id` in an id-sorted array. */
function lowerBound(items: readonly StreamId[], from: number, id: StreamId): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = items[mid] as StreamId;
    if (item.ms < id.ms || (item.ms === id.ms && item.seq < id.seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Listpack size estimates (for node boundaries, as Redis's stream-node-max-bytes applies them).

const INT_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/;

function integerSize(value: number | bigint): number {
  // Every bound is far below 2^53, so the (monotonic) conversion to a number classifies exactly.
  const v = typeof value === 'bigint' ? Number(value) : value;
  let size: number;
  if (v >= 0 && v <= 127) size = 1;
  else if (v >= -4096 && v <= 4095) size = 2;
  else if (v >= -32768 && v <= 32767) size = 3;
  else if (v >= -8388608 && v <= 8388607) size = 4;
  else if (v >= -2147483648 && v <= 2147483647) size = 5;
  else size = 9;
  return size + 1;
}

function elementSize(value: Stored): number {
  if (value.length <= 20 && value.length > 0) {
    const text = typeof value === 'string' ? value : value.toString('latin1');
    if (INT_TEXT.test(text)) {
      if (text.length < 19) return integerSize(Number(text));
      const v = BigInt(text);
      if (v >= -(2n ** 63n) && v < 2n ** 63n) return integerSize(v);
    }
  }
  const len = value.length;
  const header = len < 64 ? 1 : len < 4096 ? 2 : 5;
  const total = header + len;
  const back = total < 128 ? 1 : total < 16384 ? 2 : total < 2097152 ? 3 : total < 268435456 ? 4 : 5;
  return total + back;
}

function entrySize(node: StreamNode, id: StreamId, fields: readonly Stored[]): number {
  let size = 2 + integerSize(id.ms - node.master.ms) + integerSize(id.seq - node.master.seq);
  const names = node.masterFields;
  let same = names.length * 2 === fields.length;
  for (let i = 0; same && i < names.length; i++)
    same = sameStored(names[i] as Stored, fields[i * 2] as Stored);
  if (same) {
    for (let i = 1; i < fields.length; i += 2) size += elementSize(fields[i] as Stored);
    size += integerSize(names.length + 3);
  } else {
    size += integerSize(fields.length / 2);
    for (const field of fields) size += elementSize(field);
    size += integerSize(fields.length + 4);
  }
  return size;
}
