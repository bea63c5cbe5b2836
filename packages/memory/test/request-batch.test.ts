import { Broker, Reject, silentLogger } from '@relaybus/core';
import { until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MemoryTransport } from '../src/index.js';

const subject = () => `rq-${Math.random().toString(36).slice(2)}`;

describe('request/reply', () => {
  it('resolves with the return value of the handler that took the request', async () => {
    const transport = new MemoryTransport();
    const server = new Broker({ transport, logger: silentLogger });
    const client = new Broker({ transport, logger: silentLogger });
    const s = subject();
    await server.subscribe(s, (body: { a: number; b: number }) => ({ sum: body.a + body.b }));
    const replies = await Promise.all([1, 2, 3].map((a) => client.request<{ sum: number }>(s, { a, b: 10 })));
    expect(replies).toEqual([{ sum: 11 }, { sum: 12 }, { sum: 13 }]);
    await client.stop();
    await server.stop();
  });

  it('rejects with RELAYBUS_TIMEOUT when nobody answers in time', async () => {
    const client = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    await expect(client.request(subject(), 'hello', { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'RELAYBUS_TIMEOUT',
    });
    await client.stop();
  });

  it('rejects with RELAYBUS_REQUEST_FAILED when the handler rejects the request', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    await broker.subscribe(s, () => {
      throw new Reject('unknown account');
    });
    await expect(broker.request(s, {})).rejects.toMatchObject({
      code: 'RELAYBUS_REQUEST_FAILED',
      message: expect.stringContaining('unknown account'),
    });
    await broker.stop();
  });

  it('does not reply to a request whose requester is gone (past its deadline)', async () => {
    const transport = new MemoryTransport();
    const sent: string[] = [];
    const server = new Broker({
      transport,
      logger: silentLogger,
      middleware: [
        {
          name: 'record',
          async publish(ctx, next) {
            sent.push(ctx.subject);
            return next();
          },
        },
      ],
    });
    const client = new Broker({ transport, logger: silentLogger });
    const s = subject();
    let release: () => void = () => {};
    let handled = false;
    await server.subscribe(s, async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      handled = true;
      return 'late';
    });
    await expect(client.request(s, 'q', { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'RELAYBUS_TIMEOUT',
    });
    // A timer may fire a little before Date.now() passes the deadline (sent + 30 ms): release the
    // handler only once the wall clock is surely past it.
    const rejectedAt = Date.now();
    await until(() => Date.now() > rejectedAt + 30);
    release();
    await until(() => handled);
    await server.stop();
    expect(sent).toEqual([]);
    await client.stop();
  });
});

describe('batch handlers', () => {
  it('hands over full batches, then a partial one after batchWaitMs, and acks them all', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const sizes: number[] = [];
    const seen: number[] = [];
    await broker.subscribeBatch<number>(
      s,
      (bodies) => {
        sizes.push(bodies.length);
        seen.push(...bodies);
      },
      { batchSize: 4, batchWaitMs: 30 },
    );
    await broker.publishMany(
      s,
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
    );
    await until(() => seen.length === 10);
    expect(sizes).toEqual([4, 4, 2]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await broker.stop();
  });

  it('retries every delivery of a failed batch, and dead-letters invalid bodies before batching', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const attempts: number[][] = [];
    await broker.subscribeBatch<{ n: number }>(
      s,
      (bodies, deliveries) => {
        attempts.push(deliveries.map((d) => d.deliveryCount));
        if (attempts.length === 1) throw new Error('database busy');
        expect(bodies.every((b) => typeof b.n === 'number')).toBe(true);
      },
      {
        batchSize: 2,
        batchWaitMs: 20,
        schema: z.object({ n: z.number() }),
        retry: { backoff: { kind: 'none' } },
      },
    );
    await broker.publishMany(s, [{ body: { n: 1 } }, { body: { n: 2 } }, { body: { n: 'bad' } }]);
    await until(() => attempts.flat().filter((count) => count === 2).length === 2);
    expect(attempts[0]).toEqual([1, 1]);
    const letters = await transport.deadLetters(s);
    expect(letters.map((l) => l.headers['x-relaybus-dead-letter-reason'])).toEqual([
      expect.stringMatching(/^validation-failed: n:/),
    ]);
    await broker.stop();
  });
});

describe('AsyncAPI', () => {
  it('describes subscriptions and publishers, with JSON Schema from the schema library', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    await broker.subscribe('orders.created', () => {}, {
      group: 'billing',
      schema: z.object({ id: z.string(), total: z.number() }),
    });
    broker.declarePublisher('orders.shipped', { description: 'An order left the warehouse' });
    await broker.publish('audit.events', { kind: 'login' });
    const doc = broker.asyncapi({ title: 'Shop', version: '1.0.0' });
    expect(doc.asyncapi).toBe('3.0.0');
    expect(Object.keys(doc.channels).sort()).toEqual(['audit_events', 'orders_created', 'orders_shipped']);
    const created = doc.channels.orders_created as {
      address: string;
      messages: Record<string, { payload?: { properties?: Record<string, unknown> } }>;
    };
    expect(created.address).toBe('orders.created');
    expect(Object.keys(created.messages.orders_createdMessage?.payload?.properties ?? {})).toEqual([
      'id',
      'total',
    ]);
    expect(doc.operations.receive_orders_created_billing).toMatchObject({
      action: 'receive',
      'x-relaybus-group': 'billing',
    });
    expect(doc.operations.send_orders_shipped).toMatchObject({ action: 'send' });
    expect(doc['x-relaybus-transport']).toMatchObject({ name: 'memory' });
    await broker.stop();
  });
});
