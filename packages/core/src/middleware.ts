import type { Delivery, PublishResult } from './contract.js';
import type { Headers } from './headers.js';
import type { Logger } from './logger.js';

/** Controls of the subscription a delivery came from, for middleware such as a circuit breaker. */
export interface SubscriptionControl {
  /** Stops pulling new deliveries (running handlers go on; fetched deliveries wait). */
  pause(): void;
  /** Pulls again after `pause()`. */
  resume(): void;
  readonly paused: boolean;
}

/** What consume middleware and handlers see of one delivery. */
export interface ConsumeContext<T = unknown> {
  readonly subject: string;
  readonly group: string;
  readonly delivery: Delivery<T>;
  /** Logger bound to subject, group and message id. */
  readonly logger: Logger;
  /** Aborted when the handler should give up: a timeout middleware fired or the broker stops. */
  readonly signal: AbortSignal;
  /** Aborts `signal` (the handler should give up); the delivery's outcome is still what `next()` yields. */
  abort(reason?: unknown): void;
  /** The subscription, to pause or resume it. */
  readonly subscription: SubscriptionControl;
  /** Scratch space shared by the middleware of one delivery. */
  readonly state: Map<string, unknown>;
}

/**
 * Wraps the handling of one delivery. Call `next()` to run the inner middleware and finally the
 * handler; throw to fail the delivery (retry policy applies); settle `ctx.delivery` yourself and
 * skip `next()` to short-circuit (e.g. acking a duplicate).
 */
export type ConsumeMiddleware = (ctx: ConsumeContext, next: () => Promise<void>) => Promise<void>;

/** One message on its way out, before encoding; middleware may change `body` and `headers`. */
export interface PublishItem {
  body: unknown;
  headers: Headers;
  key: string | undefined;
  id: string | undefined;
  delayMs: number | undefined;
}

/** What publish middleware sees: a batch of one (`publish`) or many (`publishMany`) messages. */
export interface PublishContext {
  readonly subject: string;
  readonly items: PublishItem[];
  readonly logger: Logger;
}

/** Wraps publishing; call `next()` to encode and hand the items to the transport. */
export type PublishMiddleware = (
  ctx: PublishContext,
  next: () => Promise<PublishResult[]>,
) => Promise<PublishResult[]>;

/**
 * A middleware: a name (for logs) and what it wraps. Given to the Broker (every subscription
 * and every publish) or to one subscription. Order is the onion: the first middleware of the
 * broker is the outermost, then the broker's others, then the subscription's, then the handler.
 */
export interface Middleware {
  readonly name: string;
  readonly publish?: PublishMiddleware;
  readonly consume?: ConsumeMiddleware;
}

/** Runs `inner` wrapped by the consume middleware of `chain`, outermost first. */
export function runConsumeChain(
  chain: readonly ConsumeMiddleware[],
  ctx: ConsumeContext,
  inner: () => Promise<void>,
): Promise<void> {
  const step = (index: number): Promise<void> => {
    if (index === chain.length) return inner();
    const middleware = chain[index] as ConsumeMiddleware;
    let called = false;
    return middleware(ctx, () => {
      if (called) return Promise.reject(new Error('next() called twice by a consume middleware'));
      called = true;
      return step(index + 1);
    });
  };
  return step(0);
}

/** Runs `inner` wrapped by the publish middleware of `chain`, outermost first. */
export function runPublishChain(
  chain: readonly PublishMiddleware[],
  ctx: PublishContext,
  inner: () => Promise<PublishResult[]>,
): Promise<PublishResult[]> {
  const step = (index: number): Promise<PublishResult[]> => {
    if (index === chain.length) return inner();
    const middleware = chain[index] as PublishMiddleware;
    return middleware(ctx, () => step(index + 1));
  };
  return step(0);
}
