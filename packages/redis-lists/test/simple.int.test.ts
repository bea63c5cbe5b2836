import { setTimeout as delay } from 'node:timers/promises';
import { Header, type RawDelivery, type Subscription, silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, RedisListsTransport } from '../src/index.js';

let server: RedisServer;
let redis: Redis;
const transports: RedisListsTransport[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  await Promise.allSettled(transports.map((transport) => transport.close()));
  redis?.disconnect();
  await server?.stop();
});

function lists(mode: 'simple' | 'reliable' = 'simple'): RedisListsTransport {
  const transport = new RedisListsTransport({
    connection: { url: server.url },
    mode,
    heartbeatTtlMs: 600,
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

describe('simple mode', () => {
  it('removes a message when it is fetched: ack does nothing, requeue drops it, reject dead-letters it', async () => {
    const subject = randomSubject('simple');
    const transport = lists();
    const keys = transport.keys(subject);
    const seen = consume(await transport.subscribe(subject), (delivery) => {
      const action = Buffer.from(delivery.payload).toString();
      if (action === 'ack') return delivery.ack();
      if (action === 'requeue') return delivery.nack({ requeue: true });
      return delivery.nack({ requeue: false, reason: 'bad input' });
    });
    const publisher = transport.publisher();
    const ack = await publisher.publish(subject, { payload: Buffer.from('ack') });
    const requeue = await publisher.publish(subject, { payload: Buffer.from('requeue') });
    const reject = await publisher.publish(subject, { payload: Buffer.from('reject') });
    let letters: Awaited<ReturnType<RedisListsTransport['deadLetters']>> = [];
    await until(
      async () => {
        letters = await transport.deadLetters(subject);
        return seen.length === 3 && letters.length > 0;
      },
      5_000,
      'three deliveries, the rejected one dead-lettered',
    );
    expect(letters.map((letter) => letter.id)).toEqual([reject.id]);
    expect(letters[0]?.headers[Header.deadLetterReason]).toBe('bad input');
    expect(letters[0]?.headers[Header.deliveryCount]).toBe('1');
    const marker = await publisher.publish(subject, { payload: Buffer.from('ack') });
    await until(() => seen.some((d) => d.id === marker.id), 5_000, 'a marker after them is delivered');
    expect(seen.map((d) => d.id)).toEqual([ack.id, requeue.id, reject.id, marker.id]);
    expect(await redis.llen(keys.queue)).toBe(0);
    expect(await redis.keys(`${keys.queue}:processing:*`), 'simple mode keeps no processing list').toEqual(
      [],
    );
  });

  it('pushes fetched but unpulled messages back onto the queue on close, in order', async () => {
    const subject = randomSubject('simple-close');
    const transport = lists();
    const keys = transport.keys(subject);
    const published = await transport.publisher().publishMany(
      subject,
      Array.from({ length: 5 }, (_, i) => ({ payload: Buffer.from(`m${i}`) })),
    );
    const subscription = await transport.subscribe(subject, { prefetch: 5 });
    await until(async () => (await redis.llen(keys.queue)) === 0, 5_000, 'all five fetched');
    const first = (await subscription[Symbol.asyncIterator]().next()).value as RawDelivery;
    expect(first.id).toBe(published[0]!.id);
    await subscription.close();
    const queued = (await redis.lrangeBuffer(keys.queue, 0, -1)).map((value) => {
      const decoded = decodeEntry(value);
      return decoded.kind === 'entry' ? decoded.entry.id : decoded.kind;
    });
    // The queue is consumed from the right: the oldest unpulled one is next.
    expect(queued.reverse()).toEqual(published.slice(1).map((result) => result.id));
  });

  it('shares the queue with reliable consumers: what one mode publishes or requeues, the other takes', async () => {
    const subject = randomSubject('mixed');
    const reliable = lists('reliable');
    const simple = lists('simple');
    const reliableSeen = consume(await reliable.subscribe(subject), (delivery) =>
      delivery.deliveryCount === 1 ? delivery.nack({ requeue: true, delayMs: 100 }) : delivery.ack(),
    );
    const { id } = await simple.publisher().publish(subject, { payload: Buffer.from('mixed') });
    await until(
      () => reliableSeen.length >= 1,
      5_000,
      'the reliable consumer takes it and nacks it with a delay',
    );
    await reliable.close();
    const simpleSeen = consume(await simple.subscribe(subject), (delivery) => delivery.ack());
    await until(() => simpleSeen.length === 1, 5_000, 'the simple consumer gets the requeued message');
    expect(simpleSeen[0]).toMatchObject({ id, deliveryCount: 2 });
    await delay(200);
    expect(reliableSeen.length).toBe(1);
  });

  it('loses nothing when close() races a message arriving at a blocked BRPOP (30 rounds)', async () => {
    const subject = randomSubject('simple-race');
    const transport = lists();
    const keys = transport.keys(subject);
    const publisher = transport.publisher();
    for (let round = 0; round < 30; round++) {
      const subscription = await transport.subscribe(subject, { prefetch: 1 });
      await Promise.all([
        publisher.publish(subject, { payload: Buffer.from(`round ${round}`) }),
        delay(round % 6).then(() => subscription.close()),
      ]);
      // Nobody pulled it, so wherever it got to, close() must have put it back.
      expect(await redis.llen(keys.queue), `messages on the queue after round ${round}`).toBe(1);
      await redis.del(keys.queue);
    }
  });
});
