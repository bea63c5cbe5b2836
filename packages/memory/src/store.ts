import { Header, type Headers, type StoredMessage } from '@relaybus/core';

/** One message as queued for one group. */
export interface Entry {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
  readonly key: string | undefined;
  /** Deliveries so far. */
  deliveryCount: number;
}

/** A consumer of a group, as the store sees it. */
export interface GroupConsumer {
  readonly name: string;
  readonly maxDeliveries: number | undefined;
  /** True while the consumer can take another delivery (below its prefetch). */
  hasCapacity(): boolean;
  /** Hands an entry to the consumer. */
  deliver(entry: Entry): void;
}

/** A pending entry: handed to `owner` (or orphaned by a closed consumer) and not yet settled. */
interface Pending {
  readonly entry: Entry;
  owner: GroupConsumer | undefined;
  orphanTimer: NodeJS.Timeout | undefined;
}

/**
 * A consumer group of one subject: the entries it still has to deliver, those delivered and not
 * settled, and its consumers. Entries with a key are handed out one at a time per key, so a group
 * sees each key's messages in publish order.
 */
export class Group {
  readonly #ready: Entry[] = [];
  readonly #pending = new Map<Entry, Pending>();
  readonly #busyKeys = new Set<string>();
  readonly #consumers: GroupConsumer[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #immediates = new Set<NodeJS.Immediate>();
  #next = 0;
  #dispatching = false;

  constructor(
    readonly name: string,
    readonly subject: SubjectState,
  ) {}

  get consumerCount(): number {
    return this.#consumers.length;
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  addConsumer(consumer: GroupConsumer): void {
    this.#consumers.push(consumer);
  }

  removeConsumer(consumer: GroupConsumer): void {
    const index = this.#consumers.indexOf(consumer);
    if (index >= 0) this.#consumers.splice(index, 1);
  }

  enqueue(entry: Entry): void {
    this.#ready.push(entry);
    this.dispatch();
  }

  /** Settles as done. */
  ack(entry: Entry): void {
    this.#release(entry);
    this.dispatch();
  }

  /** Back to the group: at the head now (keeps key order), or at the tail after `delayMs`. */
  requeue(entry: Entry, delayMs: number): void {
    this.#release(entry);
    if (delayMs <= 0) {
      this.#ready.unshift(entry);
      // Dispatch on the next turn of the event loop: a consumer that nacks every delivery at once
      // must not spin in microtasks and starve timers and I/O.
      const immediate = setImmediate(() => {
        this.#immediates.delete(immediate);
        this.dispatch();
      });
      this.#immediates.add(immediate);
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.enqueue(entry);
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Gives up on the entry and stores it as a dead letter of the subject. */
  deadLetter(entry: Entry, reason: string): void {
    this.#release(entry);
    this.subject.addDeadLetter(entry, reason);
    this.dispatch();
  }

  /** An entry handed to a consumer that never saw it (closed before it was pulled): back now. */
  returnUnseen(entry: Entry): void {
    this.#release(entry);
    entry.deliveryCount--;
    this.#ready.unshift(entry);
  }

  /**
   * The consumer holding `entry` went away without settling it: the entry stays pending (an ack
   * may still arrive) and goes back to the group after `idleMs`.
   */
  orphan(entry: Entry, idleMs: number): void {
    const pending = this.#pending.get(entry);
    if (pending === undefined) return;
    pending.owner = undefined;
    pending.orphanTimer = setTimeout(() => {
      pending.orphanTimer = undefined;
      if (this.#pending.get(entry) !== pending) return;
      this.#release(entry);
      this.#ready.unshift(entry);
      this.dispatch();
    }, idleMs);
  }

  /** True while `entry` is pending from its delivery number `deliveryCount` (not handed out again since). */
  isPending(entry: Entry, deliveryCount: number): boolean {
    return this.#pending.has(entry) && entry.deliveryCount === deliveryCount;
  }

  /** Hands ready entries to consumers with capacity, round robin, respecting key order. */
  dispatch(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.#ready.length > 0) {
        const consumer = this.#pickConsumer();
        if (consumer === undefined) return;
        const index = this.#busyKeys.size === 0 ? 0 : this.#firstDispatchable();
        if (index < 0) return;
        const entry = this.#ready[index] as Entry;
        this.#ready.splice(index, 1);
        if (consumer.maxDeliveries !== undefined && entry.deliveryCount >= consumer.maxDeliveries) {
          this.subject.addDeadLetter(entry, 'max-deliveries');
          continue;
        }
        entry.deliveryCount++;
        this.#pending.set(entry, { entry, owner: consumer, orphanTimer: undefined });
        if (entry.key !== undefined) this.#busyKeys.add(entry.key);
        consumer.deliver(entry);
      }
    } finally {
      this.#dispatching = false;
    }
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const immediate of this.#immediates) clearImmediate(immediate);
    this.#immediates.clear();
    for (const pending of this.#pending.values()) clearTimeout(pending.orphanTimer);
  }

  #firstDispatchable(): number {
    for (let i = 0; i < this.#ready.length; i++) {
      const key = (this.#ready[i] as Entry).key;
      if (key === undefined || !this.#busyKeys.has(key)) return i;
    }
    return -1;
  }

  #pickConsumer(): GroupConsumer | undefined {
    const count = this.#consumers.length;
    for (let i = 0; i < count; i++) {
      const consumer = this.#consumers[(this.#next + i) % count] as GroupConsumer;
      if (consumer.hasCapacity()) {
        this.#next = (this.#next + i + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  #release(entry: Entry): void {
    const pending = this.#pending.get(entry);
    if (pending === undefined) return;
    clearTimeout(pending.orphanTimer);
    this.#pending.delete(entry);
    if (entry.key !== undefined) this.#busyKeys.delete(entry.key);
  }
}

/** Retention limits of a store. */
export interface StoreLimits {
  readonly historyLimit: number;
  readonly deadLetterLimit: number;
}

/** A subject: its retained history, its dead letters and its groups. */
export class SubjectState {
  readonly groups = new Map<string, Group>();
  readonly #history: StoredMessage[] = [];
  readonly #deadLetters: StoredMessage[] = [];

  constructor(
    readonly name: string,
    readonly limits: StoreLimits,
  ) {}

  group(name: string, startFrom: 'new' | 'beginning'): Group {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new Group(name, this);
      this.groups.set(name, group);
      if (startFrom === 'beginning') {
        for (const message of this.#history) group.enqueue(toEntry(message));
      }
    }
    return group;
  }

  append(message: StoredMessage): void {
    this.#history.push(message);
    if (this.#history.length > this.limits.historyLimit) this.#history.shift();
    for (const group of this.groups.values()) group.enqueue(toEntry(message));
  }

  addDeadLetter(entry: Entry, reason: string): void {
    this.#deadLetters.push({
      id: entry.id,
      subject: entry.subject,
      payload: entry.payload,
      headers: {
        ...entry.headers,
        [Header.deadLetterReason]: reason,
        [Header.originalSubject]: entry.subject,
        [Header.originalId]: entry.id,
        [Header.deliveryCount]: String(entry.deliveryCount),
      },
    });
    if (this.#deadLetters.length > this.limits.deadLetterLimit) this.#deadLetters.shift();
  }

  newest(which: 'history' | 'deadLetters', limit: number): StoredMessage[] {
    const list = which === 'history' ? this.#history : this.#deadLetters;
    return list.slice(Math.max(0, list.length - limit)).reverse();
  }

  close(): void {
    for (const group of this.groups.values()) group.close();
  }
}

function toEntry(message: StoredMessage): Entry {
  return {
    id: message.id,
    subject: message.subject,
    payload: message.payload,
    headers: message.headers,
    key: message.headers[Header.partitionKey],
    deliveryCount: 0,
  };
}
