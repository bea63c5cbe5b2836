import type { Middleware } from '../middleware.js';
import { checkInteger } from '../options.js';

/** Options of `circuitBreaker()`. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one trial delivery is let through. */
  readonly openMs: number;
}

/** State of a circuit breaker, for health checks and tests. */
export interface CircuitBreaker extends Middleware {
  readonly state: 'closed' | 'open' | 'half-open';
}

/**
 * Stops hammering a failing dependency: after `failureThreshold` consecutive handler failures the
 * circuit opens, the subscription is paused for `openMs` (fetched deliveries wait, nothing new is
 * fetched), and the delivery that tripped it is retried after `openMs`. Then one delivery is tried
 * (half-open): success closes the circuit, failure opens it again.
 */
export function circuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const failureThreshold = checkInteger('circuitBreaker.failureThreshold', options?.failureThreshold, 1);
  const openMs = checkInteger('circuitBreaker.openMs', options.openMs, 1);
  let state: CircuitBreaker['state'] = 'closed';
  let failures = 0;

  return {
    name: 'circuit-breaker',
    get state() {
      return state;
    },
    async consume(ctx, next) {
      try {
        await next();
        failures = 0;
        state = 'closed';
      } catch (error) {
        failures++;
        if (state === 'half-open' || failures >= failureThreshold) {
          state = 'open';
          ctx.logger.warn({ failures, openMs, err: error }, 'circuit opened; pausing the subscription');
          ctx.subscription.pause();
          setTimeout(() => {
            state = 'half-open';
            ctx.subscription.resume();
          }, openMs).unref();
          if (!ctx.delivery.settled) await ctx.delivery.nack({ requeue: true, delayMs: openMs });
          return;
        }
        throw error;
      }
    },
  };
}
