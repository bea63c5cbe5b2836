import type { Logger } from '../logger.js';
import type { Middleware } from '../middleware.js';

/** Options of `logging()`. */
export interface LoggingOptions {
  /** Logger to use instead of the broker's. */
  readonly logger?: Logger;
  /** Level of the per-message lines. Default `debug`; failures are always logged at `warn`. */
  readonly level?: 'debug' | 'info';
}

/**
 * Logs every publish (subject, count) and every handled delivery (id, delivery count, duration,
 * outcome) through pino. Failures are logged at `warn` with the error.
 */
export function logging(options: LoggingOptions = {}): Middleware {
  const level = options.level ?? 'debug';
  return {
    name: 'logging',
    async publish(ctx, next) {
      const logger = options.logger ?? ctx.logger;
      const results = await next();
      logger[level](
        { subject: ctx.subject, count: ctx.items.length, ids: results.map((r) => r.id) },
        'published',
      );
      return results;
    },
    async consume(ctx, next) {
      const logger = options.logger ?? ctx.logger;
      const started = performance.now();
      const fields = {
        subject: ctx.subject,
        group: ctx.group,
        id: ctx.delivery.id,
        deliveryCount: ctx.delivery.deliveryCount,
      };
      try {
        await next();
        logger[level]({ ...fields, durationMs: performance.now() - started }, 'handled');
      } catch (error) {
        logger.warn({ ...fields, durationMs: performance.now() - started, err: error }, 'handler failed');
        throw error;
      }
    },
  };
}
