import type { Middleware } from '../middleware.js';
import { checkNumber } from '../options.js';

/** Options of `rateLimit()`. */
export interface RateLimitOptions {
  /** Handlers started per second, on average. */
  readonly perSecond: number;
  /** Handlers that may start at once after a quiet period. Default 1. */
  readonly burst?: number;
}

/**
 * Throttles handler starts to `perSecond` with a token bucket shared by every subscription the
 * middleware is given to. A delivery waits (held, so not redelivered elsewhere) for its token.
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const perSecond = checkNumber('rateLimit.perSecond', options?.perSecond, Number.MIN_VALUE);
  const burst = checkNumber('rateLimit.burst', options.burst ?? 1, 1);
  let tokens = burst;
  let refilledAt = performance.now();
  let queue = Promise.resolve();

  const take = async (): Promise<void> => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
    if (tokens < 1) {
      const waitMs = ((1 - tokens) / perSecond) * 1000;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      tokens = Math.min(burst, tokens + (waitMs / 1000) * perSecond);
      refilledAt = performance.now();
    }
    tokens -= 1;
  };

  return {
    name: 'rate-limit',
    async consume(_ctx, next) {
      // Serialise token taking so waiters start in arrival order.
      const turn = queue.then(take);
      queue = turn.catch(() => {});
      await turn;
      await next();
    },
  };
}
