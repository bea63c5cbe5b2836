import type { Publisher, RawDelivery } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PubSubSubscription, RedisPubSubTransport, type SubscriptionStatusEvent } from '../src/index.js';
import { RecordingLogger, utf8 } from './helpers.js';

let server: RedisServer | undefined;

beforeAll(async () => {
  server = await startRedis({ persistence: true });
});

afterAll(async () => {
  await server?.stop();
});

function collect(subscription: PubSubSubscription): RawDelivery[] {
  const deliveries: RawDelivery[] = [];
  void (async () => {
    for await (const delivery of subscription) deliveries.push(delivery);
  })();
  return deliveries;
}

/** Publishes until Redis reports a receiver (the subscription is back); returns that message's id. */
async function publishUntilReceived(publisher: Publisher, subject: string): Promise<string> {
  let id: string | undefined;
  await until(
    async () => {
      const result = await publisher.publish(subject, { payload: utf8('after the restart') });
      if ((result.receivers ?? 0) < 1) return false;
      id = result.id;
      return true;
    },
    20_000,
    `a publish to ${subject} reaching a subscriber again`,
  );
  return id as string;
}

describe('after a Redis restart', () => {
  it('resubscribes (channel, pattern and shard channel), reports the gap, and delivers what is published after it', async () => {
    if (server === undefined) throw new Error('the Redis server is not started yet');
    const logger = new RecordingLogger();
    const classic = new RedisPubSubTransport({ connection: { url: server.url }, logger });
    const sharded = new RedisPubSubTransport({ connection: { url: server.url }, mode: 'sharded', logger });
    const events: SubscriptionStatusEvent[] = [];
    classic.onSubscriptionStatus((event) => events.push(event));
    sharded.onSubscriptionStatus((event) => events.push(event));
    try {
      const subject = randomSubject('restart');
      const base = randomSubject('restart-pattern');
      const shardSubject = randomSubject('restart-shard');
      const channel = await classic.subscribe(subject);
      const pattern = await classic.subscribe(`${base}.*`);
      const shard = await sharded.subscribe(shardSubject);
      const received = {
        channel: collect(channel),
        pattern: collect(pattern),
        shard: collect(shard),
      };
      const before = await classic.publisher().publish(subject, { payload: utf8('before') });
      await until(() => received.channel.length === 1, 5_000, 'the message before the restart');
      expect(received.channel[0]?.id).toBe(before.id);

      await server.restart();

      const afterChannel = await publishUntilReceived(classic.publisher(), subject);
      const afterPattern = await publishUntilReceived(classic.publisher(), `${base}.x`);
      const afterShard = await publishUntilReceived(sharded.publisher(), shardSubject);
      await until(
        () =>
          received.channel.some((d) => d.id === afterChannel) &&
          received.pattern.some((d) => d.id === afterPattern) &&
          received.shard.some((d) => d.id === afterShard),
        5_000,
        'the messages published after the restart are delivered',
      );

      for (const [subscription, name] of [
        [channel, subject],
        [pattern, `${base}.*`],
        [shard, shardSubject],
      ] as const) {
        const own = events.filter((event) => event.subject === name).map((event) => event.status);
        expect(own, `events of ${name}`).toEqual(['subscribed', 'interrupted', 'resubscribed']);
        const back = events.find((event) => event.subject === name && event.status === 'resubscribed');
        expect(back?.gapMs, `gap of ${name}`).toBeGreaterThanOrEqual(0);
        expect(subscription.stats().interruptions).toBe(1);
        expect(subscription.stats().lastGapMs).toBe(back?.gapMs);
      }
      expect(logger.find('warn', 'back after a gap')).toHaveLength(3);
      await until(() => classic.health().status === 'ready', 5_000, 'the classic transport is healthy');
    } finally {
      await Promise.all([classic.close(), sharded.close()]);
    }
  });
});
