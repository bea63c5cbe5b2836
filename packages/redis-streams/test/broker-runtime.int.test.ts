import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Broker, type BrokerOptions, type Middleware, Reject, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RedisStreamsTransport, StreamsInspector } from '../src/index.js';

let server: RedisServer | undefined;

beforeAll(async () => {
  server = await startRedis();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(async () => {
  propagation.disable();
  await server?.stop();
});

function transport(): RedisStreamsTransport {
  if (server === undefined) throw new Error('the Redis server is not started yet');
  return new RedisStreamsTransport({
    connection: { url: server.url },
    minIdleMs: 500,
    blockMs: 1_000,
    delayedPollMs: 100,
    logger: silentLogger,
  });
}

function setup(options: Omit<BrokerOptions, 'transport' | 'logger'> = {}) {
  const t = transport();
  const broker = new Broker({ transport: t, logger: silentLogger, ...options });
  const reasons = async (subject: string) =>
    (await t.deadLetters(subject)).map((letter) => letter.headers['x-relaybus-dead-letter-reason']);
  return { transport: t, broker, reasons };
}

describe('Broker runtime on Redis Streams', () => {
  it('retries a failing handler with fixed backoff, then dead-letters it with reason max-deliveries', async () => {
    const { broker, reasons } = setup();
    const s = randomSubject('rt-retry');
    const attempts: Array<{ count: number; at: number }> = [];
    await broker.subscribe(
      s,
      (_body, delivery) => {
        attempts.push({ count: delivery.deliveryCount, at: performance.now() });
        throw new Error('downstream unavailable');
      },
      { retry: { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 100 } } },
    );
    await broker.publish(s, { n: 1 });
    await until(async () => (await reasons(s)).length === 1, 8_000, 'the dead letter');
    expect(await reasons(s)).toEqual(['max-deliveries: downstream unavailable']);
    expect(attempts.map((a) => a.count)).toEqual([1, 2]);
    // The second delivery waited for the backoff (timer slack allowed below).
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(90);
    await broker.stop();
  });

  it('dead-letters a body that fails the zod schema with validation-failed and hands the valid one typed', async () => {
    const { broker, reasons } = setup();
    const s = randomSubject('rt-schema');
    const doubled: number[] = [];
    const skus: string[] = [];
    await broker.subscribe(
      s,
      (body) => {
        // Typed from the schema output: `quantity` is a number, `sku` a string.
        doubled.push(body.quantity * 2);
        skus.push(body.sku.toUpperCase());
      },
      { schema: z.object({ sku: z.string(), quantity: z.number().int().positive() }) },
    );
    await broker.publish(s, { sku: 'a-1', quantity: 'two' });
    await broker.publish(s, { sku: 'a-1', quantity: 21 });
    await until(() => doubled.length === 1, 5_000, 'the valid body');
    await until(async () => (await reasons(s)).length === 1, 5_000, 'the dead letter');
    expect(doubled).toEqual([42]);
    expect(skus).toEqual(['A-1']);
    const [reason] = await reasons(s);
    expect(reason).toMatch(/^validation-failed:/);
    expect(reason).toContain('quantity');
    await broker.stop();
  });

  it('runs consume middleware broker → subscription → handler, and a publish middleware header reaches the handler', async () => {
    const order: string[] = [];
    const tracer = (name: string): Middleware => ({
      name,
      async consume(_ctx, next) {
        order.push(`${name}>`);
        await next();
        order.push(`<${name}`);
      },
    });
    const stamp: Middleware = {
      name: 'stamp',
      async publish(ctx, next) {
        for (const item of ctx.items) item.headers['x-tenant'] = 'acme';
        return next();
      },
    };
    const { broker } = setup({ middleware: [tracer('b1'), tracer('b2'), stamp] });
    const s = randomSubject('rt-mw');
    const tenants: string[] = [];
    await broker.subscribe(
      s,
      (_body, delivery) => {
        order.push('handler');
        tenants.push(delivery.headers['x-tenant'] ?? '');
      },
      { middleware: [tracer('s1')] },
    );
    await broker.publish(s, 1);
    await until(() => order.length === 7, 5_000, 'the middleware chain');
    expect(order).toEqual(['b1>', 'b2>', 's1>', 'handler', '<s1', '<b2', '<b1']);
    expect(tenants).toEqual(['acme']);
    await broker.stop();
  });

  it('answers a request across two Brokers on two transports, reports a Reject as RELAYBUS_REQUEST_FAILED and silence as RELAYBUS_TIMEOUT', async () => {
    const { broker: responder } = setup();
    const { broker: client } = setup();
    const sum = randomSubject('rt-sum');
    const refuse = randomSubject('rt-refuse');
    await responder.subscribe(sum, (body: { a: number; b: number }) => ({ sum: body.a + body.b }));
    await responder.subscribe(refuse, () => {
      throw new Reject('unknown account');
    });
    const replies = await Promise.all(
      [1, 2, 3].map((a) => client.request<{ sum: number }>(sum, { a, b: 10 }, { timeoutMs: 5_000 })),
    );
    expect(replies).toEqual([{ sum: 11 }, { sum: 12 }, { sum: 13 }]);
    await expect(client.request(refuse, {}, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'RELAYBUS_REQUEST_FAILED',
      message: expect.stringContaining('unknown account'),
    });
    await expect(
      client.request(randomSubject('rt-nobody'), 'hello', { timeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'RELAYBUS_TIMEOUT' });
    await client.stop();
    await responder.stop();
  });

  it('subscribeBatch hands over batches no larger than batchSize and acks every delivery (nothing pending)', async () => {
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-batch');
    const sizes: number[] = [];
    const seen: number[] = [];
    await broker.subscribeBatch<number>(
      s,
      (bodies) => {
        sizes.push(bodies.length);
        seen.push(...bodies);
      },
      { batchSize: 4, batchWaitMs: 30, prefetch: 16 },
    );
    await broker.publishMany(
      s,
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
    );
    await until(() => seen.length === 10, 5_000, 'all ten bodies');
    expect(sizes.every((size) => size >= 1 && size <= 4)).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const inspector = new StreamsInspector(t);
    await until(async () => (await inspector.pending(s, 'default')) === 0, 5_000, 'no pending entries');
    expect(await inspector.pending(s, 'default')).toBe(0);
    expect(await t.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('health() reports connected and the subscription handled count', async () => {
    const { broker } = setup();
    const s = randomSubject('rt-health');
    await broker.subscribe(s, () => {});
    await broker.publishMany(s, [{ body: 1 }, { body: 2 }, { body: 3 }]);
    await until(() => broker.health().subscriptions[0]?.handled === 3, 5_000, 'three handled');
    const health = broker.health();
    expect(health).toMatchObject({ status: 'running', connected: true });
    expect(health.subscriptions[0]).toMatchObject({ subject: s, group: 'default', handled: 3, failed: 0 });
    await broker.stop();
  });

  it('carries a W3C traceparent header from publish to the delivery when a propagator is registered', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { broker } = setup({ telemetry: { tracerProvider } });
    const s = randomSubject('rt-trace');
    let traceparent: string | undefined;
    await broker.subscribe(s, (_body, delivery) => {
      traceparent = delivery.headers.traceparent;
    });
    await broker.publish(s, { n: 1 });
    await until(() => traceparent !== undefined, 5_000, 'the traced delivery');
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const send = exporter.getFinishedSpans().find((span) => span.name === `send ${s}`);
    expect(traceparent).toContain(send?.spanContext().traceId);
    await broker.stop();
    await tracerProvider.shutdown();
  });
});
