import { randomBytes } from 'node:crypto';
import { type AsyncApiDocument, buildAsyncApi } from './asyncapi.js';
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
  TransportHealth,
} from './contract.js';
import {
  ClosedError,
  ConfigError,
  DecodeError,
  MessageTooLargeError,
  RequestError,
  TimeoutError,
} from './errors.js';
import {
  type BatchHandler,
  type Filter,
  type Handler,
  HandlerRunner,
  type HandlerStats,
  type HandlerSubscription,
  type ReplyOutcome,
  type RunnerSettings,
} from './handler-runner.js';
import { Header, type Headers } from './headers.js';
import { newMessageId } from './id.js';
import { defaultLogger, type Logger } from './logger.js';
import { type Middleware, type PublishItem, type PublishMiddleware, runPublishChain } from './middleware.js';
import { checkInteger, checkName, checkSubject, rejectUnknownOptions } from './options.js';
import { type RetryPolicy, resolveRetryPolicy } from './retry.js';
import { isStandardSchema, type SchemaOutput, type StandardSchemaV1 } from './schema.js';
import { Telemetry, type TelemetryOptions } from './telemetry.js';

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
  /** Middleware around every publish and every handler, outermost first. */
  readonly middleware?: readonly Middleware[];
  /** OpenTelemetry tracing and metrics (no-op unless an SDK is registered). */
  readonly telemetry?: TelemetryOptions;
  /**
   * Largest encoded payload `publish` accepts, in bytes; a larger one is refused with
   * `MessageTooLargeError` (`RELAYBUS_MESSAGE_TOO_LARGE`) before anything is sent. Default 1 MiB.
   */
  readonly maxMessageBytes?: number;
}

/** Defaults of `BrokerOptions`. */
export const DEFAULT_BROKER_OPTIONS = {
  stopDeadlineMs: 10_000,
  maxMessageBytes: 1_048_576,
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
  /** Middleware of this subscription, inside the broker's. */
  readonly middleware?: readonly Middleware[];
  /** A delivery this predicate refuses is acked and skipped (the handler never sees it). */
  readonly filter?: Filter<unknown>;
  /**
   * A Standard Schema (zod, valibot, arktype, …): the handler gets the validated output; a body
   * that fails validation is dead-lettered with reason `validation-failed: <issues>`.
   */
  readonly schema?: StandardSchemaV1;
}

/** Options of `broker.subscribeBatch`. */
export interface BatchHandlerOptions extends Omit<HandlerOptions, 'middleware'> {
  /** Most deliveries per batch. Default 100. */
  readonly batchSize?: number;
  /** Longest wait for a batch to fill after its first delivery, in ms. Default 50. */
  readonly batchWaitMs?: number;
}

/** Options of `broker.request`. */
export interface RequestOptions {
  /** How long to wait for the reply. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Publish options of the request (headers, key, codec, …). */
  readonly publish?: PublishOptions;
}

/** Default `timeoutMs` of `broker.request`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

const REPLY_TO = 'x-relaybus-reply-to';
const CORRELATION_ID = 'x-relaybus-correlation-id';
const DEADLINE = 'x-relaybus-deadline';
const REPLY_ERROR = 'x-relaybus-reply-error';

/** Defaults of `HandlerOptions`. */
export const DEFAULT_HANDLER_OPTIONS = {
  group: 'default',
  concurrency: 1,
  /** Prefetch defaults to `max(concurrency * 2, 16)`. */
  minPrefetch: 16,
} as const;

const HANDLER_OPTION_KEYS = [
  'group',
  'consumer',
  'prefetch',
  'maxDeliveries',
  'startFrom',
  'signal',
  'concurrency',
  'retry',
  'middleware',
  'filter',
  'schema',
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
  readonly #middleware: readonly Middleware[];
  readonly #publishChain: readonly PublishMiddleware[];
  readonly #maxMessageBytes: number;
  readonly #telemetry: Telemetry;
  #lastError: { message: string; at: Date } | undefined;
  readonly #id = `b${randomBytes(6).toString('hex')}`;
  readonly #requests = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void; timer: NodeJS.Timeout }
  >();
  #inbox: Promise<string> | undefined;
  readonly #subscribed: Array<{ subject: string; group: string; schema: StandardSchemaV1 | undefined }> = [];
  readonly #declared = new Map<string, { schema?: StandardSchemaV1; description?: string }>();
  readonly #publishedSubjects = new Set<string>();
  #publisher: Publisher | undefined;
  #connecting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;

  constructor(options: BrokerOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('options', 'must be an object with at least { transport }');
    }
    rejectUnknownOptions('broker', options, [
      'transport',
      'codec',
      'codecs',
      'logger',
      'stopDeadlineMs',
      'middleware',
      'telemetry',
      'maxMessageBytes',
    ]);
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
    this.#maxMessageBytes = checkInteger(
      'maxMessageBytes',
      options.maxMessageBytes ?? DEFAULT_BROKER_OPTIONS.maxMessageBytes,
      1,
    );
    this.#middleware = checkMiddleware('middleware', options.middleware);
    this.#publishChain = this.#middleware.flatMap((m) => (m.publish === undefined ? [] : [m.publish]));
    this.#telemetry = new Telemetry(transport.name, options.telemetry);
  }

  /** Connects the transport. Idempotent; publish and subscribe call it when needed. */
  start(): Promise<void> {
    if (this.#stopping !== undefined) return Promise.reject(new ClosedError('Broker'));
    this.#connecting ??= this.transport.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      this.#recordError(error);
      throw error;
    });
    return this.#connecting;
  }

  /**
   * Runs the publish middleware, encodes `body` with the codec and publishes it. Resolves once the
   * transport accepted it.
   */
  publish<T>(subject: string, body: T, options: PublishOptions = {}): Promise<PublishResult> {
    const codec = options.codec ?? this.#codec;
    const item = toItem(body, options);
    const publisher = this.#publisher;
    const telemetry = this.#telemetry;
    if (
      publisher === undefined ||
      this.#stopping !== undefined ||
      this.#publishChain.length > 0 ||
      telemetry.metrics ||
      telemetry.tracing()
    ) {
      return this.#publishItems(subject, [item], codec).then((results) => results[0] as PublishResult);
    }
    // The common case (connected, no publish middleware, no telemetry SDK): straight to the
    // transport, without the batch path's arrays and async frames.
    let message: OutgoingMessage;
    try {
      checkSubject(subject);
      this.#publishedSubjects.add(subject);
      // toItem copied the caller's headers and no middleware saw them: they may be written to.
      message = this.#outgoing(subject, item, codec, undefined, 0, 1, true);
    } catch (error) {
      this.#recordError(error);
      return Promise.reject(error);
    }
    return publisher.publish(subject, message).then(undefined, (error: unknown) => {
      this.#recordError(error);
      throw error;
    });
  }

  /** Publishes many messages of one subject in one round trip where the transport can. */
  publishMany<T>(subject: string, items: readonly BatchItem<T>[]): Promise<PublishResult[]> {
    return this.#publishItems(
      subject,
      items.map((item) => toItem(item.body, item)),
      this.#codec,
    );
  }

  #publishItems(subject: string, items: PublishItem[], codec: Codec): Promise<PublishResult[]> {
    try {
      checkSubject(subject);
    } catch (error) {
      return Promise.reject(error);
    }
    const publisher = this.#publisher;
    if (publisher === undefined || this.#stopping !== undefined) {
      return this.#getPublisher().then((ready) => this.#publishWith(ready, subject, items, codec));
    }
    return this.#publishWith(publisher, subject, items, codec);
  }

  #publishWith(
    publisher: Publisher,
    subject: string,
    items: PublishItem[],
    codec: Codec,
  ): Promise<PublishResult[]> {
    this.#publishedSubjects.add(subject);
    const send = () => this.#send(publisher, subject, items, codec);
    if (this.#publishChain.length === 0) return send();
    return runPublishChain(this.#publishChain, { subject, items, logger: this.logger }, send);
  }

  /** One item as the transport gets it: encoded, with its content type (and trace context). */
  #outgoing(
    subject: string,
    item: PublishItem,
    codec: Codec,
    traceContext: Parameters<Telemetry['inject']>[0] | undefined,
    index: number,
    count: number,
    ownHeaders: boolean,
  ): OutgoingMessage {
    // Middleware may have put headers there that someone else holds: copy those.
    const headers: Headers = ownHeaders ? item.headers : { ...item.headers };
    headers[Header.contentType] = codec.contentType;
    if (traceContext !== undefined) this.#telemetry.inject(traceContext, headers);
    const payload = codec.encode(item.body);
    if (payload.byteLength > this.#maxMessageBytes) {
      throw new MessageTooLargeError(
        subject,
        payload.byteLength,
        this.#maxMessageBytes,
        count === 1 ? undefined : index,
      );
    }
    return { payload, headers, key: item.key, id: item.id, delayMs: item.delayMs };
  }

  /** Encodes and hands the items to the transport; spans and metrics only when an SDK listens. */
  async #send(
    publisher: Publisher,
    subject: string,
    items: PublishItem[],
    codec: Codec,
  ): Promise<PublishResult[]> {
    const telemetry = this.#telemetry;
    const span = telemetry.startPublish(subject, items.length);
    try {
      const messages = items.map((item, index) =>
        this.#outgoing(subject, item, codec, span?.ctx, index, items.length, false),
      );
      const results =
        messages.length === 1
          ? [await publisher.publish(subject, messages[0] as OutgoingMessage)]
          : await publisher.publishMany(subject, messages);
      if (span !== undefined || telemetry.metrics) telemetry.endPublish(span, subject, items.length);
      return results;
    } catch (error) {
      telemetry.endPublish(span, subject, items.length, error);
      this.#recordError(error);
      throw error;
    }
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
  subscribe<S extends StandardSchemaV1>(
    subject: string,
    handler: Handler<SchemaOutput<S>>,
    options: HandlerOptions & { readonly schema: S },
  ): Promise<HandlerSubscription>;
  subscribe<T = unknown>(
    subject: string,
    handler: Handler<T>,
    options?: HandlerOptions,
  ): Promise<HandlerSubscription>;
  async subscribe<T = unknown>(
    subject: string,
    handler: Handler<T>,
    options: HandlerOptions = {},
  ): Promise<HandlerSubscription> {
    if (typeof handler !== 'function') throw new ConfigError('handler', 'must be a function');
    return this.#startRunner(subject, handler, options, undefined);
  }

  /**
   * Runs `handler` on batches of up to `batchSize` deliveries (or what arrived within `batchWaitMs`
   * of the first). Returning acks every delivery of the batch the handler did not settle; throwing
   * fails each of them (retry policy per delivery). Filter and schema apply per delivery before
   * batching; consume middleware does not wrap batch handlers.
   */
  subscribeBatch<T = unknown>(
    subject: string,
    handler: BatchHandler<T>,
    options: BatchHandlerOptions = {},
  ): Promise<HandlerSubscription> {
    if (typeof handler !== 'function') throw new ConfigError('handler', 'must be a function');
    const { batchSize = 100, batchWaitMs = 50, ...rest } = options;
    const batch = {
      size: checkInteger('batchSize', batchSize, 1),
      waitMs: checkInteger('batchWaitMs', batchWaitMs, 0),
      handler,
    };
    return this.#startRunner<T>(
      subject,
      () => undefined,
      { ...rest, prefetch: rest.prefetch ?? Math.max(batch.size * 2, DEFAULT_HANDLER_OPTIONS.minPrefetch) },
      batch,
    );
  }

  async #startRunner<T>(
    subject: string,
    handler: Handler<T>,
    options: HandlerOptions,
    batch: RunnerSettings<T>['batch'],
  ): Promise<HandlerSubscription> {
    checkSubject(subject);
    rejectUnknownOptions(batch === undefined ? 'subscribe' : 'subscribeBatch', options, HANDLER_OPTION_KEYS);
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
    if (options.schema !== undefined && !isStandardSchema(options.schema)) {
      throw new ConfigError('schema', 'must be a Standard Schema (zod, valibot, arktype, …)');
    }
    if (options.filter !== undefined && typeof options.filter !== 'function') {
      throw new ConfigError('filter', 'must be a function (body, delivery) => boolean');
    }
    const middleware = [...this.#middleware, ...checkMiddleware('middleware', options.middleware)];
    const { concurrency: _c, retry: _r, middleware: _m, filter, schema, ...consumeOptions } = options;
    const subscription = await this.consume<T>(subject, {
      ...consumeOptions,
      prefetch,
      maxDeliveries: options.maxDeliveries ?? retry.maxDeliveries,
    });
    const runner = new HandlerRunner<T>(subscription, handler, {
      concurrency,
      retry,
      capabilities: this.transport.capabilities,
      logger: this.logger.child({ subject, group: subscription.group }),
      defaultDeadlineMs: this.#stopDeadlineMs,
      middleware: middleware.flatMap((m) => (m.consume === undefined ? [] : [m.consume])),
      filter: filter as Filter<T> | undefined,
      schema,
      telemetry: this.#telemetry,
      reply: (delivery, outcome) => this.#reply(delivery, outcome),
      batch,
    });
    this.#subscribed.push({ subject, group: subscription.group, schema });
    this.#handlers.add(runner as HandlerRunner<unknown>);
    void runner.done.finally(() => this.#handlers.delete(runner as HandlerRunner<unknown>));
    return runner;
  }

  /**
   * Sends `body` to `subject` as a request and resolves with the reply: the return value of the
   * handler that took it. Replies travel over the transport itself, on a reply subject of this
   * broker (`_inbox.<broker id>`). Rejects with `TimeoutError` (`RELAYBUS_TIMEOUT`) when no reply
   * came within `timeoutMs`, and with `RequestError` when the handler gave up on the request
   * (rejected it or ran out of deliveries). A responder does not answer a request past its deadline.
   */
  async request<Res = unknown, Req = unknown>(
    subject: string,
    body: Req,
    options: RequestOptions = {},
  ): Promise<Res> {
    const timeoutMs = checkInteger('timeoutMs', options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1);
    const inbox = await this.#openInbox();
    const correlationId = newMessageId();
    const reply = new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(correlationId);
        reject(new TimeoutError(`no reply to the request on "${subject}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#requests.set(correlationId, {
        resolve: (value) => resolve(value as Res),
        reject,
        timer,
      });
    });
    try {
      await this.publish(subject, body, {
        ...options.publish,
        headers: {
          ...options.publish?.headers,
          [REPLY_TO]: inbox,
          [CORRELATION_ID]: correlationId,
          [DEADLINE]: String(Date.now() + timeoutMs),
        },
      });
    } catch (error) {
      const pending = this.#requests.get(correlationId);
      this.#requests.delete(correlationId);
      clearTimeout(pending?.timer);
      throw error;
    }
    return reply;
  }

  async #openInbox(): Promise<string> {
    this.#inbox ??= (async () => {
      const inboxSubject = `_inbox.${this.#id}`;
      const subscription = await this.consume(inboxSubject, { group: this.#id });
      void (async () => {
        for await (const delivery of subscription) {
          const correlationId = delivery.headers[CORRELATION_ID] ?? '';
          const pending = this.#requests.get(correlationId);
          if (pending !== undefined) {
            this.#requests.delete(correlationId);
            clearTimeout(pending.timer);
            const error = delivery.headers[REPLY_ERROR];
            if (error === undefined) pending.resolve(delivery.body);
            else pending.reject(new RequestError(error));
          }
          await delivery.ack().catch((ackError: unknown) => {
            this.logger.debug({ err: ackError }, 'could not ack a reply');
          });
        }
      })();
      return inboxSubject;
    })().catch((error: unknown) => {
      this.#inbox = undefined;
      throw error;
    });
    return this.#inbox;
  }

  async #reply(delivery: Delivery, outcome: ReplyOutcome): Promise<void> {
    const replyTo = delivery.headers[REPLY_TO];
    const correlationId = delivery.headers[CORRELATION_ID];
    if (replyTo === undefined || correlationId === undefined) return;
    const deadline = Number(delivery.headers[DEADLINE]);
    if (Number.isFinite(deadline) && Date.now() > deadline) {
      this.logger.debug(
        { id: delivery.id, replyTo },
        'request past its deadline; the requester is gone, not replying',
      );
      return;
    }
    const headers: Headers = { [CORRELATION_ID]: correlationId };
    if (!outcome.ok) headers[REPLY_ERROR] = outcome.error;
    await this.publish(replyTo, outcome.ok ? (outcome.value ?? null) : null, { headers });
  }

  /**
   * Declares a subject this application publishes, with an optional schema and description, for
   * `asyncapi()`. Subjects published to are recorded without a declaration too.
   */
  declarePublisher(subject: string, options: { schema?: StandardSchemaV1; description?: string } = {}): void {
    checkSubject(subject);
    this.#declared.set(subject, options);
  }

  /**
   * An AsyncAPI 3.0 document of this broker: a channel per subject it subscribes or publishes to,
   * `receive` operations per handler subscription (with its group), `send` operations per declared
   * or used publisher subject, and JSON Schemas of payloads where the schema library provides them.
   */
  asyncapi(info: { title: string; version: string; description?: string }): AsyncApiDocument {
    return buildAsyncApi(info, {
      transport: this.transport,
      contentType: this.#codec.contentType,
      subscriptions: this.#subscribed.filter((s) => !s.subject.startsWith('_inbox.')),
      publishers: [
        ...this.#declared,
        ...[...this.#publishedSubjects]
          .filter((subject) => !this.#declared.has(subject) && !subject.startsWith('_inbox.'))
          .map((subject) => [subject, {}] as const),
      ],
    });
  }

  /**
   * What the broker is doing: whether it started, is stopping or stopped, the transport's own
   * health where it reports one, each handler subscription's counters, and the last error.
   */
  health(): BrokerHealth {
    const transport = this.transport.health?.();
    return {
      status: this.#stopped
        ? 'stopped'
        : this.#stopping !== undefined
          ? 'stopping'
          : this.#connecting !== undefined
            ? 'running'
            : 'idle',
      connected:
        this.#stopping === undefined && this.#connecting !== undefined && (transport?.connected ?? true),
      transport,
      subscriptions: [...this.#handlers].map((runner) => runner.stats()),
      lastError: this.#lastError,
    };
  }

  #recordError(error: unknown): void {
    this.#lastError = { message: error instanceof Error ? error.message : String(error), at: new Date() };
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
    for (const [id, pending] of this.#requests) {
      clearTimeout(pending.timer);
      pending.reject(new ClosedError('Broker'));
      this.#requests.delete(id);
    }
    await Promise.all([...this.#handlers].map((runner) => runner.close({ deadlineMs })));
    await Promise.all([...this.#consumers].map((subscription) => subscription.close()));
    await this.transport.close();
    this.#stopped = true;
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
}

/** What `broker.health()` reports. */
export interface BrokerHealth {
  /** `idle` before `start()` (or the first publish/subscribe), `running` after, `stopping` once `stop()` began, `stopped` once it finished. */
  readonly status: 'idle' | 'running' | 'stopping' | 'stopped';
  /** Started, not stopping, and the transport reports itself connected (or reports nothing). */
  readonly connected: boolean;
  /** The transport's own report, where it has `health()`. */
  readonly transport: TransportHealth | undefined;
  readonly subscriptions: HandlerStats[];
  readonly lastError: { readonly message: string; readonly at: Date } | undefined;
}

function toItem(body: unknown, options: Omit<PublishOptions, 'codec'>): PublishItem {
  return {
    body,
    headers: options.headers === undefined ? {} : { ...options.headers },
    key: options.key,
    id: options.id,
    delayMs: options.delayMs,
  };
}

function checkMiddleware(
  option: string,
  middleware: readonly Middleware[] | undefined,
): readonly Middleware[] {
  if (middleware === undefined) return [];
  if (!Array.isArray(middleware)) throw new ConfigError(option, 'must be an array of middleware');
  middleware.forEach((m: Middleware, i) => {
    if (
      m === null ||
      typeof m !== 'object' ||
      (m.publish !== undefined && typeof m.publish !== 'function') ||
      (m.consume !== undefined && typeof m.consume !== 'function')
    ) {
      throw new ConfigError(`${option}[${i}]`, 'must be a Middleware { name, publish?, consume? }');
    }
  });
  return middleware;
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
  readonly #deadLettering = new Set<Promise<void>>();

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

  async close(): Promise<void> {
    this.#onClose();
    await this.#raw.close();
    // Undecodable deliveries met by poll() are dead-lettered in the background: finish them.
    while (this.#deadLettering.size > 0) await Promise.allSettled([...this.#deadLettering]);
  }

  /**
   * Takes an already-buffered delivery, decoded, when the transport offers `poll`. One that cannot
   * be decoded is dead-lettered (in the background; `close()` waits for it) and the next is taken.
   */
  poll(): Delivery<T> | undefined {
    const raw = this.#raw;
    if (raw.poll === undefined) return undefined;
    for (;;) {
      const delivery = raw.poll();
      if (delivery === undefined) return undefined;
      const decoded = this.#decode(delivery);
      if (decoded instanceof DecodedDelivery) return decoded;
    }
  }

  /**
   * The delivery with its body decoded, or, when it cannot be decoded, the promise of its dead
   * letter (which `close()` waits for).
   */
  #decode(delivery: RawDelivery): DecodedDelivery<T> | Promise<void> {
    let body: T;
    try {
      body = this.#codecs.decode(delivery.payload, delivery.headers) as T;
    } catch (error) {
      const deadLettering = this.#deadLetterUndecodable(delivery, error);
      this.#deadLettering.add(deadLettering);
      void deadLettering.finally(() => this.#deadLettering.delete(deadLettering));
      return deadLettering;
    }
    return new DecodedDelivery<T>(delivery, body);
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery<T>> {
    const raw = this.#raw[Symbol.asyncIterator]();
    // A hand-written iterator: an async generator costs several promise hops per message.
    const next = async (): Promise<IteratorResult<Delivery<T>>> => {
      for (;;) {
        const result = await raw.next();
        if (result.done === true) return { done: true, value: undefined };
        const decoded = this.#decode(result.value);
        if (decoded instanceof DecodedDelivery) return { done: false, value: decoded };
        await decoded;
      }
    };
    return {
      next,
      return: async (): Promise<IteratorResult<Delivery<T>>> => {
        await raw.return?.();
        return { done: true, value: undefined };
      },
    };
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
