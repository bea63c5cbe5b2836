import { AsyncQueue, Broker, type Delivery, type Logger, Reject, silentLogger } from '@relaybus/core';
import { until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../src/index.js';

const subject = () => `hp-${Math.random().toString(36).slice(2)}`;

/** A logger that keeps every line at warn and above, so a test can assert none was written. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (_fields: unknown, message?: string) => void lines.push(`warn ${message}`),
    error: (_fields: unknown, message?: string) => void lines.push(`error ${message}`),
    child: () => logger,
  };
  return { logger, lines };
}

// Deliveries already buffered when the runner looks are taken with `poll()` and, without middleware,
// filter, schema, telemetry or a request, run on the plain path (no promise of the runtime's own).
describe('handler runtime on buffered deliveries (the poll and plain paths)', () => {
  it('handles and acks a buffered backlog with a synchronous handler: each message once, none back', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    // Created first, so the backlog is buffered for the group before the handler starts.
    const consumer = await transport.subscribe(s, { group: 'g', prefetch: 1_000 });
    await consumer.close();
    await broker.publishMany(
      s,
      Array.from({ length: 500 }, (_, i) => ({ body: i })),
    );
    const seen = new Map<number, number>();
    const handler = await broker.subscribe<number>(
      s,
      (n) => {
        seen.set(n, (seen.get(n) ?? 0) + 1);
      },
      { group: 'g', concurrency: 16, prefetch: 1_000 },
    );
    await until(() => seen.size === 500);
    await until(() => handler.stats().handled === 500);
    // Nothing comes back: every delivery was acked.
    const again = await transport.subscribe(s, { group: 'g' });
    expect(again.poll?.()).toBeUndefined();
    await again.close();
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(handler.stats()).toMatchObject({ handled: 500, failed: 0, inFlight: 0 });
    await broker.stop();
  });

  it('retries a handler that throws synchronously or rejects, and dead-letters a Reject', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const attempts = new Map<string, number[]>();
    await broker.subscribe<string>(
      s,
      (body, delivery) => {
        attempts.set(body, [...(attempts.get(body) ?? []), delivery.deliveryCount]);
        if (body === 'sync-throw' && delivery.deliveryCount === 1) throw new Error('sync failure');
        if (body === 'reject') throw new Reject('never valid');
        if (body === 'async-reject' && delivery.deliveryCount === 1) {
          return Promise.reject(new Error('async failure'));
        }
        return undefined;
      },
      { retry: { maxDeliveries: 3, backoff: { kind: 'none' } } },
    );
    await broker.publishMany(s, [{ body: 'sync-throw' }, { body: 'reject' }, { body: 'async-reject' }]);
    await until(() => attempts.get('sync-throw')?.length === 2 && attempts.get('async-reject')?.length === 2);
    await until(async () => (await transport.deadLetters(s)).length === 1);
    expect(attempts.get('sync-throw')).toEqual([1, 2]);
    expect(attempts.get('async-reject')).toEqual([1, 2]);
    expect(attempts.get('reject')).toEqual([1]);
    const [letter] = await transport.deadLetters(s);
    expect(letter?.headers['x-relaybus-dead-letter-reason']).toBe('rejected: never valid');
    await broker.stop();
  });

  it('leaves a delivery the handler settled itself alone, without an error', async () => {
    const { logger, lines } = recordingLogger();
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger });
    const s = subject();
    const settledByHandler: Delivery[] = [];
    await broker.subscribe(s, (_body, delivery) => {
      settledByHandler.push(delivery);
      void delivery.nack({ requeue: false, reason: 'handled it myself' });
    });
    await broker.publish(s, 'x');
    await until(async () => (await transport.deadLetters(s)).length === 1);
    await broker.stop();
    expect(settledByHandler).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  it('keeps at most `concurrency` asynchronous handlers running over a buffered backlog', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    await broker.publishMany(
      s,
      Array.from({ length: 200 }, (_, i) => ({ body: i })),
    );
    let running = 0;
    let most = 0;
    let done = 0;
    await broker.subscribe(
      s,
      async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        done++;
      },
      { concurrency: 7, prefetch: 500, startFrom: 'beginning' },
    );
    await until(() => done === 200);
    expect(most).toBe(7);
    await broker.stop();
  });

  it('dead-letters an undecodable buffered payload with its reason and handles the rest', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const publisher = transport.publisher();
    await broker.publish(s, 'before');
    // 0xc1 is never valid msgpack.
    await publisher.publish(s, {
      payload: new Uint8Array([0xc1]),
      headers: { 'x-relaybus-content-type': 'application/msgpack' },
    });
    await broker.publish(s, 'after');
    const bodies: unknown[] = [];
    await broker.subscribe(s, (body) => void bodies.push(body), { startFrom: 'beginning' });
    await until(() => bodies.length === 2);
    await until(async () => (await transport.deadLetters(s)).length === 1);
    expect(bodies).toEqual(['before', 'after']);
    const [letter] = await transport.deadLetters(s);
    expect(letter?.headers['x-relaybus-dead-letter-reason']).toMatch(/^decode-failed: /);
    await broker.stop();
  });
});

describe('fairness of the buffered path', () => {
  it('lets the event loop turn while a large buffer is handled by a synchronous handler', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const total = 5_000;
    await broker.publishMany(
      s,
      Array.from({ length: total }, (_, i) => ({ body: i })),
    );
    let handled = 0;
    let handledWhenTimerRan: number | undefined;
    await broker.subscribe(
      s,
      () => {
        if (handled === 0) setImmediate(() => (handledWhenTimerRan = handled));
        handled++;
      },
      { prefetch: total, concurrency: 64, startFrom: 'beginning' },
    );
    await until(() => handled === total);
    // The immediate ran in the middle of the backlog, not after it.
    expect(handledWhenTimerRan).toBeDefined();
    expect(handledWhenTimerRan as number).toBeLessThan(total);
    await broker.stop();
  });
});

describe('AsyncQueue.poll', () => {
  it('takes buffered items in order, shares the order with next(), and returns undefined when empty', async () => {
    const queue = new AsyncQueue<string>();
    expect(queue.poll()).toBeUndefined();
    queue.push('a');
    queue.push('b');
    queue.push('c');
    expect(queue.poll()).toBe('a');
    expect((await queue.next()).value).toBe('b');
    expect(queue.poll()).toBe('c');
    expect(queue.size).toBe(0);
    expect(queue.poll()).toBeUndefined();
    // A waiting next() gets the next push; poll does not steal it.
    const waiting = queue.next();
    queue.push('d');
    expect(queue.poll()).toBeUndefined();
    expect((await waiting).value).toBe('d');
    queue.end();
    expect(queue.poll()).toBeUndefined();
    expect((await queue.next()).done).toBe(true);
  });
});

describe('Broker.publish (the single-message path)', () => {
  it("leaves the caller's headers object as it was and delivers them with the content type", async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger });
    const s = subject();
    const seen: Array<Record<string, string>> = [];
    await broker.subscribe(s, (_body, delivery) => void seen.push({ ...delivery.headers }));
    const headers = { 'x-app': 'one' };
    await broker.publish(s, 'a', { headers });
    await broker.publish(s, 'b', { headers, codec: undefined });
    await until(() => seen.length === 2);
    expect(headers).toEqual({ 'x-app': 'one' });
    for (const delivered of seen) {
      expect(delivered).toMatchObject({ 'x-app': 'one', 'x-relaybus-content-type': 'application/msgpack' });
    }
    await broker.stop();
  });

  it('rejects a body over maxMessageBytes and sends nothing', async () => {
    const transport = new MemoryTransport();
    const broker = new Broker({ transport, logger: silentLogger, maxMessageBytes: 64 });
    const s = subject();
    await broker.publish(s, 'small');
    await expect(broker.publish(s, 'x'.repeat(200))).rejects.toMatchObject({
      code: 'RELAYBUS_MESSAGE_TOO_LARGE',
    });
    expect((await transport.history(s)).length).toBe(1);
    await broker.stop();
  });
});
