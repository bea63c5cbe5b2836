import {
  AsyncQueue,
  type Capabilities,
  ClosedError,
  ConfigError,
  checkInteger,
  checkName,
  checkNumber,
  checkOneOf,
  checkSubject,
  GuardedDelivery,
  Header,
  type Headers,
  newConsumerName,
  newMessageId,
  type OutgoingMessage,
  type Publisher,
  type PublishResult,
  type RawDelivery,
  type ReadOptions,
  rejectUnknownOptions,
  type Settlement,
  type StoredMessage,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  TransportError,
} from '@relaybus/core';
import { type Entry, type Group, type GroupConsumer, SubjectState } from './store.js';

/** Options of `MemoryTransport`. */
export interface MemoryTransportOptions {
  /**
   * How long a delivery left unsettled by a closed subscription stays pending (an ack may still
   * arrive) before it goes back to its group. Deliveries held by an open subscription never time out.
   */
  readonly redeliveryIdleMs?: number;
  /** Messages kept per subject for `history()` and for groups that start from the beginning. */
  readonly historyLimit?: number;
  /** Dead letters kept per subject. */
  readonly deadLetterLimit?: number;
  /** Default prefetch of a subscription. */
  readonly prefetch?: number;
  /** Share state with other transports (like clients of one server). Default: a store of its own. */
  readonly store?: MemoryStore;
}

/** Defaults of `MemoryTransportOptions`. */
export const DEFAULT_MEMORY_OPTIONS = {
  redeliveryIdleMs: 30_000,
  historyLimit: 10_000,
  deadLetterLimit: 10_000,
  prefetch: 64,
} as const;

/** What the in-memory transport guarantees (checked by the conformance suite). */
export const MEMORY_CAPABILITIES: Capabilities = {
  persistent: false,
  acknowledgements: true,
  requeue: true,
  delayedRequeue: true,
  delayedPublish: true,
  deadLetter: true,
  competingConsumers: true,
  fanOutGroups: true,
  ordering: 'per-key',
  history: true,
  redeliveryAfterCrash: true,
};

/**
 * The state behind one or more memory transports: subjects, groups, pending deliveries, history
 * and dead letters. Transports sharing a store behave like clients of one server.
 */
export class MemoryStore {
  readonly #subjects = new Map<string, SubjectState>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly historyLimit: number;
  readonly deadLetterLimit: number;

  constructor(options: { historyLimit?: number; deadLetterLimit?: number } = {}) {
    this.historyLimit = checkInteger(
      'historyLimit',
      options.historyLimit ?? DEFAULT_MEMORY_OPTIONS.historyLimit,
      0,
    );
    this.deadLetterLimit = checkInteger(
      'deadLetterLimit',
      options.deadLetterLimit ?? DEFAULT_MEMORY_OPTIONS.deadLetterLimit,
      0,
    );
  }

  /** The state of a subject, created on first use. */
  subject(name: string): SubjectState {
    let state = this.#subjects.get(name);
    if (state === undefined) {
      state = new SubjectState(name, this);
      this.#subjects.set(name, state);
    }
    return state;
  }

  /** Runs `fn` after `delayMs` unless the store is cleared first. */
  later(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Stops every timer (delayed publishes, delayed retries, orphan timeouts). */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const state of this.#subjects.values()) state.close();
    this.#subjects.clear();
  }
}

const OPTION_KEYS = ['redeliveryIdleMs', 'historyLimit', 'deadLetterLimit', 'prefetch', 'store'];
const SUBSCRIBE_KEYS = ['group', 'consumer', 'prefetch', 'maxDeliveries', 'startFrom', 'signal'];

/**
 * The in-process transport: the reference implementation of the relaybus contract and the
 * embedded default for examples and tests. Nothing leaves the process and nothing survives it.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly capabilities = MEMORY_CAPABILITIES;
  readonly #store: MemoryStore;
  readonly #ownsStore: boolean;
  readonly #redeliveryIdleMs: number;
  readonly #prefetch: number;
  readonly #subscriptions = new Set<MemorySubscription>();
  #closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    rejectUnknownOptions('MemoryTransport', options, OPTION_KEYS);
    this.#redeliveryIdleMs = checkInteger(
      'redeliveryIdleMs',
      options.redeliveryIdleMs ?? DEFAULT_MEMORY_OPTIONS.redeliveryIdleMs,
      0,
    );
    this.#prefetch = checkInteger('prefetch', options.prefetch ?? DEFAULT_MEMORY_OPTIONS.prefetch, 1);
    if (options.store !== undefined && !(options.store instanceof MemoryStore)) {
      throw new ConfigError('store', 'must be a MemoryStore');
    }
    this.#ownsStore = options.store === undefined;
    this.#store =
      options.store ??
      new MemoryStore({ historyLimit: options.historyLimit, deadLetterLimit: options.deadLetterLimit });
  }

  async connect(): Promise<void> {
    this.#assertOpen();
  }

  publisher(): Publisher {
    return {
      publish: async (subject, message) => {
        this.#assertOpen();
        return this.#publish(checkSubject(subject), message);
      },
      publishMany: async (subject, messages) => {
        this.#assertOpen();
        checkSubject(subject);
        return messages.map((message) => this.#publish(subject, message));
      },
    };
  }

  async subscribe(subject: string, options: SubscribeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    checkSubject(subject);
    rejectUnknownOptions('subscribe', options, SUBSCRIBE_KEYS);
    const groupName = checkName('group', options.group ?? 'default');
    const startFrom = checkOneOf('startFrom', options.startFrom ?? 'new', ['new', 'beginning'] as const);
    const prefetch = checkInteger('prefetch', options.prefetch ?? this.#prefetch, 1);
    const maxDeliveries =
      options.maxDeliveries === undefined
        ? undefined
        : checkInteger('maxDeliveries', options.maxDeliveries, 1);
    const consumer = checkName('consumer', options.consumer ?? newConsumerName());
    const group = this.#store.subject(subject).group(groupName, startFrom);
    const subscription = new MemorySubscription(
      subject,
      group,
      consumer,
      prefetch,
      maxDeliveries,
      this.#redeliveryIdleMs,
      () => this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    group.addConsumer(subscription);
    if (options.signal !== undefined) {
      if (options.signal.aborted) {
        await subscription.close();
        return subscription;
      }
      options.signal.addEventListener('abort', () => void subscription.close(), { once: true });
    }
    group.dispatch();
    return subscription;
  }

  async history(subject: string, options: ReadOptions = {}): Promise<StoredMessage[]> {
    this.#assertOpen();
    return this.#store.subject(checkSubject(subject)).newest('history', readLimit(options));
  }

  async deadLetters(subject: string, options: ReadOptions = {}): Promise<StoredMessage[]> {
    this.#assertOpen();
    return this.#store.subject(checkSubject(subject)).newest('deadLetters', readLimit(options));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    if (this.#ownsStore) this.#store.clear();
  }

  #publish(subject: string, message: OutgoingMessage): PublishResult {
    if (!(message?.payload instanceof Uint8Array)) {
      throw new ConfigError('message.payload', 'must be a Uint8Array');
    }
    const id = message.id ?? newMessageId();
    const headers: Headers = { ...message.headers };
    if (message.key !== undefined) headers[Header.partitionKey] = message.key;
    // Copy, as a server would: later changes to the caller's buffer must not change the message.
    const stored: StoredMessage = { id, subject, payload: message.payload.slice(), headers };
    const state = this.#store.subject(subject);
    const delayMs = checkNumber('message.delayMs', message.delayMs ?? 0, 0);
    if (delayMs > 0) {
      this.#store.later(delayMs, () => state.append(stored));
    } else {
      state.append(stored);
    }
    return { id };
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('MemoryTransport');
  }
}

function readLimit(options: ReadOptions): number {
  return checkInteger('limit', options.limit ?? 100, 1);
}

/** One consumer of a group: a bounded buffer of deliveries, iterated by the application. */
class MemorySubscription implements Subscription, GroupConsumer {
  readonly #queue = new AsyncQueue<RawDelivery>();
  /** Entries handed to this consumer and not settled (buffered or pulled). */
  readonly #held = new Map<Entry, RawDelivery>();
  #closed = false;

  constructor(
    readonly subject: string,
    readonly groupState: Group,
    readonly name: string,
    readonly prefetch: number,
    readonly maxDeliveries: number | undefined,
    readonly redeliveryIdleMs: number,
    readonly onClose: () => void,
  ) {}

  get group(): string {
    return this.groupState.name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  hasCapacity(): boolean {
    return !this.#closed && this.#held.size < this.prefetch;
  }

  deliver(entry: Entry): void {
    const deliveryCount = entry.deliveryCount;
    const delivery = new GuardedDelivery(
      {
        id: entry.id,
        subject: entry.subject,
        payload: entry.payload,
        headers: entry.headers,
        deliveryCount,
      },
      async (settlement) => this.#settle(entry, deliveryCount, settlement),
    );
    this.#held.set(entry, delivery);
    this.#queue.push(delivery);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.groupState.removeConsumer(this);
    const unseen = new Set(this.#queue.close());
    // Walk in reverse so that unseen entries return to the head of the group in their order.
    for (const [entry, delivery] of [...this.#held].reverse()) {
      if (unseen.has(delivery)) this.groupState.returnUnseen(entry);
      else this.groupState.orphan(entry, this.redeliveryIdleMs);
    }
    this.#held.clear();
    this.onClose();
    this.groupState.dispatch();
  }

  [Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Takes a buffered delivery without waiting, or `undefined` when none is buffered. */
  poll(): RawDelivery | undefined {
    return this.#queue.poll();
  }

  #settle(entry: Entry, deliveryCount: number, settlement: Settlement): void {
    this.#held.delete(entry);
    if (!this.groupState.isPending(entry, deliveryCount)) {
      // This consumer closed, the idle time passed and the message went back to the group: it
      // will be delivered again, so settling this stale delivery must not pretend to succeed.
      throw new TransportError(
        `delivery ${entry.id} went back to group "${this.group}" after its consumer closed; it will be redelivered`,
      );
    }
    switch (settlement.kind) {
      case 'ack':
        this.groupState.ack(entry);
        break;
      case 'requeue':
        this.groupState.requeue(entry, settlement.delayMs);
        break;
      case 'dead-letter':
        this.groupState.deadLetter(entry, settlement.reason);
        break;
    }
  }
}
