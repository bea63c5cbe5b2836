import type { RawDelivery } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { type RedisCluster, randomSubject, startRedisCluster, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PubSubSubscription, RedisPubSubTransport, type SubscriptionStatusEvent } from '../src/index.js';
import { RecordingLogger, utf8 } from './helpers.js';

let cluster: RedisCluster | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function nodes(): ReadonlyArray<{ host: string; port: number }> {
  if (cluster === undefined) throw new Error('the Redis Cluster is not started yet');
  return cluster.nodes;
}

/** A short-lived client to one node. */
async function withNode<T>(index: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const node = nodes()[index] as { host: string; port: number };
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** The index (into `cluster.nodes`) of the primary owning `slot`, from CLUSTER SLOTS. */
async function ownerIndex(slot: number): Promise<number> {
  const ranges = (await withNode(0, (client) => client.call('CLUSTER', 'SLOTS'))) as Array<
    [number, number, [string, number]]
  >;
  const range = ranges.find(([start, end]) => slot >= start && slot <= end);
  if (range === undefined) throw new Error(`no node owns slot ${slot}`);
  return nodes().findIndex((node) => node.port === range[2][1]);
}

/** A fresh subject whose channel `relaybus:{subject}` lives on node `index`. */
async function subjectOnNode(index: number, tag: string): Promise<string> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const subject = randomSubject(tag);
    if ((await ownerIndex(hashSlot(`relaybus:{${subject}}`))) === index) return subject;
  }
  throw new Error(`found no subject on node ${index}`);
}

function transport(
  logger = new RecordingLogger(),
  mode: 'classic' | 'sharded' = 'sharded',
): RedisPubSubTransport {
  if (cluster === undefined) throw new Error('the Redis Cluster is not started yet');
  return new RedisPubSubTransport({
    connection: { cluster: { nodes: cluster.urls } },
    mode,
    logger,
    topologyRefreshMs: 500,
  });
}

function collect(subscription: PubSubSubscription): RawDelivery[] {
  const deliveries: RawDelivery[] = [];
  void (async () => {
    for await (const delivery of subscription) deliveries.push(delivery);
  })();
  return deliveries;
}

/** Publishes until Redis reports a receiver; returns that message's id. */
async function publishUntilReceived(pubsub: RedisPubSubTransport, subject: string): Promise<string> {
  let id: string | undefined;
  await until(
    async () => {
      const result = await pubsub.publisher().publish(subject, { payload: utf8('after') });
      if ((result.receivers ?? 0) < 1) return false;
      id = result.id;
      return true;
    },
    15_000,
    `a publish to ${subject} reaching its subscriber again`,
  );
  return id as string;
}

describe('sharded Pub/Sub on a 3-node Cluster', () => {
  it('subscribes at, publishes to and delivers from the node owning each subject, on all three nodes', async () => {
    const pubsub = transport();
    const events: SubscriptionStatusEvent[] = [];
    pubsub.onSubscriptionStatus((event) => events.push(event));
    try {
      for (let index = 0; index < 3; index++) {
        const subject = await subjectOnNode(index, `node${index}`);
        const node = nodes()[index] as { host: string; port: number };
        const subscription = await pubsub.subscribe(subject);
        const deliveries = collect(subscription);
        const subscribed = events.find((event) => event.subject === subject && event.status === 'subscribed');
        expect(subscribed?.node, `node of ${subject}`).toBe(`${node.host}:${node.port}`);
        const channel = pubsub.connector.keys.stream(subject);
        expect(await withNode(index, (client) => client.call('PUBSUB', 'SHARDNUMSUB', channel))).toEqual([
          channel,
          1,
        ]);
        const { id, receivers } = await pubsub.publisher().publish(subject, { payload: utf8(`on ${index}`) });
        expect(receivers, `receivers on node ${index}`).toBe(1);
        await until(
          () => deliveries.some((delivery) => delivery.id === id),
          5_000,
          `delivery on node ${index}`,
        );
      }
    } finally {
      await pubsub.close();
    }
  });

  it('follows its slot to another node and delivers what is published there', async () => {
    const logger = new RecordingLogger();
    const pubsub = transport(logger);
    const events: SubscriptionStatusEvent[] = [];
    pubsub.onSubscriptionStatus((event) => events.push(event));
    try {
      const subject = await subjectOnNode(0, 'moving');
      const slot = hashSlot(`relaybus:{${subject}}`);
      const deliveries = collect(await pubsub.subscribe(subject));
      const first = await pubsub.publisher().publish(subject, { payload: utf8('before the move') });
      await until(() => deliveries.some((delivery) => delivery.id === first.id), 5_000, 'before the move');

      // Move the (key-less) slot from node 0 to node 1, telling every node.
      const target = await withNode(1, (client) => client.call('CLUSTER', 'MYID'));
      for (const index of [1, 0, 2]) {
        await withNode(index, (client) => client.call('CLUSTER', 'SETSLOT', slot, 'NODE', String(target)));
      }
      expect(await ownerIndex(slot)).toBe(1);

      const after = await publishUntilReceived(pubsub, subject);
      await until(() => deliveries.some((delivery) => delivery.id === after), 5_000, 'after the move');
      const node1 = nodes()[1] as { host: string; port: number };
      const back = events.find((event) => event.subject === subject && event.status === 'resubscribed');
      expect(back?.node).toBe(`${node1.host}:${node1.port}`);
      expect(back?.gapMs).toBeGreaterThanOrEqual(0);
      expect(logger.find('warn', 'back after a gap')).toHaveLength(1);
    } finally {
      await pubsub.close();
    }
  });

  it('resubscribes after the node owning its slot restarts', async () => {
    const pubsub = transport();
    const events: SubscriptionStatusEvent[] = [];
    pubsub.onSubscriptionStatus((event) => events.push(event));
    try {
      const subject = await subjectOnNode(2, 'restarting');
      const subscription = await pubsub.subscribe(subject);
      const deliveries = collect(subscription);
      await cluster?.stopNode(2);
      await until(
        () => events.some((event) => event.subject === subject && event.status === 'interrupted'),
        10_000,
        'the subscription reports the interruption',
      );
      await cluster?.startNode(2);
      const after = await publishUntilReceived(pubsub, subject);
      await until(() => deliveries.some((delivery) => delivery.id === after), 5_000, 'after the restart');
      expect(subscription.stats().interruptions).toBe(1);
      expect(events.filter((event) => event.subject === subject).map((event) => event.status)).toEqual([
        'subscribed',
        'interrupted',
        'resubscribed',
      ]);
    } finally {
      await pubsub.close();
    }
  });
});

describe('classic Pub/Sub on a 3-node Cluster', () => {
  it('moves a subscription off a node that is down and keeps publishing through another node', async () => {
    const pubsub = transport(new RecordingLogger(), 'classic');
    const events: SubscriptionStatusEvent[] = [];
    pubsub.onSubscriptionStatus((event) => events.push(event));
    const down = nodes()[1] as { host: string; port: number };
    try {
      const subject = await subjectOnNode(1, 'classic-down');
      const subscription = await pubsub.subscribe(subject);
      const deliveries = collect(subscription);
      expect(events.find((event) => event.status === 'subscribed')?.node).toBe(`${down.host}:${down.port}`);
      await cluster?.stopNode(1);
      await until(
        () => events.some((event) => event.status === 'resubscribed'),
        20_000,
        'the subscription moves to another node',
      );
      const moved = events.find((event) => event.status === 'resubscribed');
      expect(moved?.node).not.toBe(`${down.host}:${down.port}`);
      // Classic messages cross the cluster bus, so delivery is the guarantee; the receivers count
      // only covers the node that ran PUBLISH, which may differ from the subscriber's fallback node.
      const sent = new Set<string>();
      await until(
        async () => {
          const { id } = await pubsub.publisher().publish(subject, { payload: utf8('after') });
          sent.add(id);
          return deliveries.some((delivery) => sent.has(delivery.id));
        },
        15_000,
        'delivered while node 1 is down',
      );
    } finally {
      await cluster?.startNode(1);
      await pubsub.close();
    }
  });
});
