import { Broker, dedupe, type Middleware, silentLogger, timeout } from '@relaybus/core';
import { MemoryTransport } from '@relaybus/memory';

/** A tenant header stamped on publish, checked on consume; duplicates skipped; slow handlers timed out. */
export async function middleware(print: (line: string) => void = console.log): Promise<string[]> {
  const tenant: Middleware = {
    name: 'tenant',
    async publish(ctx, next) {
      for (const item of ctx.items) item.headers['x-tenant'] ??= 'acme';
      return next();
    },
    async consume(ctx, next) {
      ctx.state.set('tenant', ctx.delivery.headers['x-tenant']);
      await next();
    },
  };
  const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger, middleware: [tenant] });
  const seen: string[] = [];
  await broker.subscribe(
    'invoices',
    (body: { n: number }, _delivery, ctx) =>
      void seen.push(`invoice ${body.n} for ${ctx.state.get('tenant')}`),
    { middleware: [dedupe({ windowMs: 60_000 }), timeout({ ms: 1_000 })] },
  );
  await broker.publish('invoices', { n: 1 }, { id: 'inv-1' });
  await broker.publish('invoices', { n: 1 }, { id: 'inv-1' });
  await broker.publish('invoices', { n: 2 }, { id: 'inv-2' });
  for (let i = 0; seen.length < 2 && i < 200; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const line of seen) print(line);
  await broker.stop();
  return seen;
}
