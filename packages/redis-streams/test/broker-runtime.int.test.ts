import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  Broker,
  type BrokerOptions,
  circuitBreaker,
  dedupe,
  handleSignals,
  type Middleware,
  Reject,
  rateLimit,
  silentLogger,
  timeout,
} from '@relaybus/core';
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
    // The ack connection opens lazily with the first XACK: wait for it rather than race it.
    await until(
      () => broker.health().subscriptions[0]?.handled === 3 && broker.health().connected,
      5_000,
      'three handled, every connection up',
    );
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

  it('acks and skips what the filter refuses: the handler sees only accepted bodies and nothing stays pending', async () => {
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-filter');
    const seen: number[] = [];
    await broker.subscribe(s, (body: number) => void seen.push(body), {
      filter: (body) => (body as number) % 2 === 0,
    });
    await broker.publishMany(
      s,
      [1, 2, 3, 4, 5, 6].map((body) => ({ body })),
    );
    await until(() => seen.length === 3, 5_000, 'the three accepted bodies');
    const inspector = new StreamsInspector(t);
    await until(async () => (await inspector.pending(s, 'default')) === 0, 5_000, 'no pending entries');
    expect([...seen].sort((a, b) => a - b)).toEqual([2, 4, 6]);
    expect(await inspector.pending(s, 'default')).toBe(0);
    expect(await t.deadLetters(s)).toHaveLength(0);
    expect(broker.health().subscriptions[0]).toMatchObject({ failed: 0 });
    await broker.stop();
  });

  it('timeout() fails a slow first delivery, aborting its signal, and the retry with deliveryCount 2 succeeds', async () => {
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-timeout');
    const attempts: Array<{ count: number; aborted: boolean }> = [];
    await broker.subscribe(
      s,
      async (_body, delivery, ctx) => {
        if (delivery.deliveryCount === 1) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          attempts.push({ count: 1, aborted: ctx.signal.aborted });
          return;
        }
        attempts.push({ count: delivery.deliveryCount, aborted: ctx.signal.aborted });
      },
      { middleware: [timeout({ ms: 100 })], retry: { maxDeliveries: 3, backoff: { kind: 'none' } } },
    );
    await broker.publish(s, 'slow');
    await until(() => attempts.length === 2, 8_000, 'the timed-out delivery and its retry');
    expect(attempts).toEqual([
      { count: 1, aborted: true },
      { count: 2, aborted: false },
    ]);
    const inspector = new StreamsInspector(t);
    await until(async () => (await inspector.pending(s, 'default')) === 0, 5_000, 'no pending entries');
    expect(await t.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('dedupe() acks a second publish with the same id without running the handler', async () => {
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-dedupe');
    const seen: unknown[] = [];
    const ids: string[] = [];
    await broker.subscribe(
      s,
      (body, delivery) => {
        seen.push(body);
        ids.push(delivery.id);
      },
      { middleware: [dedupe({ windowMs: 60_000 })] },
    );
    await broker.publish(s, 'first', { id: 'order-1' });
    await until(() => seen.length === 1, 5_000, 'the first delivery');
    await broker.publish(s, 'again', { id: 'order-1' });
    await broker.publish(s, 'other', { id: 'order-2' });
    await until(() => seen.length === 2, 5_000, 'the second distinct delivery');
    const inspector = new StreamsInspector(t);
    // The duplicate was acked, not left pending or dead-lettered.
    await until(async () => (await inspector.pending(s, 'default')) === 0, 5_000, 'no pending entries');
    expect(seen).toEqual(['first', 'other']);
    expect(ids).toEqual(['order-1', 'order-2']);
    expect(await t.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('circuitBreaker() opens after consecutive failures, pauses the subscription, then handles the message once the dependency recovers', async () => {
    const breaker = circuitBreaker({ failureThreshold: 2, openMs: 300 });
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-breaker');
    let healthy = false;
    let failures = 0;
    const handled: number[] = [];
    const subscription = await broker.subscribe(
      s,
      (body: number) => {
        if (!healthy) {
          failures++;
          throw new Error('dependency down');
        }
        handled.push(body);
      },
      { middleware: [breaker], retry: { maxDeliveries: 20, backoff: { kind: 'none' } } },
    );
    await broker.publish(s, 1);
    await until(() => breaker.state === 'open', 8_000, 'the circuit to open');
    expect(subscription.paused).toBe(true);
    expect(failures).toBeGreaterThanOrEqual(2);
    healthy = true;
    await until(() => handled.length === 1, 8_000, 'the message handled after recovery');
    expect(handled).toEqual([1]);
    expect(breaker.state).toBe('closed');
    expect(subscription.paused).toBe(false);
    const inspector = new StreamsInspector(t);
    await until(async () => (await inspector.pending(s, 'default')) === 0, 5_000, 'no pending entries');
    expect(await t.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('rateLimit() spaces handler starts to the configured rate', async () => {
    const { broker } = setup();
    const s = randomSubject('rt-rate');
    const starts: number[] = [];
    await broker.subscribe(s, () => void starts.push(performance.now()), {
      concurrency: 10,
      middleware: [rateLimit({ perSecond: 50 })],
    });
    await broker.publishMany(
      s,
      Array.from({ length: 6 }, (_, i) => ({ body: i })),
    );
    await until(() => starts.length === 6, 5_000, 'six handler starts');
    // Five gaps of 20 ms each at 50/s; allow timer slack below.
    expect((starts[5] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(90);
    await broker.stop();
  });

  it('counts sent, consumed and settled messages by outcome through a MeterProvider', async () => {
    class TestReader extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected async onForceFlush(): Promise<void> {}
      protected async onShutdown(): Promise<void> {}
    }
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const { broker } = setup({ telemetry: { meterProvider } });
    const s = randomSubject('rt-metrics');
    let done = 0;
    await broker.subscribe(
      s,
      (body: number) => {
        done++;
        if (body === 3) throw new Error('no');
      },
      { retry: { maxDeliveries: 1 } },
    );
    await broker.publishMany(s, [{ body: 1 }, { body: 2 }, { body: 3 }]);
    await until(() => done === 3, 5_000, 'three handler runs');
    const collect = async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    };
    const settledTotal = (metrics: Awaited<ReturnType<typeof collect>>) =>
      (metrics.find((m) => m.descriptor.name === 'relaybus.messages.settled')?.dataPoints ?? []).reduce(
        (total, point) => total + (point.value as number),
        0,
      );
    await until(async () => settledTotal(await collect()) === 3, 5_000, 'three settlements');
    const metrics = await collect();
    const sum = (name: string) =>
      metrics
        .find((m) => m.descriptor.name === name)
        ?.dataPoints.reduce((total, point) => total + (point.value as number), 0);
    expect(sum('messaging.client.sent.messages')).toBe(3);
    expect(sum('messaging.client.consumed.messages')).toBe(3);
    const settled = metrics.find((m) => m.descriptor.name === 'relaybus.messages.settled');
    const byOutcome = Object.fromEntries(
      (settled?.dataPoints ?? []).map((point) => [point.attributes['relaybus.settlement'], point.value]),
    );
    expect(byOutcome).toEqual({ ack: 2, 'dead-letter': 1 });
    expect(metrics.some((m) => m.descriptor.name === 'messaging.process.duration')).toBe(true);
    await broker.stop();
    await meterProvider.shutdown();
  });

  it('asyncapi() lists the subscribed subject channel and names the Redis Streams transport', async () => {
    const { broker, transport: t } = setup();
    const s = randomSubject('rt-asyncapi');
    await broker.subscribe(s, () => {}, { group: 'billing', schema: z.object({ id: z.string() }) });
    const doc = broker.asyncapi({ title: 'Shop', version: '1.0.0' });
    const id = s.replace(/[^A-Za-z0-9_-]/g, '_');
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels[id]).toMatchObject({ address: s });
    expect(doc.operations[`receive_${id}_billing`]).toMatchObject({
      action: 'receive',
      'x-relaybus-group': 'billing',
    });
    expect(t.name).toBe('redis-streams');
    expect(doc['x-relaybus-transport']).toMatchObject({ name: t.name });
    await broker.stop();
  });

  it('handleSignals() stops the broker on the signal after the running handler finished', async () => {
    const { broker } = setup();
    const s = randomSubject('rt-signals');
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await broker.subscribe(s, async () => {
      events.push('started');
      await gate;
      events.push(`finished while ${broker.health().status}`);
    });
    const listenersBefore = process.listenerCount('SIGUSR2');
    const dispose = handleSignals(broker, { exit: false, signals: ['SIGUSR2'] });
    try {
      expect(process.listenerCount('SIGUSR2')).toBe(listenersBefore + 1);
      await broker.publish(s, 1);
      await until(() => events.includes('started'), 5_000, 'the handler to start');
      process.kill(process.pid, 'SIGUSR2');
      await until(() => broker.health().status === 'stopping', 5_000, 'the broker to begin stopping');
      // Stopping waits for the running handler: the broker is not stopped while it runs.
      expect(events).toEqual(['started']);
      release();
      await until(() => broker.health().status === 'stopped', 8_000, 'the broker to stop');
      expect(events).toEqual(['started', 'finished while stopping']);
    } finally {
      release();
      dispose();
    }
    expect(process.listenerCount('SIGUSR2')).toBe(listenersBefore);
    // The handler's delivery was acked before the connections closed.
    const t2 = transport();
    const inspector = new StreamsInspector(t2);
    expect(await inspector.pending(s, 'default')).toBe(0);
    await t2.close();
  });
});
