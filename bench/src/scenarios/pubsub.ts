import { setTimeout as sleep } from 'node:timers/promises';
import { decode } from '@msgpack/msgpack';
import { Broker } from '@relaybus/core';
import { RedisPubSubTransport } from '@relaybus/redis-pubsub';
import { Redis } from 'iovalkey';
import { encodeOrderEvent, ORDER_EVENT } from '../payload.js';
import { type BenchContext, connect, fresh, type Scenario } from '../scenario.js';
import { perSecond } from '../stats.js';
import { windowed } from './streams.js';

const SUBSCRIBERS = 4;

function count(context: BenchContext): number {
  return context.quick ? 10_000 : 200_000;
}

/**
 * Publishes `n` messages (1000 in flight) and waits until every subscriber has them, or until
 * nothing arrived for 2 s (Pub/Sub may drop); returns published messages per second, fanned out,
 * counting only what arrived.
 */
async function fanOut(n: number, publish: () => Promise<unknown>, received: () => number): Promise<number> {
  let last = performance.now();
  let seen = 0;
  const started = performance.now();
  const watch = (async () => {
    while (received() < n * SUBSCRIBERS) {
      await sleep(1);
      if (received() !== seen) {
        seen = received();
        last = performance.now();
      } else if (performance.now() - last > 2_000) return;
    }
    last = performance.now();
  })();
  await windowed(n, publish);
  await watch;
  const got = received();
  if (got < n * SUBSCRIBERS) {
    process.stderr.write(
      `  pubsub-fanout: ${n * SUBSCRIBERS - got} of ${n * SUBSCRIBERS} deliveries dropped\n`,
    );
  }
  return perSecond(got / SUBSCRIBERS, last - started);
}

/** 6b. One publisher, four subscribers through the Broker vs raw SUBSCRIBE. */
export const pubsubFanout: Scenario = {
  name: 'pubsub-fanout',
  unit: 'msg/s',
  better: 'higher',
  baselineName: 'iovalkey PUBLISH (1000 in flight) + 4 SUBSCRIBE clients',
  async ours(context) {
    const n = count(context);
    const subject = fresh('ps');
    const broker = new Broker({
      transport: new RedisPubSubTransport({ connection: { url: context.url }, bufferSize: n }),
    });
    let received = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      await broker.subscribe(
        subject,
        () => {
          received++;
        },
        { concurrency: 64 },
      );
    }
    await broker.publish(subject, ORDER_EVENT);
    await sleep(50);
    received = 0;
    const rate = await fanOut(
      n,
      () => broker.publish(subject, ORDER_EVENT),
      () => received,
    );
    await broker.stop();
    return rate;
  },
  async baseline(context) {
    const n = count(context);
    const channel = fresh('raw-ps');
    const publisher = new Redis(context.url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    const subscribers: Redis[] = [];
    let received = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const subscriber = connect(context);
      subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
        decode(message);
        received++;
      });
      await subscriber.subscribe(channel);
      subscribers.push(subscriber);
    }
    // Connected before the clock, as the Broker's publishing connection is (its warm-up publish).
    await publisher.ping();
    const rate = await fanOut(
      n,
      () => publisher.publish(channel, encodeOrderEvent()),
      () => received,
    );
    publisher.disconnect();
    for (const subscriber of subscribers) subscriber.disconnect();
    return rate;
  },
};
