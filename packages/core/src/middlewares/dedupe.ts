import type { Middleware } from '../middleware.js';
import { checkInteger } from '../options.js';

/** Options of `dedupe()`. */
export interface DedupeOptions {
  /** How long a handled id is remembered. */
  readonly windowMs: number;
  /** Most ids remembered; the oldest are forgotten first. Default 100 000. */
  readonly maxEntries?: number;
  /** The key to deduplicate by. Default: the message id. */
  readonly key?: (delivery: { id: string; headers: Record<string, string> }) => string;
}

/**
 * Acks and skips a delivery whose id (or key) was handled successfully within the window, in this
 * process. Publish with your own `id` to make retried publishes idempotent end to end. Ids of
 * failed handlers are not remembered, so retries still run.
 */
export function dedupe(options: DedupeOptions): Middleware {
  const windowMs = checkInteger('dedupe.windowMs', options?.windowMs, 1);
  const maxEntries = checkInteger('dedupe.maxEntries', options.maxEntries ?? 100_000, 1);
  const keyOf = options.key ?? ((delivery) => delivery.id);
  const seen = new Map<string, number>();

  const forgetExpired = (now: number) => {
    for (const [key, at] of seen) {
      if (now - at < windowMs && seen.size <= maxEntries) break;
      seen.delete(key);
    }
  };

  return {
    name: 'dedupe',
    async consume(ctx, next) {
      const now = Date.now();
      forgetExpired(now);
      const key = keyOf(ctx.delivery);
      const at = seen.get(key);
      if (at !== undefined && now - at < windowMs) {
        ctx.logger.debug(
          { id: ctx.delivery.id, key },
          'duplicate within the dedupe window; acking without handling',
        );
        await ctx.delivery.ack();
        return;
      }
      await next();
      seen.delete(key);
      seen.set(key, Date.now());
    },
  };
}
