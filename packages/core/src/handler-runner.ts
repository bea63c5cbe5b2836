import type { Delivery, NackOptions, Subscription } from './contract.js';
import { Reject } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import {
  type ConsumeContext,
  type ConsumeMiddleware,
  runConsumeChain,
  type SubscriptionControl,
} from './middleware.js';
import { type RetryPolicy, retryDelayMs } from './retry.js';
import { type StandardSchemaV1, validateWithSchema } from './schema.js';
import { SlotList } from './slot-list.js';
import type { Telemetry } from './telemetry.js';

/** Deliveries taken with `poll()` in a row before the runner lets other microtasks run. */
const YIELD_EVERY = 64;
/** Deliveries taken with `poll()` in a row before the runner lets the event loop turn. */
const TURN_EVERY = 1024;

/**
 * Handles one message. Return (or resolve) to ack; throw to retry with backoff; throw `Reject` (or
 * an error with `retryable: false`) to dead-letter at once. A handler may settle the delivery
 * itself, in which case the Broker leaves it.
 */
export type Handler<T> = (body: T, delivery: Delivery<T>, context: ConsumeContext<T>) => unknown;

/**
 * Handles a batch: up to `batchSize` deliveries, or fewer once `batchWaitMs` passed since the first.
 * Return to ack every delivery the handler did not settle itself; throw to fail all of them (retry
 * policy per delivery).
 */
export type BatchHandler<T> = (bodies: T[], deliveries: Delivery<T>[]) => unknown;

/** Outcome of a request handler, sent back to the requester. */
export type ReplyOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string };

/** A predicate run before the handler; a delivery it refuses is acked and skipped. */
export type Filter<T> = (body: T, delivery: Delivery<T>) => boolean | Promise<boolean>;

/** Counters of one handler subscription, for `broker.health()`. */
export interface HandlerStats {
  readonly subject: string;
  readonly group: string;
  readonly running: boolean;
  readonly paused: boolean;
  readonly inFlight: number;
  readonly handled: number;
  readonly failed: number;
  readonly lastError: string | undefined;
}

/** A running handler subscription. */
export interface HandlerSubscription extends SubscriptionControl {
  readonly subject: string;
  readonly group: string;
  /** Counters and state. */
  stats(): HandlerStats;
  /** Stops fetching and waits (up to `deadlineMs`) for running handlers. */
  close(options?: { deadlineMs?: number }): Promise<void>;
}

/** Everything a runner needs besides the subscription and the handler. */
export interface RunnerSettings<T> {
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly capabilities: { readonly requeue: boolean; readonly delayedRequeue: boolean };
  readonly logger: Logger;
  readonly defaultDeadlineMs: number;
  readonly middleware: readonly ConsumeMiddleware[];
  readonly filter: Filter<T> | undefined;
  readonly schema: StandardSchemaV1 | undefined;
  readonly telemetry: Telemetry;
  /** Sends a handler's outcome to the requester when the delivery is a request. */
  readonly reply: ((delivery: Delivery<T>, outcome: ReplyOutcome) => Promise<void>) | undefined;
  /** Batch mode: collect deliveries and call the batch handler. */
  readonly batch:
    | { readonly size: number; readonly waitMs: number; readonly handler: BatchHandler<T> }
    | undefined;
}

/** Runs a handler over a decoded subscription with bounded concurrency. */
export class HandlerRunner<T> implements HandlerSubscription {
  readonly done: Promise<void>;
  readonly #subscription: Subscription<Delivery<T>>;
  readonly #handler: Handler<T>;
  readonly #settings: RunnerSettings<T>;
  /** Handlers (or batches) running now, and who waits for a free slot or for none running. */
  #active = 0;
  /** Deliveries taken from the subscription and not yet settled (running or settling). */
  #unsettled = 0;
  #slotFreed: (() => void) | undefined;
  #drained: (() => void) | undefined;
  /**
   * Contexts of running handlers, so a stop past its deadline can abort their signals. Not a Set:
   * one that gains and loses an entry per message made short-lived objects survive
   * young-generation GCs (see SlotList).
   */
  readonly #contexts = new SlotList<HandlerContext<T>>();
  #stopReason: unknown;
  #closing: Promise<void> | undefined;
  #paused: { promise: Promise<void>; resume: () => void } | undefined;
  #handled = 0;
  #failed = 0;
  #lastError: string | undefined;
  #running = true;
  /** No middleware, filter, schema or metrics: what `#plain` needs besides per-delivery checks. */
  readonly #bare: boolean;

  constructor(subscription: Subscription<Delivery<T>>, handler: Handler<T>, settings: RunnerSettings<T>) {
    this.#subscription = subscription;
    this.#handler = handler;
    this.#settings = settings;
    this.#bare =
      settings.middleware.length === 0 &&
      settings.filter === undefined &&
      settings.schema === undefined &&
      !settings.telemetry.metrics;
    this.done = this.#run();
  }

  get subject(): string {
    return this.#subscription.subject;
  }
  get group(): string {
    return this.#subscription.group;
  }
  get paused(): boolean {
    return this.#paused !== undefined;
  }

  pause(): void {
    if (this.#paused !== undefined) return;
    let resume: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      resume = resolve;
    });
    this.#paused = { promise, resume };
    this.#settings.logger.info('subscription paused');
  }

  resume(): void {
    const paused = this.#paused;
    if (paused === undefined) return;
    this.#paused = undefined;
    paused.resume();
    this.#settings.logger.info('subscription resumed');
  }

  stats(): HandlerStats {
    return {
      subject: this.subject,
      group: this.group,
      running: this.#running,
      paused: this.paused,
      inFlight: this.#active,
      handled: this.#handled,
      failed: this.#failed,
      lastError: this.#lastError,
    };
  }

  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.deadlineMs ?? this.#settings.defaultDeadlineMs);
    return this.#closing;
  }

  async #close(deadlineMs: number): Promise<void> {
    await this.#subscription.close();
    this.resume();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([this.done.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      this.#stopReason = new Error('the broker is stopping');
      for (const ctx of this.#contexts.values()) ctx.abort(this.#stopReason);
      this.#settings.logger.warn(
        { inFlight: this.#active, deadlineMs },
        'handlers still running at the stop deadline; their deliveries stay unsettled and will be redelivered',
      );
    }
  }

  async #run(): Promise<void> {
    const iterator = this.#subscription[Symbol.asyncIterator]();
    try {
      if (this.#settings.batch !== undefined) {
        await this.#runBatches(iterator, this.#settings.batch);
        return;
      }
      const subscription = this.#subscription;
      let polled = 0;
      for (;;) {
        if (this.#paused !== undefined) await this.#paused.promise;
        // A delivery already buffered is taken without a promise; otherwise wait for one.
        let delivery = subscription.poll?.();
        if (delivery !== undefined && ++polled % YIELD_EVERY === 0) {
          // A long run of buffered deliveries with synchronous handlers never leaves this loop:
          // let waiting microtasks run now and then (the transport's fetch loop, woken by the
          // acks so far, can send its next read while the rest of the batch is handled), and
          // now and then the event loop itself, so sockets are read (a Pub/Sub buffer of many
          // thousands would otherwise hold the process for seconds while Redis's output buffers
          // for its connections fill up).
          if (polled >= TURN_EVERY) {
            polled = 0;
            await new Promise<void>((resolve) => setImmediate(resolve));
          } else {
            await undefined;
          }
          // Paused meanwhile: this delivery waits too.
          while (this.#paused !== undefined) await this.#paused.promise;
        }
        if (delivery === undefined) {
          // Nothing buffered: the wait below lets the event loop turn.
          polled = 0;
          const next = await iterator.next();
          if (next.done) break;
          delivery = next.value;
          // Paused while waiting for this delivery: it waits too.
          while (this.#paused !== undefined) await this.#paused.promise;
        }
        this.#active++;
        this.#unsettled++;
        if (this.#plain(delivery)) this.#handlePlain(delivery);
        else void this.#handle(delivery);
        if (this.#active >= this.#settings.concurrency) await this.#freeSlot();
      }
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      this.#settings.logger.error({ err: error }, 'subscription failed; handler stopped');
    } finally {
      this.#running = false;
      if (this.#unsettled > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
    }
  }

  /** Resolves once fewer than `concurrency` handlers run. */
  #freeSlot(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#slotFreed = resolve;
    });
  }

  /** A handler (or batch) finished running: its slot goes to the next delivery. */
  #slotDone(): void {
    this.#active--;
    const slotFreed = this.#slotFreed;
    if (slotFreed !== undefined) {
      this.#slotFreed = undefined;
      slotFreed();
    }
  }

  /** A delivery (or batch) was settled: the final drain may end. (An arrow: passed as a callback.) */
  readonly #settledOne = (): void => {
    this.#unsettled--;
    if (this.#unsettled === 0 && this.#drained !== undefined) this.#drained();
  };

  /** Collects up to `size` deliveries (or what arrived within `waitMs` of the first) per batch. */
  async #runBatches(
    iterator: AsyncIterator<Delivery<T>>,
    batch: NonNullable<RunnerSettings<T>['batch']>,
  ): Promise<void> {
    let pending = iterator.next();
    let ended = false;
    while (!ended) {
      if (this.#paused !== undefined) await this.#paused.promise;
      const first = await pending;
      if (first.done) break;
      const deliveries = [first.value];
      pending = iterator.next();
      const deadline = performance.now() + batch.waitMs;
      while (deliveries.length < batch.size) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'expired'>((resolve) => {
          timer = setTimeout(() => resolve('expired'), remaining);
        });
        const next = await Promise.race([pending, expired]);
        clearTimeout(timer);
        if (next === 'expired') break;
        if (next.done) {
          ended = true;
          break;
        }
        deliveries.push(next.value);
        pending = iterator.next();
      }
      this.#active++;
      this.#unsettled++;
      void this.#handleBatch(deliveries, batch.handler).finally(() => {
        this.#slotDone();
        this.#settledOne();
      });
      if (this.#active >= this.#settings.concurrency) await this.#freeSlot();
    }
  }

  async #handleBatch(deliveries: Delivery<T>[], handler: BatchHandler<T>): Promise<void> {
    const { filter, schema, logger } = this.#settings;
    const accepted: Delivery<T>[] = [];
    const bodies: T[] = [];
    for (const delivery of deliveries) {
      try {
        if (filter !== undefined && !(await filter(delivery.body, delivery))) {
          await delivery.ack();
          continue;
        }
        if (schema !== undefined) {
          const outcome = await validateWithSchema(schema, delivery.body);
          if (!outcome.ok) {
            await delivery.nack({ requeue: false, reason: `validation-failed: ${outcome.reason}` });
            continue;
          }
          bodies.push(outcome.value as T);
        } else {
          bodies.push(delivery.body);
        }
        accepted.push(delivery);
      } catch (error) {
        logger.error(
          { err: error, id: delivery.id },
          'could not filter or validate a delivery; it will be redelivered',
        );
      }
    }
    if (accepted.length === 0) return;
    let failure: unknown;
    let failed = false;
    try {
      await handler(bodies, accepted);
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.#record(failed, failure, accepted.length);
    await Promise.all(
      accepted.map((delivery) => this.#settle(delivery, this.#decide(delivery, failed, failure))),
    );
  }

  /**
   * True when a delivery needs nothing but the handler and its settlement: no middleware, filter,
   * schema, reply (it is no request), span or metric. Such deliveries take `#handlePlain`, which
   * makes no promise of its own; the rest take `#handle`.
   */
  #plain(delivery: Delivery<T>): boolean {
    const { reply, telemetry } = this.#settings;
    return (
      this.#bare &&
      (reply === undefined || delivery.headers['x-relaybus-reply-to'] === undefined) &&
      !telemetry.tracing()
    );
  }

  /**
   * `#handle` for a plain delivery (see `#plain`): the handler is called at once; a handler that
   * returns without a promise is settled in the same turn, one that returns a promise when it
   * resolves. Never throws.
   */
  #handlePlain(delivery: Delivery<T>): void {
    const ctx = new HandlerContext<T>(delivery, this.group, this.#settings.logger, this, this.#stopReason);
    let result: unknown;
    try {
      result = this.#handler(delivery.body, delivery, ctx);
    } catch (error) {
      this.#plainDone(delivery, ctx, true, error);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      // Still running after it returned: a stop past its deadline may need to abort its signal.
      this.#contexts.add(ctx);
      (result as PromiseLike<unknown>).then(
        () => this.#plainDone(delivery, ctx, false, undefined),
        (error: unknown) => this.#plainDone(delivery, ctx, true, error),
      );
      return;
    }
    this.#plainDone(delivery, ctx, false, undefined);
  }

  /** A plain handler finished: count it, free its slot, settle the delivery. */
  #plainDone(delivery: Delivery<T>, ctx: HandlerContext<T>, failed: boolean, failure: unknown): void {
    this.#contexts.delete(ctx);
    this.#record(failed, failure);
    let decision: NackOptions | 'ack' = 'ack';
    try {
      decision = this.#decide(delivery, failed, failure);
    } catch (error) {
      this.#settings.logger.error(
        { err: error, id: delivery.id },
        'unexpected failure around a handler; the delivery will be redelivered',
      );
      this.#slotDone();
      this.#settledOne();
      return;
    }
    this.#slotDone();
    void this.#settle(delivery, decision, this.#settledOne);
  }

  /** Runs one delivery through middleware, filter, schema and handler, then settles it. Never rejects. */
  async #handle(delivery: Delivery<T>): Promise<void> {
    const { telemetry, logger, middleware } = this.#settings;
    const ctx = new HandlerContext<T>(delivery, this.group, logger, this, this.#stopReason);
    this.#contexts.add(ctx);
    let slotHeld = true;
    /** Set once #settle took over counting the delivery as settled. */
    let handedOver = false;
    try {
      const span = telemetry.startProcess(delivery.subject, this.group, delivery.id, delivery.headers);
      const started = span === undefined && !telemetry.metrics ? 0 : performance.now();
      let failure: unknown;
      let failed = false;
      try {
        if (span === undefined && middleware.length === 0) {
          await this.#invoke(delivery, ctx);
        } else {
          await telemetry.with(span?.ctx, () =>
            middleware.length === 0
              ? this.#invoke(delivery, ctx)
              : runConsumeChain(middleware, ctx as ConsumeContext, () => this.#invoke(delivery, ctx)),
          );
        }
      } catch (error) {
        failed = true;
        failure = error;
      }
      if (started !== 0) {
        telemetry.endProcess(
          span,
          delivery.subject,
          this.group,
          performance.now() - started,
          failed ? failure : undefined,
        );
      }
      this.#record(failed, failure);
      const decision = this.#decide(delivery, failed, failure);
      const reply = this.#settings.reply;
      if (reply !== undefined && delivery.headers['x-relaybus-reply-to'] !== undefined) {
        const outcome =
          decision === 'ack' ? { ok: true as const, value: ctx.result } : replyOnFailure(decision);
        if (outcome !== undefined) {
          try {
            await reply(delivery, outcome);
          } catch (error) {
            logger.warn(
              { err: error, id: delivery.id },
              'could not send the reply; the request will time out',
            );
          }
        }
      }
      // The handler is done: its slot goes to the next delivery while the settlement travels.
      slotHeld = false;
      this.#slotDone();
      // Not awaited: this frame (and the delivery in it) ends while the settlement travels.
      void this.#settle(delivery, decision, this.#settledOne);
      handedOver = true;
    } catch (error) {
      logger.error(
        { err: error, id: delivery.id },
        'unexpected failure around a handler; the delivery will be redelivered',
      );
    } finally {
      this.#contexts.delete(ctx);
      if (slotHeld) this.#slotDone();
      if (!handedOver) this.#settledOne();
    }
  }

  /** Counts `count` handled (or failed) deliveries for `stats()`. */
  #record(failed: boolean, failure: unknown, count = 1): void {
    if (failed) {
      this.#failed += count;
      this.#lastError = failure instanceof Error ? failure.message : String(failure);
    } else {
      this.#handled += count;
    }
  }

  /** How a delivery is settled after its handler ran: ack, or the retry policy's nack (logged once). */
  #decide(delivery: Delivery<T>, failed: boolean, failure: unknown): NackOptions | 'ack' {
    return failed ? this.#nackFor(delivery, failure, !delivery.settled) : 'ack';
  }

  /**
   * Settles a delivery; resolves (and calls `then`) once the transport recorded it. Never rejects:
   * a failure is logged and the delivery comes back. Not async, and its callbacks keep the id and
   * subject only, so the delivery and its body are not kept alive for the settlement's round trip.
   */
  #settle(delivery: Delivery<T>, settlement: NackOptions | 'ack', then?: () => void): Promise<void> {
    const { telemetry, logger } = this.#settings;
    if (delivery.settled) {
      then?.();
      return Promise.resolve();
    }
    const { id, subject } = delivery;
    let settling: Promise<void>;
    try {
      settling = settlement === 'ack' ? delivery.ack() : delivery.nack(settlement);
    } catch (error) {
      settling = Promise.reject(error);
    }
    return settling.then(
      () => {
        if (telemetry.metrics)
          telemetry.recordSettlement(
            subject,
            this.group,
            settlement === 'ack' ? 'ack' : settlement.requeue === false ? 'dead-letter' : 'requeue',
          );
        then?.();
      },
      (error: unknown) => {
        logger.error({ err: error, id }, 'could not settle a delivery; it will be redelivered');
        then?.();
      },
    );
  }

  /** Filter, then schema, then the handler: the innermost step of the onion. */
  async #invoke(delivery: Delivery<T>, ctx: HandlerContext<T>): Promise<void> {
    let body = delivery.body;
    const { filter, schema } = this.#settings;
    if (filter !== undefined && !(await filter(body, delivery))) {
      ctx.logger.debug({ id: delivery.id }, 'filtered out; acking without handling');
      await delivery.ack();
      return;
    }
    if (schema !== undefined) {
      const outcome = await validateWithSchema(schema, body);
      if (!outcome.ok) {
        ctx.logger.warn(
          { id: delivery.id, issues: outcome.reason },
          'body failed validation; dead-lettering it',
        );
        await delivery.nack({ requeue: false, reason: `validation-failed: ${outcome.reason}` });
        return;
      }
      body = outcome.value as T;
    }
    ctx.result = await this.#handler(body, delivery, ctx);
  }

  #nackFor(delivery: Delivery<T>, error: unknown, log = true): NackOptions {
    const { retry, capabilities } = this.#settings;
    const logger = log ? this.#settings.logger : silentLogger;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Reject || isNotRetryable(error)) {
      logger.warn({ id: delivery.id, reason: message }, 'handler rejected a message; dead-lettering it');
      return { requeue: false, reason: `rejected: ${message}` };
    }
    if (delivery.deliveryCount >= retry.maxDeliveries) {
      logger.warn(
        { id: delivery.id, deliveryCount: delivery.deliveryCount, err: error },
        'handler failed on the last allowed delivery; dead-lettering the message',
      );
      return { requeue: false, reason: `max-deliveries: ${message}` };
    }
    if (!capabilities.requeue) {
      logger.warn(
        { id: delivery.id, err: error },
        'handler failed and the transport cannot redeliver; dead-lettering the message (dropped where there are no dead letters)',
      );
      return { requeue: false, reason: `failed-without-requeue: ${message}` };
    }
    const delayMs = capabilities.delayedRequeue
      ? retryDelayMs(retry.backoff, delivery.deliveryCount, error)
      : 0;
    logger.info(
      { id: delivery.id, deliveryCount: delivery.deliveryCount, delayMs, err: error },
      'handler failed; retrying',
    );
    return { requeue: true, delayMs };
  }
}

/** A failed request is answered only when it will not be retried. */
function replyOnFailure(nack: NackOptions): ReplyOutcome | undefined {
  if (nack.requeue !== false) return undefined;
  return { ok: false, error: nack.reason ?? 'failed' };
}

function isNotRetryable(error: unknown): boolean {
  return error !== null && typeof error === 'object' && 'retryable' in error && error.retryable === false;
}

/**
 * The context of one handler run. Its abort signal and state map are made on first use: most
 * handlers never look at them, and an AbortController per message was the runtime's largest cost.
 */
class HandlerContext<T> implements ConsumeContext<T> {
  readonly delivery: Delivery<T>;
  readonly group: string;
  readonly logger: Logger;
  readonly subscription: SubscriptionControl;
  /** What the handler returned (the reply of a request). */
  result: unknown;
  /** Where the runner's list of running handlers keeps it (-1: not listed). */
  slot = -1;
  #controller: AbortController | undefined;
  #state: Map<string, unknown> | undefined;
  /** Set when the context was made after a stop deadline passed: its signal starts aborted. */
  #abortedWith: unknown;

  constructor(
    delivery: Delivery<T>,
    group: string,
    logger: Logger,
    subscription: SubscriptionControl,
    abortedWith: unknown,
  ) {
    this.delivery = delivery;
    this.group = group;
    this.logger = logger;
    this.subscription = subscription;
    this.#abortedWith = abortedWith;
  }

  get subject(): string {
    return this.delivery.subject;
  }

  get signal(): AbortSignal {
    return this.#abortController().signal;
  }

  get state(): Map<string, unknown> {
    this.#state ??= new Map();
    return this.#state;
  }

  abort(reason?: unknown): void {
    if (this.#controller === undefined && this.#abortedWith === undefined) {
      // Nobody holds the signal yet: remember the reason; the signal starts aborted if asked for.
      this.#abortedWith = reason ?? new DOMException('This operation was aborted', 'AbortError');
      return;
    }
    this.#abortController().abort(reason);
  }

  #abortController(): AbortController {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortedWith !== undefined) this.#controller.abort(this.#abortedWith);
    }
    return this.#controller;
  }
}
