import type { Headers } from './headers.js';

/** How a transport orders the messages of one subject. */
export type Ordering = 'none' | 'per-key' | 'total';

/**
 * What a transport guarantees. The conformance suite switches its scenarios on these flags, so a
 * transport must declare only what it passes.
 */
export interface Capabilities {
  /** Messages survive the process (and, for a server, a restart of it). */
  readonly persistent: boolean;
  /** Deliveries must be settled; unsettled ones come back. */
  readonly acknowledgements: boolean;
  /** `nack({ requeue: true })` delivers the message again. */
  readonly requeue: boolean;
  /** `nack({ requeue: true, delayMs })` delivers again after the delay. */
  readonly delayedRequeue: boolean;
  /** `publish(…, { delayMs })` holds a new message back until the delay has passed. */
  readonly delayedPublish: boolean;
  /** `nack({ requeue: false })` keeps the message in a dead-letter store, readable by `deadLetters()`. */
  readonly deadLetter: boolean;
  /** Consumers of one group share the work: each message goes to one of them. */
  readonly competingConsumers: boolean;
  /** Every group gets every message. */
  readonly fanOutGroups: boolean;
  /** Order in which a group sees the messages of one subject. */
  readonly ordering: Ordering;
  /** `history()` returns the last messages of a subject. */
  readonly history: boolean;
  /** Deliveries of a consumer that crashed or closed without settling are delivered again. */
  readonly redeliveryAfterCrash: boolean;
}

/** A message as handed to a transport: bytes plus headers. */
export interface OutgoingMessage {
  /** The encoded body. */
  readonly payload: Uint8Array;
  /** Headers, including `x-relaybus-content-type` when a codec encoded the payload. */
  readonly headers?: Headers;
  /** Partition / ordering key: messages with one key keep their order where `ordering` is `per-key`. */
  readonly key?: string;
  /** Message id; generated (unique, time-ordered) when absent. */
  readonly id?: string;
  /** Hold the message back for this many milliseconds (needs `capabilities.delayedPublish`). */
  readonly delayMs?: number;
}

/** What `publish` reports once the transport accepted a message. */
export interface PublishResult {
  /** The message id (the given one, or the generated one). */
  readonly id: string;
  /**
   * For transports without storage (Pub/Sub): how many subscribers received it. Absent where the
   * transport stores the message for later delivery.
   */
  readonly receivers?: number;
}

/** Sends messages. Obtained from `Transport.publisher()`. */
export interface Publisher {
  /**
   * Publishes one message. Resolves once the transport has durably accepted it (for a server: the
   * server replied), so a message whose promise resolved is never lost by a later crash of this
   * process.
   */
  publish(subject: string, message: OutgoingMessage): Promise<PublishResult>;
  /** Publishes many messages of one subject in one round trip where the transport can; same guarantee. */
  publishMany(subject: string, messages: readonly OutgoingMessage[]): Promise<PublishResult[]>;
}

/** Options for `nack`. */
export interface NackOptions {
  /** `true` (default): deliver again. `false`: give up and dead-letter (or drop where there are no dead letters). */
  readonly requeue?: boolean;
  /** With `requeue: true`: deliver again no sooner than this many milliseconds from now. */
  readonly delayMs?: number;
  /** With `requeue: false`: why; stored in the dead letter's `x-relaybus-dead-letter-reason` header. */
  readonly reason?: string;
}

/** How a delivery was settled. */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'requeue'; readonly delayMs: number }
  | { readonly kind: 'dead-letter'; readonly reason: string };

/** A delivered message as a transport yields it: bytes, headers and settlement. */
export interface RawDelivery {
  /** The message id as published (stable across redeliveries of the same message). */
  readonly id: string;
  /** The subject it was published to. */
  readonly subject: string;
  /** The bytes as published. */
  readonly payload: Uint8Array;
  /** The headers as published (plus reserved `x-relaybus-` ones added by the transport). */
  readonly headers: Headers;
  /** 1 on the first delivery, growing by one on every redelivery. */
  readonly deliveryCount: number;
  /** `deliveryCount > 1`. */
  readonly redelivered: boolean;
  /** True once `ack` or `nack` was called. */
  readonly settled: boolean;
  /**
   * Done with the message. Resolves once the transport recorded it; rejects with
   * `AlreadySettledError` if the delivery was settled before.
   */
  ack(): Promise<void>;
  /**
   * Not done. `requeue: true` (default) delivers again (after `delayMs`), `requeue: false`
   * dead-letters with `reason`. Rejects with `AlreadySettledError` if settled before.
   */
  nack(options?: NackOptions): Promise<void>;
}

/** A delivered message with its decoded body, as the Broker hands it to application code. */
export interface Delivery<T = unknown> extends RawDelivery {
  /** The payload decoded by the codec its content type names. */
  readonly body: T;
}

/**
 * A stream of deliveries. Iterate it with `for await`; `close()` (or the `signal` given when
 * subscribing) ends it. Closing stops fetching and loses nothing: deliveries not yet settled stay
 * pending and come back to the group.
 */
export interface Subscription<D extends RawDelivery = RawDelivery> extends AsyncIterable<D> {
  readonly subject: string;
  readonly group: string;
  /** True once `close()` was called or the signal aborted. */
  readonly closed: boolean;
  /** Stops fetching and ends the iteration. Resolves once nothing more will be fetched. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional fast path: takes the next delivery if one is already buffered, synchronously, or
   * returns `undefined` (then wait with the iterator). It draws from the same queue as the
   * iterator, in the same order, so a consumer may mix both. The Broker's handler runtime uses it
   * to skip a promise per delivery when a transport fetched a batch.
   */
  poll?(): D | undefined;
}

/** Where a new consumer group starts reading. An existing group keeps its position. */
export type StartPosition = 'new' | 'beginning';

/** Options for `Transport.subscribe`. */
export interface SubscribeOptions {
  /** Consumer group; consumers of one group compete, every group gets every message. Default `default`. */
  readonly group?: string;
  /** Name of this consumer within the group; generated when absent. */
  readonly consumer?: string;
  /** Most deliveries held (fetched but not settled) by this subscription at once. */
  readonly prefetch?: number;
  /** Dead-letter a message with reason `max-deliveries` instead of delivering it more than this often. */
  readonly maxDeliveries?: number;
  /** Where a group created by this call starts. Default `new`. */
  readonly startFrom?: StartPosition;
  /** Aborting it closes the subscription. */
  readonly signal?: AbortSignal;
}

/** A stored message, as returned by `history()` and `deadLetters()`. */
export interface StoredMessage {
  readonly id: string;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Headers;
}

/** Options for `history()` and `deadLetters()`. */
export interface ReadOptions {
  /** At most this many messages (newest first). Default 100. */
  readonly limit?: number;
}

/**
 * The contract every transport implements. A transport moves bytes plus headers; it knows
 * nothing of codecs or handlers.
 */
export interface Transport {
  /** Short name for logs, e.g. `memory`, `redis-streams`. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Opens connections. Idempotent; publish and subscribe call it when needed. */
  connect(): Promise<void>;
  /** A publisher sharing this transport's connections. */
  publisher(): Publisher;
  /**
   * Starts consuming. Resolves once the subscription is registered (group created, channel
   * subscribed), so a message published after it resolves reaches it.
   */
  subscribe(subject: string, options?: SubscribeOptions): Promise<Subscription>;
  /** The newest messages of a subject, newest first (needs `capabilities.history`). */
  history?(subject: string, options?: ReadOptions): Promise<StoredMessage[]>;
  /** The newest dead letters of a subject, newest first (needs `capabilities.deadLetter`). */
  deadLetters?(subject: string, options?: ReadOptions): Promise<StoredMessage[]>;
  /** Connection state, for `broker.health()`. */
  health?(): TransportHealth;
  /** Closes every subscription and connection. Later calls reject with `ClosedError`. Idempotent. */
  close(): Promise<void>;
}

/** What a transport reports of its connections. */
export interface TransportHealth {
  readonly connected: boolean;
  /** Transport-specific detail (connection states, last error, …). */
  readonly [detail: string]: unknown;
}
