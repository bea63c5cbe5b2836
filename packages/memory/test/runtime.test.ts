import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  Broker,
  circuitBreaker,
  dedupe,
  handleSignals,
  type Middleware,
  rateLimit,
  type StandardSchemaV1,
  silentLogger,
  timeout,
} from '@relaybus/core';
import { until } from '@relaybus/testing';
import { type } from 'arktype';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryTransport } from '../src/index.js';

const subject = () => `rt-${Math.random().toString(36).slice(2)}`;

function setup(middleware: Middleware[] = []) {
  const transport = new MemoryTransport();
  const broker = new Broker({ transport, logger: silentLogger, middleware });
  const reasons = async (s: string) =>
    (await transport.deadLetters(s)).map((letter) => letter.headers['x-relaybus-dead-letter-reason']);
  return { transport, broker, reasons };
}

describe('middleware', () => {
  it('wraps consume in onion order: broker middleware outside subscription middleware outside the handler', async () => {
    const order: string[] = [];
    const tracer = (name: string): Middleware => ({
      name,
      async consume(_ctx, next) {
        order.push(`${name}>`);
        await next();
        order.push(`<${name}`);
      },
    });
    const { broker } = setup([tracer('b1'), tracer('b2')]);
    const s = subject();
    await broker.subscribe(s, () => void order.push('handler'), { middleware: [tracer('s1')] });
    await broker.publish(s, 1);
    await until(() => order.length === 7);
    expect(order).toEqual(['b1>', 'b2>', 's1>', 'handler', '<s1', '<b2', '<b1']);
    await broker.stop();
  });

  it('lets publish middleware add headers that reach the handler', async () => {
    const stamp: Middleware = {
      name: 'stamp',
      async publish(ctx, next) {
        for (const item of ctx.items) item.headers['x-tenant'] = 'acme';
        return next();
      },
    };
    const { broker } = setup([stamp]);
    const s = subject();
    const tenants: string[] = [];
    await broker.subscribe(s, (_b, d) => void tenants.push(d.headers['x-tenant'] ?? ''));
    await broker.publishMany(s, [{ body: 1 }, { body: 2 }]);
    await until(() => tenants.length === 2);
    expect(tenants).toEqual(['acme', 'acme']);
    await broker.stop();
  });

  it('timeout fails a slow handler, aborts its signal and retries it', async () => {
    const { broker } = setup();
    const s = subject();
    const attempts: Array<{ count: number; aborted: boolean }> = [];
    await broker.subscribe(
      s,
      async (_body, delivery, ctx) => {
        if (delivery.deliveryCount === 1) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          attempts.push({ count: 1, aborted: ctx.signal.aborted });
          return;
        }
        attempts.push({ count: delivery.deliveryCount, aborted: ctx.signal.aborted });
      },
      { middleware: [timeout({ ms: 50 })], retry: { backoff: { kind: 'none' } } },
    );
    await broker.publish(s, 'slow');
    await until(() => attempts.length === 2);
    expect(attempts).toEqual([
      { count: 1, aborted: true },
      { count: 2, aborted: false },
    ]);
    await broker.stop();
  });

  it('dedupe acks a second message with a handled id without running the handler', async () => {
    const { broker, transport } = setup();
    const s = subject();
    const seen: unknown[] = [];
    await broker.subscribe(s, (body) => void seen.push(body), { middleware: [dedupe({ windowMs: 60_000 })] });
    await broker.publish(s, 'first', { id: 'order-1' });
    await until(() => seen.length === 1);
    await broker.publish(s, 'again', { id: 'order-1' });
    await broker.publish(s, 'other', { id: 'order-2' });
    await until(() => seen.length === 2);
    expect(seen).toEqual(['first', 'other']);
    expect(await transport.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('rateLimit spaces handler starts to the configured rate', async () => {
    const { broker } = setup();
    const s = subject();
    const starts: number[] = [];
    await broker.subscribe(s, () => void starts.push(performance.now()), {
      concurrency: 10,
      middleware: [rateLimit({ perSecond: 50 })],
    });
    await broker.publishMany(
      s,
      Array.from({ length: 6 }, (_, i) => ({ body: i })),
    );
    await until(() => starts.length === 6);
    // Five gaps of 20 ms each at 50/s; allow timer slack below.
    expect((starts[5] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(90);
    await broker.stop();
  });

  it('circuitBreaker opens after consecutive failures, pauses the subscription, then recovers', async () => {
    const breaker = circuitBreaker({ failureThreshold: 2, openMs: 150 });
    const { broker } = setup();
    const s = subject();
    let healthy = false;
    const handled: number[] = [];
    const subscription = await broker.subscribe(
      s,
      (body: number) => {
        if (!healthy) throw new Error('dependency down');
        handled.push(body);
      },
      { middleware: [breaker], retry: { maxDeliveries: 20, backoff: { kind: 'none' } } },
    );
    await broker.publish(s, 1);
    await until(() => breaker.state === 'open');
    expect(subscription.paused).toBe(true);
    healthy = true;
    await until(() => handled.length === 1, 5_000);
    expect(breaker.state).toBe('closed');
    expect(subscription.paused).toBe(false);
    await broker.stop();
  });
});

describe('validation and filters', () => {
  const order = { sku: 'A-1', quantity: 2 };
  const bad = { sku: 'A-1', quantity: 'two' };

  const schemas: Array<[string, StandardSchemaV1]> = [
    ['zod', z.object({ sku: z.string(), quantity: z.number().int().positive() })],
    ['valibot', v.object({ sku: v.string(), quantity: v.number() })],
    ['arktype', type({ sku: 'string', quantity: 'number' })],
  ];
  for (const [library, schema] of schemas) {
    it(`${library}: hands valid bodies to the handler and dead-letters invalid ones with the issues`, async () => {
      const { broker, reasons } = setup();
      const s = subject();
      const bodies: unknown[] = [];
      await broker.subscribe(s, (body) => void bodies.push(body), { schema });
      await broker.publish(s, bad);
      await broker.publish(s, order);
      await until(() => bodies.length === 1);
      await until(async () => (await reasons(s)).length === 1);
      expect(bodies).toEqual([order]);
      const [reason] = await reasons(s);
      expect(reason).toMatch(/^validation-failed: quantity/);
      await broker.stop();
    });
  }

  it('types the handler body from the schema output', async () => {
    const { broker } = setup();
    const s = subject();
    const doubled: number[] = [];
    await broker.subscribe(s, (body) => void doubled.push(body.quantity * 2), {
      schema: z.object({ quantity: z.coerce.number() }),
    });
    await broker.publish(s, { quantity: '21' });
    await until(() => doubled.length === 1);
    expect(doubled).toEqual([42]);
    await broker.stop();
  });

  it('acks and skips what the filter refuses', async () => {
    const { broker, transport } = setup();
    const s = subject();
    const seen: number[] = [];
    await broker.subscribe(s, (body: number) => void seen.push(body), {
      filter: (body) => (body as number) % 2 === 0,
    });
    await broker.publishMany(
      s,
      [1, 2, 3, 4].map((body) => ({ body })),
    );
    await until(() => seen.length === 2);
    expect(seen).toEqual([2, 4]);
    expect(await transport.deadLetters(s)).toHaveLength(0);
    await broker.stop();
  });

  it('dead-letters at once an error marked retryable: false', async () => {
    const { broker, reasons } = setup();
    const s = subject();
    let calls = 0;
    await broker.subscribe(s, () => {
      calls++;
      throw Object.assign(new Error('card declined'), { retryable: false });
    });
    await broker.publish(s, 1);
    await until(async () => (await reasons(s)).length === 1);
    expect(await reasons(s)).toEqual(['rejected: card declined']);
    expect(calls).toBe(1);
    await broker.stop();
  });

  it('rejects a schema that is not a Standard Schema, naming the option', async () => {
    const { broker } = setup();
    await expect(broker.subscribe(subject(), () => {}, { schema: { parse() {} } as never })).rejects.toThrow(
      /"schema"/,
    );
    await broker.stop();
  });
});

describe('health, pause and resume', () => {
  it('reports status, subscription counters and the last handler error', async () => {
    const { broker } = setup();
    expect(broker.health().status).toBe('idle');
    const s = subject();
    await broker.subscribe(
      s,
      (body: number) => {
        if (body === 2) throw new Error('boom');
      },
      { retry: { maxDeliveries: 1 } },
    );
    await broker.publishMany(s, [{ body: 1 }, { body: 2 }]);
    await until(() => {
      const [stats] = broker.health().subscriptions;
      return stats !== undefined && stats.handled === 1 && stats.failed === 1;
    });
    const health = broker.health();
    expect(health).toMatchObject({ status: 'running', connected: true });
    expect(health.subscriptions[0]).toMatchObject({
      subject: s,
      running: true,
      paused: false,
      lastError: 'boom',
    });
    await broker.stop();
    expect(broker.health().status).toBe('stopped');
  });

  it('pause stops handling new deliveries until resume', async () => {
    const { broker } = setup();
    const s = subject();
    const seen: number[] = [];
    const subscription = await broker.subscribe(s, (body: number) => void seen.push(body));
    await broker.publish(s, 1);
    await until(() => seen.length === 1);
    subscription.pause();
    await broker.publish(s, 2);
    // Proving a negative: nothing is handled while paused.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([1]);
    subscription.resume();
    await until(() => seen.length === 2);
    await broker.stop();
  });
});

describe('handleSignals', () => {
  it('stops the broker on the signal after the running handler finished', async () => {
    const { broker } = setup();
    const s = subject();
    const events: string[] = [];
    await broker.subscribe(s, async () => {
      events.push('started');
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push('finished');
    });
    const dispose = handleSignals(broker, { signals: ['SIGUSR2'], exit: false });
    try {
      await broker.publish(s, 1);
      await until(() => events.includes('started'));
      process.kill(process.pid, 'SIGUSR2');
      await until(() => broker.health().status === 'stopped');
      expect(events).toEqual(['started', 'finished']);
    } finally {
      dispose();
    }
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });
});

describe('tracing and metrics', () => {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    contextManager.enable();
    context.setGlobalContextManager(contextManager);
  });
  afterAll(() => {
    propagation.disable();
    contextManager.disable();
  });

  it('propagates traceparent from publish to handler and names spans after messaging conventions', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger, telemetry: { tracerProvider } });
    const s = subject();
    let traceparent: string | undefined;
    await broker.subscribe(s, (_body, delivery) => {
      traceparent = delivery.headers.traceparent;
    });
    await broker.publish(s, { n: 1 });
    await until(
      () =>
        traceparent !== undefined && exporter.getFinishedSpans().some((span) => span.name === `process ${s}`),
    );
    const spans = exporter.getFinishedSpans();
    const send = spans.find((span) => span.name === `send ${s}`);
    const process = spans.find((span) => span.name === `process ${s}`);
    expect(send?.attributes['messaging.destination.name']).toBe(s);
    expect(traceparent).toContain(send?.spanContext().traceId);
    expect(process?.spanContext().traceId).toBe(send?.spanContext().traceId);
    expect(process?.attributes['messaging.consumer.group.name']).toBe('default');
    await broker.stop();
  });

  it('counts published, consumed and settled messages by outcome and records handler duration', async () => {
    class TestReader extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected async onForceFlush(): Promise<void> {}
      protected async onShutdown(): Promise<void> {}
    }
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger, telemetry: { meterProvider } });
    const s = subject();
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
    await until(() => done === 3);
    await until(async () => {
      const { resourceMetrics } = await reader.collect();
      const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const settled = metrics.find((m) => m.descriptor.name === 'relaybus.messages.settled');
      return (settled?.dataPoints.length ?? 0) === 2;
    });
    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
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
});
