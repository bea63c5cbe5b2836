import { TimeoutError } from '../errors.js';
import type { Middleware } from '../middleware.js';
import { checkInteger } from '../options.js';

/**
 * Fails a handler that runs longer than `ms`: the delivery is retried by the retry policy and
 * `ctx.signal` is aborted so a handler that watches it can stop. JavaScript cannot stop a
 * handler that ignores the signal; it runs on, but its outcome no longer settles the delivery.
 */
export function timeout(options: { ms: number }): Middleware {
  const ms = checkInteger('timeout.ms', options?.ms, 1);
  return {
    name: 'timeout',
    async consume(ctx, next) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new TimeoutError(`handler for ${ctx.subject} took longer than ${ms} ms`);
          ctx.abort(error);
          reject(error);
        }, ms);
      });
      try {
        await Promise.race([next(), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
