import {
  AlreadySettledError,
  type Capabilities,
  type Headers,
  type NackOptions,
  type OutgoingMessage,
  type Publisher,
  type PublishResult,
  type RawDelivery,
  type ReadOptions,
  type StoredMessage,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  TransportError,
  UnsupportedError,
} from '@relaybus/core';

/**
 * Deliberately broken transports: a delegating wrapper around a working transport plus one fault
 * each. The self-test proves that the scenarios meant to catch a fault do fail on it.
 */

/** How one delivery is altered on its way to the application. */
export interface DeliveryFault {
  headers?: (inner: RawDelivery) => Headers;
  deliveryCount?: (inner: RawDelivery) => number;
  ack?: (inner: RawDelivery) => Promise<void>;
  nack?: (inner: RawDelivery, options: NackOptions | undefined) => Promise<void>;
  /** False: settling twice resolves silently instead of rejecting. Default true. */
  guarded?: boolean;
}

/** A delivery that forwards to the inner one, with a fault applied. */
export class FaultyDelivery implements RawDelivery {
  #settled = false;

  constructor(
    readonly inner: RawDelivery,
    readonly fault: DeliveryFault = {},
  ) {}

  get id(): string {
    return this.inner.id;
  }
  get subject(): string {
    return this.inner.subject;
  }
  get payload(): Uint8Array {
    return this.inner.payload;
  }
  get headers(): Headers {
    return this.fault.headers?.(this.inner) ?? this.inner.headers;
  }
  get deliveryCount(): number {
    return this.fault.deliveryCount?.(this.inner) ?? this.inner.deliveryCount;
  }
  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }
  get settled(): boolean {
    return this.#settled;
  }

  async ack(): Promise<void> {
    if (this.#alreadySettled('ack')) return;
    await (this.fault.ack ?? ((inner) => inner.ack()))(this.inner);
  }

  async nack(options?: NackOptions): Promise<void> {
    if (this.#alreadySettled('nack')) return;
    await (this.fault.nack ?? ((inner, o) => inner.nack(o)))(this.inner, options);
  }

  /** True when the call must be ignored (unguarded); throws when guarded. */
  #alreadySettled(kind: string): boolean {
    if (!this.#settled) {
      this.#settled = true;
      return false;
    }
    if (this.fault.guarded === false) return true;
    throw new AlreadySettledError(this.id, kind);
  }
}

/** The faults a `FaultyTransport` can have; every one is optional. */
export interface TransportFault {
  capabilities?: Partial<Capabilities>;
  /** Rewrites an outgoing message; `undefined` drops it (publish still reports success). */
  outgoing?: (subject: string, message: OutgoingMessage) => OutgoingMessage | undefined;
  /** Turns one inner delivery into what the application sees. */
  incoming?: (delivery: RawDelivery) => RawDelivery[];
  /** Rewrites subscribe options. */
  subscribeOptions?: (options: SubscribeOptions | undefined) => SubscribeOptions | undefined;
  /** Runs before a subscription closes, with the deliveries it received and did not settle. */
  beforeClose?: (unsettled: RawDelivery[]) => Promise<void>;
  /** The for-await loop never ends, not even after close. */
  iterationNeverEnds?: boolean;
  /** close() ends the subscriptions but leaves the transport usable. */
  closeKeepsTransportOpen?: boolean;
  /** Publishes also go to every subscribed subject that is a prefix of the subject. */
  prefixMatching?: boolean;
  /** Rewrites history(). */
  history?: (messages: StoredMessage[]) => StoredMessage[];
  /** nack({ requeue: true }) hands the message out again at once, on the microtask queue. */
  inlineRequeue?: boolean;
  /** Waits for one turn of the event loop before handing out each delivery. */
  yieldBeforeEach?: boolean;
  /** Gives the subscription a poll() that takes from the inner subscription this way. */
  poll?: (inner: Subscription) => RawDelivery | undefined;
}

class FaultySubscription implements Subscription {
  readonly #received: RawDelivery[] = [];

  constructor(
    readonly inner: Subscription,
    readonly fault: TransportFault,
  ) {}

  get subject(): string {
    return this.inner.subject;
  }
  get group(): string {
    return this.inner.group;
  }
  get closed(): boolean {
    return this.inner.closed;
  }

  get poll(): (() => RawDelivery | undefined) | undefined {
    const poll = this.fault.poll;
    if (poll === undefined) return undefined;
    return () => {
      const delivery = poll(this.inner);
      if (delivery !== undefined) this.#received.push(delivery);
      return delivery;
    };
  }

  async close(): Promise<void> {
    if (!this.inner.closed) {
      await this.fault.beforeClose?.(this.#received.filter((delivery) => !delivery.settled));
    }
    await this.inner.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    for await (const delivery of this.inner) {
      this.#received.push(delivery);
      if (this.fault.yieldBeforeEach) await new Promise((resolve) => setImmediate(resolve));
      if (this.fault.inlineRequeue) yield* inlineRequeues(delivery);
      else if (this.fault.incoming === undefined) yield delivery;
      else yield* this.fault.incoming(delivery);
    }
    if (this.fault.iterationNeverEnds) await new Promise<never>(() => undefined);
  }
}

/**
 * Hands `inner` out, and again (count + 1) every time it is nacked with requeue, without ever
 * leaving the microtask queue: the inner delivery stays held until a final ack or nack.
 */
function* inlineRequeues(inner: RawDelivery): Generator<RawDelivery> {
  for (let count = inner.deliveryCount; ; count++) {
    let requeued = false;
    const delivery = new FaultyDelivery(inner, {
      deliveryCount: () => count,
      nack: async (original, options) => {
        if (options?.requeue ?? true) requeued = true;
        else await original.nack(options);
      },
    });
    yield delivery;
    if (!requeued) return;
  }
}

/** A transport that forwards to `inner`, with `fault` applied. */
export class FaultyTransport implements Transport {
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly #subscriptions = new Set<FaultySubscription>();
  readonly #subjects = new Set<string>();
  #closed = false;

  constructor(
    readonly inner: Transport,
    readonly fault: TransportFault = {},
    name = 'faulty',
  ) {
    this.name = `${name}:${inner.name}`;
    this.capabilities = { ...inner.capabilities, ...fault.capabilities };
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  publisher(): Publisher {
    const inner = this.inner.publisher();
    const send = async (subject: string, message: OutgoingMessage): Promise<PublishResult> => {
      const changed = this.fault.outgoing === undefined ? message : this.fault.outgoing(subject, message);
      if (changed === undefined) return { id: message.id ?? `dropped-${Math.random()}` };
      if (this.fault.prefixMatching) {
        for (const other of this.#subjects) {
          if (other !== subject && subject.startsWith(other)) await inner.publish(other, changed);
        }
      }
      return inner.publish(subject, changed);
    };
    return {
      publish: send,
      publishMany: async (subject, messages) => {
        const results: PublishResult[] = [];
        for (const message of messages) results.push(await send(subject, message));
        return results;
      },
    };
  }

  async subscribe(subject: string, options?: SubscribeOptions): Promise<Subscription> {
    const changed =
      this.fault.subscribeOptions === undefined ? options : this.fault.subscribeOptions(options);
    const subscription = new FaultySubscription(await this.inner.subscribe(subject, changed), this.fault);
    this.#subscriptions.add(subscription);
    this.#subjects.add(subject);
    return subscription;
  }

  async history(subject: string, options?: ReadOptions): Promise<StoredMessage[]> {
    if (this.inner.history === undefined) throw new UnsupportedError('no history');
    const messages = await this.inner.history(subject, options);
    return this.fault.history === undefined ? messages : this.fault.history(messages);
  }

  deadLetters(subject: string, options?: ReadOptions): Promise<StoredMessage[]> {
    if (this.inner.deadLetters === undefined) throw new UnsupportedError('no dead letters');
    return this.inner.deadLetters(subject, options);
  }

  async close(): Promise<void> {
    if (this.fault.closeKeepsTransportOpen) {
      if (this.#closed) return;
      this.#closed = true;
      await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
      return;
    }
    // Close the wrapped subscriptions first so that close-time faults (beforeClose) apply too.
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.inner.close();
  }

  /** Really closes the inner transport (for test cleanup of `closeKeepsTransportOpen`). */
  closeInner(): Promise<void> {
    return this.inner.close();
  }
}

const noop = async (): Promise<void> => undefined;

/** A named fault with the scenarios that must catch it. */
export interface BrokenVariant {
  readonly name: string;
  readonly description: string;
  /** Scenario id → what its failure message must say (so it fails for this fault, not by accident). */
  readonly caughtBy: Readonly<Record<string, RegExp>>;
  /** Wraps a fresh working transport. `idleMs` is the redelivery idle time the suite is told. */
  readonly wrap: (inner: Transport, idleMs: number) => FaultyTransport;
}

function variant(
  name: string,
  description: string,
  caughtBy: Readonly<Record<string, RegExp>>,
  fault: TransportFault | ((idleMs: number) => TransportFault),
): BrokenVariant {
  return {
    name,
    description,
    caughtBy,
    wrap: (inner, idleMs) =>
      new FaultyTransport(inner, typeof fault === 'function' ? fault(idleMs) : fault, name),
  };
}

function withDelivery(fault: DeliveryFault): TransportFault {
  return { incoming: (delivery) => [new FaultyDelivery(delivery, fault)] };
}

/** Steals deliveries held longer than the idle time, like a reclaimer that ignores live consumers. */
function stealsHeld(idleMs: number): TransportFault {
  return {
    incoming: (delivery) => {
      let stolen = false;
      const timer = setTimeout(() => {
        if (delivery.settled) return;
        stolen = true;
        void delivery.nack({ requeue: true }).catch(() => undefined);
      }, idleMs);
      timer.unref();
      const settleUnlessStolen = (settle: () => Promise<void>) => {
        clearTimeout(timer);
        return stolen ? Promise.resolve() : settle();
      };
      return [
        new FaultyDelivery(delivery, {
          ack: (inner) => settleUnlessStolen(() => inner.ack()),
          nack: (inner, options) => settleUnlessStolen(() => inner.nack(options)),
        }),
      ];
    },
  };
}

function withoutDelay<T extends { readonly delayMs?: number }>(options: T): Omit<T, 'delayMs'> {
  const { delayMs: _delayMs, ...rest } = options;
  return rest;
}

let dropCounter = 0;

const TIMEOUT = /timed out/;

/** Every broken transport of the self-test, with the scenarios that must catch it and how. */
export const BROKEN_VARIANTS: readonly BrokenVariant[] = [
  variant(
    'nack-requeue-acks',
    'nack({ requeue: true }) acks instead',
    {
      'nack-requeue': /delivered 3 times/,
      'nack-requeue-delay': /delayed message comes back/,
      'max-deliveries': /among the dead letters/,
      'broker-retry': /retried/,
      'broker-retry-max-deliveries': /among the dead letters/,
    },
    withDelivery({
      nack: (inner, options) => ((options?.requeue ?? true) ? inner.ack() : inner.nack(options)),
    }),
  ),
  variant(
    'drops-headers',
    'deliveries carry no headers',
    {
      'round-trip-headers': /header "x-app-trace"/,
      'content-type-header': /content type/,
      'broker-round-trip': /every message is handled/,
    },
    withDelivery({ headers: () => ({}) }),
  ),
  variant(
    'delivers-twice',
    'every delivery is handed to the application twice',
    {
      'many-publishers-subscribers': /duplicate deliveries/,
      // Twice the work may also run past the deadline on a loaded machine: either way it fails.
      'competing-consumers': /delivered twice to one consumer|received all/,
      'fan-out-groups': /duplicate deliveries/,
      'publish-many': /acked at once/,
      'message-id': /one delivery per message/,
    },
    {
      incoming: (delivery) => [
        new FaultyDelivery(delivery),
        new FaultyDelivery(delivery, { ack: noop, nack: noop }),
      ],
    },
  ),
  variant(
    'ack-does-nothing',
    'ack() resolves but records nothing, so acked messages come back',
    {
      'ack-removes': /acked messages delivered again/,
      'many-publishers-subscribers': /every group received all/,
      'close-in-flight': /acked after close\(\) that were delivered again/,
    },
    withDelivery({ ack: noop }),
  ),
  variant(
    'ignores-delay',
    'delayMs of publish and nack is ignored',
    {
      'nack-requeue-delay': /between nack and redelivery/,
      'delayed-publish': /between publish and delivery/,
    },
    {
      outgoing: (_subject, message) => withoutDelay(message),
      incoming: (delivery) => [
        new FaultyDelivery(delivery, {
          nack: (inner, options) => inner.nack(options === undefined ? undefined : withoutDelay(options)),
        }),
      ],
    },
  ),
  variant(
    'loses-dead-letter-reason',
    'nack({ requeue: false, reason }) forgets the reason',
    {
      'dead-letter': /dead-letter reason/,
      'broker-decode-failed': /dead-letter reason/,
      'broker-reject': /dead-letter reason/,
    },
    withDelivery({
      nack: (inner, options) => inner.nack(options?.requeue === false ? { requeue: false } : options),
    }),
  ),
  variant(
    'close-acks-unsettled',
    'closing a subscription acks what it did not settle, losing it',
    {
      'crash-redelivery': /unsettled messages reach the next consumer/,
      'close-in-flight': /unsettled control message/,
      'ack-removes': /unsettled control messages are redelivered/,
    },
    {
      beforeClose: async (unsettled) => {
        await Promise.all(unsettled.map((delivery) => delivery.ack().catch(() => undefined)));
      },
    },
  ),
  variant(
    'steals-held',
    'a delivery held longer than the idle time by a live consumer is given to another one',
    { 'held-not-stolen': /given to the other consumer/ },
    stealsHeld,
  ),
  variant(
    'ignores-key',
    'the ordering key is dropped',
    { 'ordering-per-key': /key \w+: position \d+ was message/ },
    { outgoing: (_subject, { key: _key, ...rest }) => rest },
  ),
  variant(
    'replaces-ids',
    'given message ids are replaced by generated ones',
    { 'message-id': /returns the given id/, 'publish-many': /is the given id/ },
    { outgoing: (_subject, { id: _id, ...rest }) => rest },
  ),
  variant(
    'close-keeps-publishing',
    'transport.close() ends subscriptions but publish and subscribe still work',
    { 'publish-after-close': /publish after close resolved/ },
    { closeKeepsTransportOpen: true },
  ),
  variant(
    'unguarded-settlement',
    'a second ack or nack resolves silently',
    { 'double-settlement': /ack after ack resolved/ },
    withDelivery({ guarded: false }),
  ),
  variant(
    'truncates-large',
    'payloads are cut to 64 KiB',
    { 'large-payload': /expected 1048576 bytes, got 65536/ },
    { outgoing: (_subject, message) => ({ ...message, payload: message.payload.subarray(0, 64 * 1024) }) },
  ),
  variant(
    'c-string-payload',
    'payloads end at the first zero byte',
    { 'round-trip-body': /payload #0: expected 528 bytes/ },
    {
      outgoing: (_subject, message) => {
        const end = message.payload.indexOf(0);
        return end < 0 ? message : { ...message, payload: message.payload.subarray(0, end) };
      },
    },
  ),
  variant(
    'endless-iteration',
    'a for-await loop never ends, not even after close',
    {
      'close-ends-iteration': /loop ends after close/,
      'close-concurrent': /loop ends/,
      'abort-signal': /loop ends/,
      'publish-after-close': /ends the for-await loop/,
    },
    { iterationNeverEnds: true },
  ),
  variant(
    'count-stuck-at-one',
    'deliveryCount is always 1 (redelivered always false)',
    {
      'nack-requeue': /deliveryCount of the first three/,
      'nack-requeue-delay': /deliveryCount of the delayed redelivery/,
      'crash-redelivery': /deliveryCount of message/,
      'broker-retry': /deliveryCount of each handler call/,
    },
    withDelivery({ deliveryCount: () => 1 }),
  ),
  variant(
    'prefix-subjects',
    'a subscriber of a subject also gets messages of subjects it is a prefix of',
    { 'subject-isolation': /messages of other subjects/ },
    { prefixMatching: true },
  ),
  variant(
    'history-oldest-first',
    'history() is oldest first',
    { history: /newest first/ },
    { history: (messages) => [...messages].reverse() },
  ),
  {
    name: 'requeue-leaks-to-groups',
    description:
      'a requeue appends a copy of the message to the subject, which every group reads (the Streams fault before requeued copies named their group)',
    caughtBy: { 'requeue-stays-in-group': /other group/ },
    wrap: (inner: Transport) =>
      new FaultyTransport(
        inner,
        withDelivery({
          nack: async (delivery, options) => {
            // Leaks once per message (a leaked copy is requeued properly), so the fault is bounded.
            if (!(options?.requeue ?? true) || delivery.headers['x-conformance-leaked'] !== undefined) {
              return delivery.nack(options);
            }
            await inner.publisher().publish(delivery.subject, {
              id: delivery.id,
              payload: delivery.payload,
              headers: { ...delivery.headers, 'x-conformance-leaked': '1' },
              delayMs: options?.delayMs,
            });
            return delivery.ack();
          },
        }),
        'requeue-leaks-to-groups',
      ),
  },
  variant(
    'poll-drops',
    'poll() takes two buffered deliveries and hands out only the second (the first stays held, never delivered)',
    { 'poll-shares-queue': /every published message, once/ },
    {
      poll: (inner) => {
        const skipped = inner.poll?.();
        return skipped === undefined ? undefined : inner.poll?.();
      },
    },
  ),
  variant(
    'ignores-group',
    'every subscription joins one group whatever group it names',
    { 'fan-out-groups': TIMEOUT, 'many-publishers-subscribers': TIMEOUT },
    { subscribeOptions: (options) => ({ ...options, group: 'one-group-for-all' }) },
  ),
  variant(
    'reject-requeues',
    'without dead letters, nack({ requeue: false }) delivers the message again',
    { 'reject-drops': /deliveries of the dropped message/ },
    {
      capabilities: { deadLetter: false },
      incoming: (delivery) => [
        new FaultyDelivery(delivery, { nack: (inner) => inner.nack({ requeue: true }) }),
      ],
    },
  ),
  variant(
    'total-order-swaps-pairs',
    'claims total ordering but hands out every two deliveries swapped',
    { 'ordering-total': /the subject: position 0 was message 1/ },
    () => {
      let held: RawDelivery | undefined;
      return {
        capabilities: { ordering: 'total' },
        incoming: (delivery) => {
          if (held === undefined) {
            held = delivery;
            return [];
          }
          const pair = [delivery, held];
          held = undefined;
          return pair;
        },
      };
    },
  ),
  variant(
    'requeue-in-microtasks',
    'nack({ requeue: true }) hands the message out again without letting the event loop turn',
    { 'requeue-yields': /had not run after 1000 redeliveries/ },
    { inlineRequeue: true },
  ),
  variant(
    'dead-letter-fails',
    'nack({ requeue: false }) rejects with a TransportError',
    { 'broker-decode-failed-continues': /errors the Broker logged/ },
    withDelivery({
      nack: (inner, options) =>
        options?.requeue === false
          ? Promise.reject(new TransportError('dead-letter store unavailable'))
          : inner.nack(options),
    }),
  ),
  variant(
    'ack-fails',
    'ack() rejects with a TransportError',
    { 'broker-auto-ack': /handled delivery is settled|errors the Broker logged/ },
    withDelivery({ ack: () => Promise.reject(new TransportError('connection lost')) }),
  ),
  variant(
    'loses-one-in-500',
    'publish reports success but drops one message in 500',
    { 'many-publishers-subscribers': /every group received all 2000 messages/ },
    { outgoing: (_subject, message) => (++dropCounter % 500 === 0 ? undefined : message) },
  ),
];
