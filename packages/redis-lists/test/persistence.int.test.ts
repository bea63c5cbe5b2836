import { type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisListsTransport } from '../src/index.js';

let server: RedisServer;
const transports: RedisListsTransport[] = [];

beforeAll(async () => {
  server = await startRedis({ persistence: true });
});

afterAll(async () => {
  await Promise.allSettled(transports.map((transport) => transport.close()));
  await server?.stop();
});

function lists(): RedisListsTransport {
  const transport = new RedisListsTransport({
    // Wait for Redis as long as it takes to come back.
    connection: { url: server.url, maxRetriesPerRequest: null },
    heartbeatTtlMs: 5_000,
    blockMs: 1_000,
    logger: silentLogger,
  });
  transports.push(transport);
  return transport;
}

function consume(subscription: Subscription, handle: (delivery: RawDelivery) => unknown) {
  const seen: RawDelivery[] = [];
  void (async () => {
    for await (const delivery of subscription) {
      seen.push(delivery);
      await handle(delivery);
    }
  })();
  return seen;
}

describe('persistence (AOF)', () => {
  it('keeps a queue, delayed messages and unsettled deliveries across a Redis crash; consumers carry on', async () => {
    const subject = randomSubject('aof');
    const transport = lists();
    const publisher = transport.publisher();
    const early = await publisher.publishMany(
      subject,
      Array.from({ length: 20 }, (_, i) => ({ payload: Buffer.from(`before ${i}`) })),
    );
    const delayed = await publisher.publish(subject, { payload: Buffer.from('delayed'), delayMs: 300 });
    // A consumer holding 5 unsettled deliveries when Redis dies.
    let restarted = false;
    const seen = consume(
      await transport.subscribe(subject, { consumer: 'survivor', prefetch: 5 }),
      (delivery) => (restarted ? delivery.ack() : undefined),
    );
    await until(() => seen.length === 5, 5_000, 'the consumer holds 5 deliveries');

    await server.restart({ kill: true });
    restarted = true;

    // Settling after the restart works: the processing list survived.
    for (const delivery of seen.slice(0, 5)) await delivery.ack();
    const late = await publisher.publish(subject, { payload: Buffer.from('after restart') });
    const expected = [...early.map((r) => r.id), delayed.id, late.id];
    await until(
      () => expected.every((id) => seen.some((d) => d.id === id)),
      15_000,
      'every message published before and after the crash is delivered',
    );
    const ids = seen.map((d) => d.id);
    expect(new Set(ids).size, 'no message delivered twice').toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  });
});
