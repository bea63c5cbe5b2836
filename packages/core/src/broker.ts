import { BUILTIN_CODECS, type Codec, CodecRegistry, msgpackCodec } from './codec.js';
import type {
  Delivery,
  NackOptions,
  OutgoingMessage,
  Publisher,
  PublishResult,
  RawDelivery,
  StartPosition,
  Subscription,
  Transport,
} from './contract.js';
import { ClosedError, ConfigError, DecodeError, Reject } from './errors.js';
import { Header, type Headers } from './headers.js';
import { defaultLogger, type Logger } from './logger.js';
import { checkInteger, checkName, checkSubject, rejectUnknownOptions } from './options.js';
import { type RetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry.js';

/** Options of a `Broker`. */
export interface BrokerOptions {
  /** The transport messages travel on. */
  readonly transport: Transport;
  /** Codec for publishing. Default: msgpack. */
  readonly codec?: Codec;
  /** Extra codecs to decode with (msgpack, JSON and raw are always understood). */
  readonly codecs?: readonly Codec[];
  /** A pino (or pino-shaped) logger. Default: pino at `warn`. */
  readonly logger?: Logger;
  /** How long `stop()` waits for running handlers by default. Default 10 000 ms. */
  readonly stopDeadlineMs?: number;
}

/** Defaults of `BrokerOptions`. */
export const DEFAULT_BROKER_OPTIONS = {
  stopDeadlineMs: 10_000,
} as const;

/** Per-message options of `broker.publish`. */
export interface PublishOptions {
  readonly headers?: Headers;
  /** Partition / ordering key. */
  readonly key?: string;
  /** Message id; generated when absent. */
  readonly id?: string;
  /** Deliver no sooner than this many milliseconds from now (transport must support delayed publish). */
  readonly delayMs?: number;
  /** Codec for this message instead of the broker's. */
  readonly codec?: Codec;
}

/** One message of `broker.publishMany`. */
export interface BatchItem<T> extends Omit<PublishOptions, 'codec'> {
  readonly body: T;
}

/** Options of `broker.consume` (an iterator of decoded deliveries). */
export interface ConsumeOptions {
  readonly group?: string;
  readonly consumer?: string;
  readonly prefetch?: number;
  readonly maxDeliveries?: number;
  readonly startFrom?: StartPosition;
  readonly signal?: AbortSignal;
}

/** Options of `broker.subscribe` (a handler). */
export interface HandlerOptions extends ConsumeOptions {
  /** Handlers running at once. Default 1. */
  readonly concurrency?: number;
  /** Retry policy: max deliveries and backoff. Default `DEFAULT_RETRY_POLICY`. */
  readonly retry?: Partial<RetryPolicy>;
}

/** Defaults of `HandlerOptions`. */
export const DEFAULT_HANDLER_OPTIONS = {
  group: 'default',
  concurrency: 1,
  /** Prefetch defaults to `max(concurrency * 2, 16)`. */
  minPrefetch: 16,
} as const;

/**
 * Handles one message. Return (or resolve) to ack; throw to retry with backoff; throw `Reject` to
 * dead-letter at once. A handler may settle the delivery itself, in which case the Broker leaves it.
 */
export type Handler<T> = (body: T, delivery: Delivery<T>) => unknown;

/** A running handler subscription. */
export interface HandlerSubscription {
  readonly subject: string;
  readonly group: string;
  /** Stops fetching and waits (up to `deadlineMs`) for running handlers. */
  close(options?: { deadlineMs?: number }): Promise<void>;
}

const HANDLER_OPTION_KEYS = [
  'group',
  'consumer',
  'prefetch',
  'maxDeliveries',
  'startFrom',
  'signal',
  'concurrency',
  'retry',
] as const;
const CONSUME_OPTION_KEYS = [
  'group',
  'consumer',
  'prefetch',
  'maxDeliveries',
  'startFrom',
  'signal',
] as const;

/**
 * The handler runtime. Encodes and publishes bodies, decodes deliveries, runs handlers with
 * bounded concurrency, settles them by outcome, and shuts down without losing work.
 */
export class Broker {
  readonly transport: Transport;
  readonly logger: Logger;
  readonly #codec: Codec;
  readonly #codecs: CodecRegistry;
  readonly #stopDeadlineMs: number;
  readonly #handlers = new Set<HandlerRunner<unknown>>();
  readonly #consumers = new Set<Subscription>();
  #publisher: Publisher | undefined;
  #connecting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: BrokerOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('options', 'must be an object with at least { transport }');
    }
    rejectUnknownOptions('broker', options, ['transport', 'codec', 'codecs', 'logger', 'stopDeadlineMs']);
    const { transport } = options;
    if (transport === undefined || typeof transport.subscribe !== 'function') {
      throw new ConfigError('transport', 'must be a relaybus Transport (e.g. new MemoryTransport())');
    }
    this.transport = transport;
    this.#codec = options.codec ?? msgpackCodec;
    checkCodec('codec', this.#codec);
    options.codecs?.forEach((codec, i) => {
      checkCodec(`codecs[${i}]`, codec);
    });
    this.#codecs = new CodecRegistry(
      [...BUILTIN_CODECS, ...(options.codecs ?? []), this.#codec],
      msgpackCodec,
    );
    this.logger = (options.logger ?? defaultLogger()).child({ transport: transport.name });
    this.#stopDeadlineMs = checkInteger(
      'stopDeadlineMs',
      options.stopDeadlineMs ?? DEFAULT_BROKER_OPTIONS.stopDeadlineMs,
      0,
    );
  }

  /** Connects the transport. Idempotent; publish and subscribe call it when needed. */
  start(): Promise<void> {
    if (this.#stopping !== undefined) return Promise.reject(new ClosedError('Broker'));
    this.#connecting ??= this.transport.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw error;
    });
    return this.#connecting;
  }

  /** Encodes `body` with the codec and publishes it. Resolves once the transport accepted it. */
  async publish<T>(subject: string, body: T, options: PublishOptions = {}): Promise<PublishResult> {
    checkSubject(subject);
    const message = this.#encode(body, options, options.codec ?? this.#codec);
    const publisher = await this.#getPublisher();
    return publisher.publish(subject, message);
  }

  /** Encodes and publishes many messages of one subject in one round trip where the transport can. */
  async publishMany<T>(subject: string, items: readonly BatchItem<T>[]): Promise<PublishResult[]> {
    checkSubject(subject);
    const messages = items.map((item) => this.#encode(item.body, item, this.#codec));
    const publisher = await this.#getPublisher();
    return publisher.publishMany(subject, messages);
  }

  /**
   * An iterator of decoded deliveries. A delivery whose payload cannot be decoded is dead-lettered
   * with reason `decode-failed: …` and skipped; the iteration goes on.
   */
  async consume<T = unknown>(
    subject: string,
    options: ConsumeOptions = {},
  ): Promise<Subscription<Delivery<T>>> {
    checkSubject(subject);
    rejectUnknownOptions('consume', options, CONSUME_OPTION_KEYS);
    await this.start();
    const raw = await this.transport.subscribe(subject, {
      ...options,
      group: checkName('group', options.group ?? DEFAULT_HANDLER_OPTIONS.group),
    });
    this.#consumers.add(raw);
    const decoded = new DecodingSubscription<T>(raw, this.#codecs, this.logger, () =>
      this.#consumers.delete(raw),
    );
    return decoded;
  }

  /**
   * Runs `handler` for every message of `subject` in `group`. Resolves once the subscription is
   * registered with the transport (messages published afterwards reach it).
   */
  async subscribe<T = unknown>(
    subject: string,
    handler: Handler<T>,
    options: HandlerOptions = {},
  ): Promise<HandlerSubscription> {
    checkSubject(subject);
    if (typeof handler !== 'function') throw new ConfigError('handler', 'must be a function');
    rejectUnknownOptions('subscribe', options, HANDLER_OPTION_KEYS);
    const concurrency = checkInteger(
      'concurrency',
      options.concurrency ?? DEFAULT_HANDLER_OPTIONS.concurrency,
      1,
    );
    const prefetch = checkInteger(
      'prefetch',
      options.prefetch ?? Math.max(concurrency * 2, DEFAULT_HANDLER_OPTIONS.minPrefetch),
      1,
    );
    const retry = resolveRetryPolicy(options.retry);
    const { concurrency: _c, retry: _r, ...consumeOptions } = options;
    const subscription = await this.consume<T>(subject, {
      ...consumeOptions,
      prefetch,
      maxDeliveries: options.maxDeliveries ?? retry.maxDeliveries,
    });
    const runner = new HandlerRunner<T>(
      subscription,
      handler,
      concurrency,
      retry,
      this.transport.capabilities,
      this.logger.child({ subject, group: subscription.group }),
      this.#stopDeadlineMs,
    );
    this.#handlers.add(runner as HandlerRunner<unknown>);
    void runner.done.finally(() => this.#handlers.delete(runner as HandlerRunner<unknown>));
    return runner;
  }

  /**
   * Stops every subscription (no new fetches), waits up to `deadlineMs` for running handlers to
   * finish and settle, then closes the transport. Deliveries whose handlers did not finish stay
   * unsettled and come back to their group. Idempotent.
   */
  stop(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.deadlineMs ?? this.#stopDeadlineMs);
    return this.#stopping;
  }

  async #stop(deadlineMs: number): Promise<void> {
    const started = Date.now();
    await Promise.all([...this.#handlers].map((runner) => runner.close({ deadlineMs })));
    await Promise.all([...this.#consumers].map((subscription) => subscription.close()));
    await this.transport.close();
    this.logger.debug({ elapsedMs: Date.now() - started }, 'broker stopped');
  }

  async #getPublisher(): Promise<Publisher> {
    if (this.#stopping !== undefined) throw new ClosedError('Broker');
    if (this.#publisher === undefined) {
      await this.start();
      this.#publisher = this.transport.publisher();
    }
    return this.#publisher;
  }

  #encode(body: unknown, options: PublishOptions, codec: Codec): OutgoingMessage {
    const payload = codec.encode(body);
    const headers: Headers = { ...options.headers, [Header.contentType]: codec.contentType };
    return { payload, headers, key: options.key, id: options.id, delayMs: options.delayMs };
  }
}

function checkCodec(option: string, codec: Codec): void {
  if (
    codec === null ||
    typeof codec !== 'object' ||
    typeof codec.contentType !== 'string' ||
    typeof codec.encode !== 'function' ||
    typeof codec.decode !== 'function'
  ) {
    throw new ConfigError(option, 'must be a Codec { contentType, encode, decode }');
  }
}

/** A delivery with its decoded body; settlement goes to the transport's delivery. */
class DecodedDelivery<T> implements Delivery<T> {
  readonly #raw: RawDelivery;
  readonly body: T;

  constructor(raw: RawDelivery, body: T) {
    this.#raw = raw;
    this.body = body;
  }

  get id(): string {
    return this.#raw.id;
  }
  get subject(): string {
    return this.#raw.subject;
  }
  get payload(): Uint8Array {
    return this.#raw.payload;
  }
  get headers(): Headers {
    return this.#raw.headers;
  }
  get deliveryCount(): number {
    return this.#raw.deliveryCount;
  }
  get redelivered(): boolean {
    return this.#raw.redelivered;
  }
  get settled(): boolean {
    return this.#raw.settled;
  }
  ack(): Promise<void> {
    return this.#raw.ack();
  }
  nack(options?: NackOptions): Promise<void> {
    return this.#raw.nack(options);
  }
}

/** Decodes the deliveries of a transport subscription; dead-letters those it cannot decode. */
class DecodingSubscription<T> implements Subscription<Delivery<T>> {
  readonly #raw: Subscription;
  readonly #codecs: CodecRegistry;
  readonly #logger: Logger;
  readonly #onClose: () => void;

  constructor(raw: Subscription, codecs: CodecRegistry, logger: Logger, onClose: () => void) {
    this.#raw = raw;
    this.#codecs = codecs;
    this.#logger = logger;
    this.#onClose = onClose;
  }

  get subject(): string {
    return this.#raw.subject;
  }
  get group(): string {
    return this.#raw.group;
  }
  get closed(): boolean {
    return this.#raw.closed;
  }

  close(): Promise<void> {
    this.#onClose();
    return this.#raw.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery<T>> {
    for await (const raw of this.#raw) {
      let body: T;
      try {
        body = this.#codecs.decode(raw.payload, raw.headers) as T;
      } catch (error) {
        await this.#deadLetterUndecodable(raw, error);
        continue;
      }
      yield new DecodedDelivery<T>(raw, body);
    }
  }

  async #deadLetterUndecodable(raw: RawDelivery, error: unknown): Promise<void> {
    const reason = `decode-failed: ${error instanceof DecodeError ? error.message : String(error)}`;
    this.#logger.warn(
      { subject: raw.subject, id: raw.id, reason, contentType: raw.headers[Header.contentType] },
      'dead-lettering a message that cannot be decoded',
    );
    try {
      await raw.nack({ requeue: false, reason });
    } catch (nackError) {
      this.#logger.error({ err: nackError, id: raw.id }, 'could not dead-letter an undecodable message');
    }
  }
}

/** Runs a handler over a decoded subscription with bounded concurrency. */
class HandlerRunner<T> implements HandlerSubscription {
  readonly done: Promise<void>;
  readonly #subscription: Subscription<Delivery<T>>;
  readonly #handler: Handler<T>;
  readonly #concurrency: number;
  readonly #retry: RetryPolicy;
  readonly #delayedRequeue: boolean;
  readonly #requeue: boolean;
  readonly #logger: Logger;
  readonly #defaultDeadlineMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(
    subscription: Subscription<Delivery<T>>,
    handler: Handler<T>,
    concurrency: number,
    retry: RetryPolicy,
    capabilities: { requeue: boolean; delayedRequeue: boolean },
    logger: Logger,
    defaultDeadlineMs: number,
  ) {
    this.#subscription = subscription;
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#retry = retry;
    this.#requeue = capabilities.requeue;
    this.#delayedRequeue = capabilities.delayedRequeue;
    this.#logger = logger;
    this.#defaultDeadlineMs = defaultDeadlineMs;
    this.done = this.#run();
  }

  get subject(): string {
    return this.#subscription.subject;
  }
  get group(): string {
    return this.#subscription.group;
  }

  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.deadlineMs ?? this.#defaultDeadlineMs);
    return this.#closing;
  }

  async #close(deadlineMs: number): Promise<void> {
    await this.#subscription.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([this.done.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      this.#logger.warn(
        { inFlight: this.#inFlight.size, deadlineMs },
        'handlers still running at the stop deadline; their deliveries stay unsettled and will be redelivered',
      );
    }
  }

  async #run(): Promise<void> {
    try {
      for await (const delivery of this.#subscription) {
        const task = this.#handle(delivery);
        this.#inFlight.add(task);
        void task.finally(() => this.#inFlight.delete(task));
        if (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'subscription failed; handler stopped');
    }
    await Promise.all(this.#inFlight);
  }

  async #handle(delivery: Delivery<T>): Promise<void> {
    let failure: unknown;
    let failed = false;
    try {
      await this.#handler(delivery.body, delivery);
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (delivery.settled) return;
    try {
      if (!failed) {
        await delivery.ack();
      } else {
        await delivery.nack(this.#nackFor(delivery, failure));
      }
    } catch (error) {
      this.#logger.error(
        { err: error, id: delivery.id },
        'could not settle a delivery; it will be redelivered',
      );
    }
  }

  #nackFor(delivery: Delivery<T>, error: unknown): NackOptions {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Reject) {
      this.#logger.warn(
        { id: delivery.id, reason: message },
        'handler rejected a message; dead-lettering it',
      );
      return { requeue: false, reason: `rejected: ${message}` };
    }
    if (delivery.deliveryCount >= this.#retry.maxDeliveries) {
      this.#logger.warn(
        { id: delivery.id, deliveryCount: delivery.deliveryCount, err: error },
        'handler failed on the last allowed delivery; dead-lettering the message',
      );
      return { requeue: false, reason: `max-deliveries: ${message}` };
    }
    if (!this.#requeue) {
      this.#logger.warn(
        { id: delivery.id, err: error },
        'handler failed and the transport cannot redeliver; dead-lettering the message (dropped where there are no dead letters)',
      );
      return { requeue: false, reason: `failed-without-requeue: ${message}` };
    }
    const delayMs = this.#delayedRequeue
      ? retryDelayMs(this.#retry.backoff, delivery.deliveryCount, error)
      : 0;
    this.#logger.info(
      { id: delivery.id, deliveryCount: delivery.deliveryCount, delayMs, err: error },
      'handler failed; retrying',
    );
    return { requeue: true, delayMs };
  }
}
