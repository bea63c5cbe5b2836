import { type RawDelivery, silentLogger } from '@relaybus/core';
import { runScript } from '@relaybus/redis';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, RedisListsTransport } from '../src/index.js';
import { NONCE_LENGTH } from '../src/publisher.js';
import { SCRIPTS } from '../src/scripts.js';

let server: RedisServer;
const clients: Redis[] = [];
const transports: RedisListsTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.allSettled(transports.map((transport) => transport.close()));
  for (const client of clients) client.disconnect();
  await server?.stop();
});

function client(): Redis {
  const made = new Redis(server.url);
  clients.push(made);
  return made;
}

function lists(): RedisListsTransport {
  const transport = new RedisListsTransport({
    connection: { url: server.url },
    heartbeatTtlMs: 600,
    blockMs: 1_000,
    delayedPollMs: 50,
    logger: silentLogger,
  });
  transports.push(transport);
  return transport;
}

describe('delayed messages', () => {
  it('concurrent promoters on separate connections move every due message exactly once', async () => {
    const subject = randomSubject('promote');
    const publisherSide = lists();
    const keys = publisherSide.keys(subject);
    const published = await publisherSide.publisher().publishMany(
      subject,
      Array.from({ length: 300 }, (_, i) => ({ payload: Buffer.from(`d${i}`), delayMs: 30 })),
    );
    const promoters = [client(), client(), client(), client()];
    await until(
      async () => {
        // Four connections racing, each several calls in flight, small batches so they interleave.
        const rounds = promoters.flatMap((promoter) =>
          Array.from({ length: 5 }, () =>
            runScript(promoter, SCRIPTS.promote, [keys.delayed, keys.queue], [7, NONCE_LENGTH]),
          ),
        );
        await Promise.all(rounds);
        return (await promoters[0]!.zcard(keys.delayed)) === 0;
      },
      10_000,
      'the delayed set is drained',
    );
    const queued = await promoters[0]!.lrangeBuffer(keys.queue, 0, -1);
    const ids = queued.map((value) => {
      const decoded = decodeEntry(value);
      return decoded.kind === 'entry' ? decoded.entry.id : 'not an entry';
    });
    expect(ids.length, 'entries on the queue').toBe(300);
    expect(new Set(ids).size, 'distinct entries on the queue').toBe(300);
    expect(new Set(ids)).toEqual(new Set(published.map((result) => result.id)));
  });

  it('three subscriptions in three transports, each promoting, deliver each delayed message once, not early', async () => {
    const subject = randomSubject('delayed');
    const consumers = [lists(), lists(), lists()];
    const seen: Array<{ delivery: RawDelivery; at: number }> = [];
    for (const transport of consumers) {
      const subscription = await transport.subscribe(subject);
      void (async () => {
        for await (const delivery of subscription) {
          seen.push({ delivery, at: performance.now() });
          await delivery.ack();
        }
      })();
    }
    const publishedAt = performance.now();
    const published = await lists()
      .publisher()
      .publishMany(
        subject,
        Array.from({ length: 60 }, (_, i) => ({ payload: Buffer.from(`d${i}`), delayMs: 200 })),
      );
    await until(() => seen.length >= 60, 10_000, 'all 60 delayed messages are delivered');
    const ids = seen.map((item) => item.delivery.id);
    expect(new Set(ids).size, 'distinct deliveries').toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(published.map((result) => result.id)));
    expect(Math.min(...seen.map((item) => item.at)) - publishedAt).toBeGreaterThanOrEqual(180);
    expect(seen.every((item) => item.delivery.deliveryCount === 1)).toBe(true);
  });
});
