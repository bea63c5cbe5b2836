import { Broker, type ConsumeContext, type Delivery, jsonCodec, silentLogger } from '@relaybus/core';
import { until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../src/index.js';

const subject = () => `broker-${Math.random().toString(36).slice(2)}`;

describe('Broker on the memory transport', () => {
  it('never runs more handlers at once than its concurrency', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    const s = subject();
    let running = 0;
    let peak = 0;
    let done = 0;
    await broker.subscribe(
      s,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        done++;
      },
      { concurrency: 3 },
    );
    await broker.publishMany(
      s,
      Array.from({ length: 30 }, (_, i) => ({ body: i })),
    );
    await until(() => done === 30);
    expect(peak).toBe(3);
    await broker.stop();
  });

  it('leaves a delivery the handler settled itself alone', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    let handled = 0;
    await broker.subscribe(s, async (_body, delivery) => {
      handled++;
      await delivery.nack({ requeue: false, reason: 'handled by hand' });
    });
    await broker.publish(s, 'x');
    let letters = await transport.deadLetters(s);
    const deadline = Date.now() + 5_000;
    while (letters.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      letters = await transport.deadLetters(s);
    }
    expect(handled).toBe(1);
    expect(letters[0]?.headers['x-relaybus-dead-letter-reason']).toBe('handled by hand');
    await broker.stop();
  });

  it('stop() waits for a running handler and acks it', async () => {
    const store = new MemoryTransport();
    const broker = new Broker({ transport: store, logger: silentLogger });
    const s = subject();
    let finished = false;
    let started = false;
    let seen: Delivery | undefined;
    await broker.subscribe(s, async (_b, delivery) => {
      started = true;
      seen = delivery;
      await new Promise((resolve) => setTimeout(resolve, 50));
      finished = true;
    });
    await broker.publish(s, 1);
    await until(() => started);
    await broker.stop({ deadlineMs: 2_000 });
    expect(finished).toBe(true);
    expect(seen?.settled).toBe(true);
  });

  it('stop() gives up at the deadline and leaves the delivery unsettled for redelivery', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    const s = subject();
    let seen: Delivery | undefined;
    let release: () => void = () => {};
    await broker.subscribe(s, async (_b, delivery) => {
      seen = delivery;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await broker.publish(s, 1);
    await until(() => seen !== undefined);
    const began = Date.now();
    await broker.stop({ deadlineMs: 100 });
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(seen?.settled).toBe(false);
    release();
  });

  it('aborts the signal of a handler still running at the stop deadline, read before or after it', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    const s = subject();
    const contexts: ConsumeContext[] = [];
    let early: AbortSignal | undefined;
    await broker.subscribe(
      s,
      async (body, _delivery, ctx) => {
        if (body === 'early') early = ctx.signal;
        contexts.push(ctx);
        await new Promise<void>(() => {});
      },
      { concurrency: 2 },
    );
    await broker.publishMany(s, [{ body: 'early' }, { body: 'late' }]);
    await until(() => contexts.length === 2);
    expect(early?.aborted).toBe(false);
    await broker.stop({ deadlineMs: 50 });
    expect(early?.aborted).toBe(true);
    // A handler that looks at its signal only after the deadline sees it aborted too.
    const late = contexts.find((ctx) => ctx.delivery.body === 'late');
    expect(late?.signal.aborted).toBe(true);
    expect(late?.signal.reason).toBeInstanceOf(Error);
  });

  it('ctx.abort() before anyone read the signal leaves the signal aborted with that reason', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    const s = subject();
    const seen: Array<{ aborted: boolean; reason: unknown; state: unknown }> = [];
    await broker.subscribe(s, (_body, _delivery, ctx) => {
      ctx.state.set('k', 1);
      ctx.abort('enough');
      seen.push({ aborted: ctx.signal.aborted, reason: ctx.signal.reason, state: ctx.state.get('k') });
    });
    await broker.publish(s, 1);
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual({ aborted: true, reason: 'enough', state: 1 });
    await broker.stop();
  });

  it('refuses a message over maxMessageBytes at publish, naming the option, and sends nothing', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger, maxMessageBytes: 1_000 });
    const s = subject();
    const big = 'x'.repeat(2_000);
    await expect(broker.publish(s, big)).rejects.toMatchObject({
      code: 'RELAYBUS_MESSAGE_TOO_LARGE',
      maxBytes: 1_000,
      message: expect.stringContaining('maxMessageBytes'),
    });
    // One oversized message refuses the whole batch before anything is sent.
    await expect(broker.publishMany(s, [{ body: 'small' }, { body: big }])).rejects.toMatchObject({
      code: 'RELAYBUS_MESSAGE_TOO_LARGE',
      message: expect.stringContaining('message 1 '),
    });
    expect(await transport.history(s)).toEqual([]);
    await broker.publish(s, 'x'.repeat(900));
    expect(await transport.history(s)).toHaveLength(1);
    expect(() => new Broker({ transport, maxMessageBytes: 0 })).toThrow(/maxMessageBytes/);
    await broker.stop();
  });

  it('rejects publish after stop with RELAYBUS_CLOSED', async () => {
    const broker = new Broker({ transport: new MemoryTransport(), logger: silentLogger });
    await broker.stop();
    await expect(broker.publish('s', 1)).rejects.toMatchObject({ code: 'RELAYBUS_CLOSED' });
  });

  it('decodes a JSON message for a consumer whose broker publishes msgpack', async () => {
    const transport = new MemoryTransport();
    const producer = new Broker({ transport, codec: jsonCodec, logger: silentLogger });
    const consumer = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const bodies: unknown[] = [];
    await consumer.subscribe(s, (body) => {
      bodies.push(body);
    });
    await producer.publish(s, { hello: 'wörld' });
    await until(() => bodies.length === 1);
    expect(bodies).toEqual([{ hello: 'wörld' }]);
    await consumer.stop();
  });
});
